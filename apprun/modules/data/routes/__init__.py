"""HTTP routes of the data module: ``/admin/v1`` schema management and ``/rest/v1``."""
