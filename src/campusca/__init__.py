"""campusca: an institution's client-certificate service."""

__version__ = "0.1.0"
