"""The web layer: REST API, SCEP, OCSP, CRL/CA downloads, directory, enrollment pages."""
