"""Certificate profiles decide content; S/MIME profiles follow the CA/B Forum S/MIME BR (strict)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from campusca.pki.certificates import (
    SERIAL_BITS,
    EndEntityRequest,
    PublicationUrls,
    build_end_entity,
    build_root_ca,
    publication_extensions,
    random_serial,
)
from campusca.pki.errors import ProfileError
from campusca.pki.profiles import PROFILES, get_profile

NOW = datetime(2026, 11, 27, tzinfo=UTC)


@pytest.fixture(scope="module")
def issuer() -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test CA")])
    return build_root_ca(key=key, subject=name, not_before=NOW, validity_days=3650), key


def _issue(issuer, profile_name: str, public_key, sans=()) -> x509.Certificate:  # type: ignore[no-untyped-def]
    cert, key = issuer
    request = EndEntityRequest(
        public_key=public_key,
        subject=x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bob@example.edu")]),
        subject_alt_names=tuple(sans),
        not_before=NOW,
        serial=random_serial(),
    )
    urls = PublicationUrls.for_ca("http://ca.example.edu", "issuing")
    return build_end_entity(
        request, profile=get_profile(profile_name), issuer_certificate=cert, issuer_key=key, urls=urls
    )


def test_every_required_profile_exists() -> None:
    assert {"smime-signing", "smime-encryption", "device", "server", "ra", "ocsp"} <= set(PROFILES)


def test_unknown_profile_is_a_clear_error() -> None:
    with pytest.raises(ProfileError, match="profile must be one of"):
        get_profile("nonsense")


@pytest.mark.parametrize("name", ["smime-signing", "smime-encryption"])
def test_smime_profiles_are_sbr_mailbox_validated_strict(issuer, name: str) -> None:  # type: ignore[no-untyped-def]
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = _issue(issuer, name, key.public_key(), [x509.RFC822Name("bob@example.edu")])
    policies = cert.extensions.get_extension_for_class(x509.CertificatePolicies).value
    assert [p.policy_identifier.dotted_string for p in policies] == ["2.23.140.1.5.1.3"]
    assert list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.EMAIL_PROTECTION
    ]
    assert cert.not_valid_after_utc - cert.not_valid_before_utc <= timedelta(days=825)
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical
    if name == "smime-encryption":
        # SBR §7.1.2.3 e: an RSA encryption-only certificate has keyEncipherment alone.
        assert (
            ku.value.key_encipherment and not ku.value.digital_signature and not ku.value.content_commitment
        )
    else:
        assert ku.value.digital_signature and not ku.value.key_encipherment


def test_ec_encryption_certificate_gets_key_agreement(issuer) -> None:  # type: ignore[no-untyped-def]
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _issue(issuer, "smime-encryption", key.public_key(), [x509.RFC822Name("bob@example.edu")])
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.key_agreement and not ku.key_encipherment


def test_every_certificate_carries_aki_ski_crl_dp_and_aia(issuer) -> None:  # type: ignore[no-untyped-def]
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = _issue(issuer, "device", key.public_key())
    ext = cert.extensions
    ext.get_extension_for_class(x509.AuthorityKeyIdentifier)
    ext.get_extension_for_class(x509.SubjectKeyIdentifier)
    dp = ext.get_extension_for_class(x509.CRLDistributionPoints).value
    assert dp[0].full_name[0].value == "http://ca.example.edu/crl/issuing.crl"
    freshest = ext.get_extension_for_class(x509.FreshestCRL)  # RFC 5280 §4.2.1.15: the delta CRL
    assert not freshest.critical
    assert [point.full_name for point in freshest.value] == [
        [x509.UniformResourceIdentifier("http://ca.example.edu/crl/issuing.delta.crl")]
    ]
    aia = {
        a.access_method.dotted_string: a.access_location.value
        for a in ext.get_extension_for_class(x509.AuthorityInformationAccess).value
    }
    assert aia == {
        "1.3.6.1.5.5.7.48.1": "http://ca.example.edu/ocsp",
        "1.3.6.1.5.5.7.48.2": "http://ca.example.edu/ca/issuing.crt",
    }
    assert ext.get_extension_for_class(x509.BasicConstraints).value.ca is False


def test_publication_extensions_are_built_once_per_ca() -> None:
    urls = PublicationUrls.for_ca("http://ca.example.edu", "issuing")
    again = PublicationUrls.for_ca("http://ca.example.edu", "issuing")
    assert publication_extensions(urls) is publication_extensions(again)
    other = publication_extensions(PublicationUrls.for_ca("http://ca.example.edu", "smime"))
    assert other[1] == x509.FreshestCRL(
        [
            x509.DistributionPoint(
                [x509.UniformResourceIdentifier("http://ca.example.edu/crl/smime.delta.crl")],
                None,
                None,
                None,
            )
        ]
    )


def test_ocsp_profile_has_ocsp_signing_and_nocheck(issuer) -> None:  # type: ignore[no-untyped-def]
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = _issue(issuer, "ocsp", key.public_key())
    assert list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.OCSP_SIGNING
    ]
    cert.extensions.get_extension_for_class(x509.OCSPNoCheck)


def test_ra_profile_signs_and_encrypts(issuer) -> None:  # type: ignore[no-untyped-def]
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ku = _issue(issuer, "ra", key.public_key()).extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature and ku.key_encipherment


def test_serials_are_positive_and_at_most_159_bits() -> None:
    serials = {random_serial() for _ in range(2000)}
    assert len(serials) == 2000
    assert all(0 < s < 2**SERIAL_BITS for s in serials)
    # With 2000 draws, some serial must use the top bit region: the bits really are random.
    assert max(serials).bit_length() >= SERIAL_BITS - 2


def test_signature_uses_sha256(issuer) -> None:  # type: ignore[no-untyped-def]
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = _issue(issuer, "server", key.public_key())
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA256)
