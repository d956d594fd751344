"""Offline certificate path validation for S/MIME signers (RFC 5280 §6, RFC 8550 §4) with pyhanko-certvalidator."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from campusca.smime.errors import (
    CertificateExpired,
    CertificateNotTrusted,
    CertificateRevoked,
    CertificateUnsuitable,
    RevocationUnknown,
)

if TYPE_CHECKING:
    from pyhanko_certvalidator import CertificateValidator

T = TypeVar("T")

# pyhanko-certvalidator (with requests, oscrypto: 6 MB resident) is imported on the first validation, not
# when a serve worker imports the S/MIME codec (docs/architecture.md, "A worker's memory").


def validate_signer(
    certificate: x509.Certificate,
    *,
    trust_roots: Sequence[x509.Certificate],
    others: Sequence[x509.Certificate],
    crls: Sequence[bytes],
    ocsp_responses: Sequence[bytes],
    at: datetime,
    require_revocation_info: bool,
) -> None:
    """Validate `certificate` for S/MIME signing at `at`: chain, validity, revocation, KU and EKU.

    Nothing is fetched: the CRLs (DER) and OCSP responses (DER) the caller collected are all the
    revocation information there is. With `require_revocation_info`, every certificate of the path
    below the root must be covered by one of them, whether or not it declares a CRL DP or OCSP URL
    (pyhanko's "hard-fail" mode only checks declared ones, so it is not used). Without it, only a
    positive revocation fails.
    """
    if at.tzinfo is None:
        raise ValueError("at must be a timezone-aware datetime")
    if not trust_roots:
        raise CertificateNotTrusted("trust_roots must name at least one root certificate")
    if require_revocation_info:
        _validate(_validator(certificate, trust_roots, others, crls, ocsp_responses, at, soft_fail=False))
        return
    try:
        _validate(_validator(certificate, trust_roots, others, crls, ocsp_responses, at, soft_fail=False))
    except RevocationUnknown:
        # Missing information is tolerated, but whatever was given still counts: certificates
        # that declare a CRL DP or OCSP URL are checked against it ("soft-fail").
        _validate(_validator(certificate, trust_roots, others, crls, ocsp_responses, at, soft_fail=True))


def _validator(
    certificate: x509.Certificate,
    trust_roots: Sequence[x509.Certificate],
    others: Sequence[x509.Certificate],
    crls: Sequence[bytes],
    ocsp_responses: Sequence[bytes],
    at: datetime,
    *,
    soft_fail: bool,
) -> CertificateValidator:
    from pyhanko_certvalidator import CertificateValidator, ValidationContext
    from pyhanko_certvalidator.policy_decl import (
        REQUIRE_REVINFO,
        CertRevTrustPolicy,
        RevocationCheckingPolicy,
        RevocationCheckingRule,
    )

    soft = RevocationCheckingRule.CHECK_IF_DECLARED_SOFT
    revocation = RevocationCheckingPolicy(soft, soft) if soft_fail else REQUIRE_REVINFO
    context = ValidationContext(
        trust_roots=[_asn1(c) for c in trust_roots],
        other_certs=[_asn1(c) for c in others],
        moment=at,
        allow_fetching=False,
        crls=list(crls),
        ocsps=list(ocsp_responses),
        revinfo_policy=CertRevTrustPolicy(revocation),
    )
    return CertificateValidator(
        _asn1(certificate),
        intermediate_certs=[_asn1(c) for c in others],
        validation_context=context,
    )


def _validate(validator: CertificateValidator) -> None:
    from pyhanko_certvalidator import errors as pv_errors

    usage = validator.async_validate_usage({"digital_signature"}, {"email_protection"})  # type: ignore[no-untyped-call]
    try:
        run_coroutine(usage)
    except pv_errors.RevokedError as error:
        raise CertificateRevoked(f"signer certificate path is revoked: {error.failure_msg}") from None
    except (pv_errors.ExpiredError, pv_errors.NotYetValidError) as error:
        raise CertificateExpired(
            f"signer certificate path is not valid at the given time: {error.failure_msg}"
        ) from None
    except pv_errors.InsufficientRevinfoError as error:
        raise RevocationUnknown(
            f"signer certificate revocation status is unknown: {error.failure_msg}"
        ) from None
    except pv_errors.InvalidCertificateError as error:
        raise CertificateUnsuitable(
            f"signer certificate is not valid for S/MIME signing: {error.failure_msg}"
        ) from None
    except pv_errors.PathBuildingError:
        raise CertificateNotTrusted("signer certificate does not chain to a given trust root") from None
    except pv_errors.ValidationError as error:
        raise CertificateNotTrusted(
            f"signer certificate path does not validate: {error.failure_msg}"
        ) from None


def run_coroutine(coroutine: Coroutine[object, object, T]) -> T:
    """Run a coroutine to completion from synchronous code, even when the caller's thread runs a loop.

    pyhanko-certvalidator only offers async validation; inside a running event loop (a FastAPI
    handler) `asyncio.run` is refused, so the coroutine then gets a private loop in a worker thread.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def certificate_emails(certificate: x509.Certificate) -> tuple[str, ...]:
    """The certificate's e-mail addresses: rfc822Name SANs, else the subject's emailAddress (RFC 8550 §3)."""
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = tuple(san.get_values_for_type(x509.RFC822Name))
    except x509.ExtensionNotFound:
        names = ()
    if names:
        return names
    return tuple(str(a.value) for a in certificate.subject.get_attributes_for_oid(NameOID.EMAIL_ADDRESS))


def check_usage(certificate: x509.Certificate, *, key_usage: str, purpose: str) -> None:
    """Refuse a certificate whose keyUsage lacks `key_usage` or whose extendedKeyUsage lacks emailProtection.

    cryptography's CMS builders do not look at key usage, and peers such as `openssl cms -verify`
    and gpgsm then reject the message (research §3.1), so the codec checks before it signs or encrypts.
    """
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    if usage is not None and not getattr(usage, key_usage):
        raise CertificateUnsuitable(f"certificate keyUsage must include {key_usage} for {purpose}")
    try:
        extended = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return
    allowed = {ExtendedKeyUsageOID.EMAIL_PROTECTION, ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE}
    if not allowed.intersection(extended):
        raise CertificateUnsuitable(
            f"certificate extendedKeyUsage must include emailProtection for {purpose}"
        )


def _asn1(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))
