"""Load benchmark: apprun against PocketBase on the same machine and data (``make bench``)."""
