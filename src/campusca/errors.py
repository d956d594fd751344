"""Root of every exception campusca raises on purpose.

CampusCAError
 ├── campusca.pki.errors.PkiError        (codec: bad CSR, bad OCSP request, …)
 ├── campusca.keys.errors.KeyBackendError
 ├── campusca.scep.errors.ScepError
 ├── campusca.smime.errors.SmimeError
 ├── campusca.escrow.errors.EscrowError
 ├── campusca.apple.errors.AppleError
 ├── campusca.services.errors.ServiceError (NotFound, Conflict, NotAuthorized, PolicyViolation, …)
 └── Busy                                  (the database is saturated: try again shortly)

Messages are one sentence, name the field that is wrong and never include a secret.
"""

from __future__ import annotations


class CampusCAError(Exception):
    """Base class of every error campusca raises deliberately."""


class Busy(CampusCAError):
    """The database could not take the write in time; nothing was changed and the caller may retry.

    Raised instead of waiting without bound (SQLite's write lock, a full connection pool), so that
    adapters answer with back-pressure (HTTP 503 + Retry-After) rather than a stall or a 500.
    """

    code = "busy"
