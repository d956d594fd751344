"""Use cases with transactions, authorisation and audit: the authority every adapter calls."""
