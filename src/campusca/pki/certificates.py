"""X.509 certificate building (RFC 5280): CA certificates and end-entity certificates from profiles."""

from __future__ import annotations

import functools
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificateIssuerPrivateKeyTypes,
    CertificatePublicKeyTypes,
)
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

from campusca.pki.errors import ProfileError
from campusca.pki.profiles import Profile

SERIAL_BITS = 159


def random_serial() -> int:
    """A positive serial of 159 random bits (RFC 5280 allows 20 octets; CA/B BR want ≥ 64 random bits)."""
    while True:
        serial = secrets.randbits(SERIAL_BITS)
        if serial:
            return serial


def openssl_serial(serial: int) -> str:
    """A serial as `openssl x509 -serial` prints it: upper-case hex in whole bytes (a leading 0 when odd).

    Every adapter shows serials this way, so a serial copied from openssl's output matches by eye.
    """
    text = format(serial, "X")
    return text.zfill(len(text) + len(text) % 2)


@dataclass(frozen=True, slots=True)
class PublicationUrls:
    """Where relying parties fetch revocation data and the issuer certificate for one CA."""

    crl: str
    ocsp: str | None
    ca_issuers: str

    @property
    def delta_crl(self) -> str:
        """Where the CA's delta CRL is (`/crl/<slug>.delta.crl`: a slug has no dot, so no CA can clash)."""
        return self.crl.removesuffix(".crl") + ".delta.crl"

    @classmethod
    def for_ca(cls, base_url: str, ca_slug: str, *, ocsp: bool = True) -> PublicationUrls:
        """The URLs under `base_url` (an http:// base: relying parties fetch these without TLS)."""
        base = base_url.rstrip("/")
        return cls(
            crl=f"{base}/crl/{ca_slug}.crl",
            ocsp=f"{base}/ocsp" if ocsp else None,
            ca_issuers=f"{base}/ca/{ca_slug}.crt",
        )


def _signature_hash(key: CertificateIssuerPrivateKeyTypes) -> hashes.HashAlgorithm:
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size >= 384:
        return hashes.SHA384()
    return hashes.SHA256()


@functools.lru_cache(maxsize=64)
def publication_extensions(urls: PublicationUrls) -> tuple[x509.ExtensionType, ...]:
    """What a CA's certificates carry about where it publishes (all non-critical); built once per CA.

    CRL distribution point, Freshest CRL naming its delta CRL (RFC 5280 §4.2.1.15: relying parties that
    use deltas need not fetch the full CRL after each revocation; the full CRL names it too), and AIA.
    """

    def distribution_point(url: str) -> x509.DistributionPoint:
        full_name = [x509.UniformResourceIdentifier(url)]
        return x509.DistributionPoint(full_name=full_name, relative_name=None, reasons=None, crl_issuer=None)

    access = []
    if urls.ocsp:
        access.append(
            x509.AccessDescription(
                AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(urls.ocsp)
            )
        )
    access.append(
        x509.AccessDescription(
            AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(urls.ca_issuers)
        )
    )
    return (
        x509.CRLDistributionPoints([distribution_point(urls.crl)]),
        x509.FreshestCRL([distribution_point(urls.delta_crl)]),
        x509.AuthorityInformationAccess(access),
    )


def _publication_extensions(
    builder: x509.CertificateBuilder, urls: PublicationUrls
) -> x509.CertificateBuilder:
    for extension in publication_extensions(urls):
        builder = builder.add_extension(extension, critical=False)
    return builder


def build_root_ca(
    *, key: CertificateIssuerPrivateKeyTypes, subject: x509.Name, not_before: datetime, validity_days: int
) -> x509.Certificate:
    """A self-signed root: basicConstraints CA (critical), keyCertSign+cRLSign (critical)."""
    public_key = key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public_key)
        .serial_number(random_serial())
        .not_valid_before(not_before)
        .not_valid_after(not_before + timedelta(days=validity_days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_ca_key_usage(), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public_key), critical=False)
    )
    return builder.sign(key, _signature_hash(key))  # type: ignore[arg-type]


def build_intermediate_ca(
    *,
    public_key: CertificatePublicKeyTypes,
    subject: x509.Name,
    issuer_certificate: x509.Certificate,
    issuer_key: CertificateIssuerPrivateKeyTypes,
    issuer_urls: PublicationUrls,
    not_before: datetime,
    validity_days: int,
    extended_key_usage: tuple[x509.ObjectIdentifier, ...] = (),
    policies: tuple[x509.ObjectIdentifier, ...] = (),
) -> x509.Certificate:
    """An issuing CA below `issuer_certificate`: pathLen 0, CRL DP and AIA of its issuer.

    `extended_key_usage` and `policies` restrict what it may issue; the S/MIME BR §7.1.2.2 want both on an
    S/MIME subordinate CA (emailProtection, and the S/MIME policy identifiers it issues under).
    """
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_certificate.subject)
        .public_key(public_key)  # type: ignore[arg-type]
        .serial_number(random_serial())
        .not_valid_before(not_before)
        .not_valid_after(
            min(not_before + timedelta(days=validity_days), issuer_certificate.not_valid_after_utc)
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_ca_key_usage(), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)  # type: ignore[arg-type]
        .add_extension(_aki(issuer_certificate), critical=False)
    )
    if extended_key_usage:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(extended_key_usage)), critical=False)
    if policies:
        builder = builder.add_extension(
            x509.CertificatePolicies([x509.PolicyInformation(oid, None) for oid in policies]), critical=False
        )
    builder = _publication_extensions(builder, issuer_urls)
    return builder.sign(issuer_key, _signature_hash(issuer_key))  # type: ignore[arg-type]


def _ca_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )


def _aki(issuer_certificate: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    try:
        ski = issuer_certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
    except x509.ExtensionNotFound:
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_certificate.public_key())  # type: ignore[arg-type]


def key_usage_for(profile: Profile, public_key: CertificatePublicKeyTypes) -> x509.KeyUsage:
    """The profile's key usage for this key type (RSA encrypts keys, EC agrees on them)."""
    if isinstance(public_key, rsa.RSAPublicKey):
        names = profile.key_usage_rsa
    elif isinstance(public_key, ec.EllipticCurvePublicKey):
        names = profile.key_usage_ec
    else:
        raise ProfileError(f"profile {profile.name!r} accepts RSA or EC public keys only")
    flags = {
        name: name in names
        for name in (
            "digital_signature",
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "key_cert_sign",
            "crl_sign",
        )
    }
    return x509.KeyUsage(**flags, encipher_only=False, decipher_only=False)


@dataclass(frozen=True, slots=True)
class EndEntityRequest:
    """Everything the profile did not decide: who the certificate is for and its public key."""

    public_key: CertificatePublicKeyTypes
    subject: x509.Name
    subject_alt_names: tuple[x509.GeneralName, ...]
    not_before: datetime
    serial: int
    not_after: datetime | None = None


def build_end_entity(
    request: EndEntityRequest,
    *,
    profile: Profile,
    issuer_certificate: x509.Certificate,
    issuer_key: CertificateIssuerPrivateKeyTypes,
    urls: PublicationUrls,
) -> x509.Certificate:
    """Sign an end-entity certificate whose content is decided by `profile` alone."""
    not_after = request.not_after or request.not_before + timedelta(days=profile.validity_days)
    not_after = min(not_after, issuer_certificate.not_valid_after_utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(request.subject)
        .issuer_name(issuer_certificate.subject)
        .public_key(request.public_key)  # type: ignore[arg-type]
        .serial_number(request.serial)
        .not_valid_before(request.not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(key_usage_for(profile, request.public_key), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(request.public_key), critical=False)  # type: ignore[arg-type]
        .add_extension(_aki(issuer_certificate), critical=False)
    )
    if profile.extended_key_usage:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage(list(profile.extended_key_usage)), critical=False
        )
    if request.subject_alt_names:
        # RFC 5280 §4.2.1.6: critical when the subject is empty.
        builder = builder.add_extension(
            x509.SubjectAlternativeName(list(request.subject_alt_names)),
            critical=len(request.subject) == 0,
        )
    if profile.policies:
        builder = builder.add_extension(
            x509.CertificatePolicies([x509.PolicyInformation(oid, None) for oid in profile.policies]),
            critical=False,
        )
    if profile.ocsp_no_check:
        builder = builder.add_extension(x509.OCSPNoCheck(), critical=False)
    builder = _publication_extensions(builder, urls)
    return builder.sign(issuer_key, _signature_hash(issuer_key))  # type: ignore[arg-type]


def name_from_pairs(pairs: Sequence[tuple[x509.ObjectIdentifier, str]]) -> x509.Name:
    """Build a Name from (OID, value) pairs, skipping empty values."""
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in pairs if value])


def common_name(name: x509.Name) -> str | None:
    """The first commonName of a Name, if any."""
    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else None
