"""Errors of the pure key-escrow package (envelope archive records and the Shamir recovery quorum).

EscrowError
 ├── InvalidParameter          an argument breaks a rule (quorum size, key size, binding); also ValueError
 ├── DecodeError               stored escrow bytes (record, sealed share, encrypted domain key) are malformed
 ├── KeyMismatch               a private key does not belong to the certificate it is archived for
 ├── ArchiveIntegrityError     an archive record failed authentication (tampered, wrong binding or domain key)
 ├── DomainKeyIntegrityError   the encrypted domain key failed authentication
 ├── WrongPassphrase           a passphrase does not unlock a sealed share
 ├── ShareMismatch             a share belongs to another agent or quorum, or shares do not fit together
 └── NotEnoughShares           fewer distinct shares than the quorum's threshold were presented

Messages are one sentence, name the field or object at fault and never contain key material or passphrases.
"""

from __future__ import annotations

from campusca.errors import CampusCAError


class EscrowError(CampusCAError):
    """Base class of the escrow package's errors."""


class InvalidParameter(EscrowError, ValueError):
    """An argument to an escrow function breaks one of its rules."""


class DecodeError(EscrowError):
    """Stored escrow bytes are not a well-formed record of the expected kind and version."""


class KeyMismatch(EscrowError):
    """A private key does not match the public key of the certificate it is archived for."""


class ArchiveIntegrityError(EscrowError):
    """An archive record failed authentication: it was altered, or binding or domain key are wrong."""


class DomainKeyIntegrityError(EscrowError):
    """The encrypted escrow domain key failed authentication."""


class WrongPassphrase(EscrowError):
    """A passphrase does not unlock a sealed share (or the sealed share was altered)."""


class ShareMismatch(EscrowError):
    """A share belongs to another agent or quorum setup, or the shares do not reconstruct the key."""


class NotEnoughShares(EscrowError):
    """Fewer distinct shares than the quorum threshold were presented."""
