"""apprun: an open-source Backend-as-a-Service."""

__version__ = "0.1.0"
