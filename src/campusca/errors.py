"""Root of every exception campusca raises on purpose.

CampusCAError
 ├── campusca.pki.errors.PkiError        (codec: bad CSR, bad OCSP request, …)
 ├── campusca.keys.errors.KeyBackendError
 ├── campusca.scep.errors.ScepError
 ├── campusca.smime.errors.SmimeError
 ├── campusca.escrow.errors.EscrowError
 ├── campusca.apple.errors.AppleError
 └── campusca.services.errors.ServiceError (NotFound, Conflict, NotAuthorized, PolicyViolation, …)

Messages are one sentence, name the field that is wrong and never include a secret.
"""

from __future__ import annotations


class CampusCAError(Exception):
    """Base class of every error campusca raises deliberately."""
