"""OIDs campusca puts into certificates (RFC 5280, RFC 6960, CA/B Forum S/MIME BR)."""

from __future__ import annotations

from cryptography.x509.oid import ObjectIdentifier


class PolicyOID:
    """Certificate policy identifiers."""

    # CA/Browser Forum S/MIME BR §7.1.6.1: mailbox-validated, strict generation.
    SMIME_MAILBOX_VALIDATED_STRICT = ObjectIdentifier("2.23.140.1.5.1.3")
