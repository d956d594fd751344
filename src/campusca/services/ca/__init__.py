"""The certificate authority: issue, revoke, publish CRLs, answer OCSP, list certificates."""

from __future__ import annotations

from campusca.services.ca import certificates, issuance, ocsp, revocation

__all__ = [
    "certificates",
    "issuance",
    "ocsp",
    "revocation",
]
