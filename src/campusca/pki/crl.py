"""Certificate revocation lists (RFC 5280 §5): full CRLs with CRL number, reasons and AKI."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes

from campusca.pki.errors import PkiError


class RevocationReason(StrEnum):
    """RFC 5280 §5.3.1 reason codes, as spelled on the command line."""

    UNSPECIFIED = "unspecified"
    KEY_COMPROMISE = "keyCompromise"
    CA_COMPROMISE = "cACompromise"
    AFFILIATION_CHANGED = "affiliationChanged"
    SUPERSEDED = "superseded"
    CESSATION_OF_OPERATION = "cessationOfOperation"
    CERTIFICATE_HOLD = "certificateHold"
    PRIVILEGE_WITHDRAWN = "privilegeWithdrawn"
    AA_COMPROMISE = "aACompromise"

    @property
    def x509_flag(self) -> x509.ReasonFlags:
        return _FLAGS[self]

    @classmethod
    def parse(cls, text: str) -> RevocationReason:
        """Accept the RFC spelling in any case, with or without dashes/underscores."""
        wanted = text.replace("-", "").replace("_", "").lower()
        for reason in cls:
            if reason.value.lower() == wanted:
                return reason
        raise PkiError(f"reason must be one of {', '.join(r.value for r in cls)}; got {text!r}")


_FLAGS = {
    RevocationReason.UNSPECIFIED: x509.ReasonFlags.unspecified,
    RevocationReason.KEY_COMPROMISE: x509.ReasonFlags.key_compromise,
    RevocationReason.CA_COMPROMISE: x509.ReasonFlags.ca_compromise,
    RevocationReason.AFFILIATION_CHANGED: x509.ReasonFlags.affiliation_changed,
    RevocationReason.SUPERSEDED: x509.ReasonFlags.superseded,
    RevocationReason.CESSATION_OF_OPERATION: x509.ReasonFlags.cessation_of_operation,
    RevocationReason.CERTIFICATE_HOLD: x509.ReasonFlags.certificate_hold,
    RevocationReason.PRIVILEGE_WITHDRAWN: x509.ReasonFlags.privilege_withdrawn,
    RevocationReason.AA_COMPROMISE: x509.ReasonFlags.aa_compromise,
}


@dataclass(frozen=True, slots=True)
class RevokedEntry:
    """One revoked certificate as it appears on a CRL."""

    serial: int
    revoked_at: datetime
    reason: RevocationReason


def build_crl(
    *,
    issuer_certificate: x509.Certificate,
    issuer_key: CertificateIssuerPrivateKeyTypes,
    entries: Iterable[RevokedEntry],
    crl_number: int,
    this_update: datetime,
    next_update: datetime,
) -> x509.CertificateRevocationList:
    """Sign a full CRL. Reason `unspecified` is omitted from entries (RFC 5280 §5.3.1 SHOULD)."""
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer_certificate.subject)
        .last_update(this_update)
        .next_update(next_update)
        .add_extension(x509.CRLNumber(crl_number), critical=False)
    )
    try:
        ski = issuer_certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
    except x509.ExtensionNotFound:
        pass
    for entry in entries:
        revoked = (
            x509.RevokedCertificateBuilder().serial_number(entry.serial).revocation_date(entry.revoked_at)
        )
        if entry.reason is not RevocationReason.UNSPECIFIED:
            revoked = revoked.add_extension(x509.CRLReason(entry.reason.x509_flag), critical=False)
        builder = builder.add_revoked_certificate(revoked.build())
    algorithm = (
        hashes.SHA384()
        if isinstance(issuer_key, ec.EllipticCurvePrivateKey) and issuer_key.curve.key_size >= 384
        else hashes.SHA256()
    )
    return builder.sign(issuer_key, algorithm)  # type: ignore[arg-type]
