"""The web layer: REST API, SCEP, OCSP, CRL/CA downloads, enrollment pages, admin UI."""
