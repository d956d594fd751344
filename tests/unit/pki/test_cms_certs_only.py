"""Degenerate certs-only SignedData (RFC 5652 §5.2; SCEP GetCACert, RFC 8894 §4.2.1.2)."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from campusca.pki import cms
from campusca.pki.errors import CmsDecodeError
from tests.unit.pki.test_cms_support import NOW, Party, ec_party, openssl, other_rsa_party, rsa_party

__all__ = ["ec_party", "other_rsa_party", "rsa_party"]  # fixtures used by name


@pytest.fixture(scope="module")
def crl(rsa_party: Party) -> x509.CertificateRevocationList:
    revoked = (
        x509.RevokedCertificateBuilder()
        .serial_number(4711)
        .revocation_date(NOW - datetime.timedelta(hours=1))
        .build()
    )
    return (
        x509.CertificateRevocationListBuilder()
        .issuer_name(rsa_party.certificate.subject)
        .last_update(NOW)
        .next_update(NOW + datetime.timedelta(days=7))
        .add_revoked_certificate(revoked)
        .sign(rsa_party.key, hashes.SHA256())  # type: ignore[arg-type]
    )


def _subjects(certificates: tuple[x509.Certificate, ...]) -> list[str]:
    return [c.subject.rfc4514_string() for c in certificates]


@pytest.mark.parametrize("order", [(0, 1, 2), (2, 0, 1), (1, 2, 0)], ids=["ok-abc", "ok-cab", "ok-bca"])
def test_build_certs_only_keeps_the_given_order(
    rsa_party: Party, other_rsa_party: Party, ec_party: Party, order: tuple[int, int, int]
) -> None:
    parties = [rsa_party, other_rsa_party, ec_party]
    certificates = [parties[i].certificate for i in order]
    parsed, crls = cms.parse_certs_only(cms.build_certs_only(certificates))
    assert list(parsed) == certificates
    assert crls == ()


def test_openssl_reads_our_certs_only_in_order(rsa_party: Party, ec_party: Party, tmp_path: Path) -> None:
    (tmp_path / "certs.p7b").write_bytes(cms.build_certs_only([ec_party.certificate, rsa_party.certificate]))
    out = openssl("pkcs7", "-inform", "DER", "-in", tmp_path / "certs.p7b", "-print_certs")
    pems = [x509.load_pem_x509_certificate(b"-----BEGIN" + p) for p in out.split(b"-----BEGIN")[1:]]
    assert pems == [ec_party.certificate, rsa_party.certificate]


def test_build_certs_only_carries_crls(rsa_party: Party, crl: x509.CertificateRevocationList) -> None:
    certificates, crls = cms.parse_certs_only(cms.build_certs_only([rsa_party.certificate], [crl]))
    assert certificates == (rsa_party.certificate,)
    assert crls == (crl,)
    assert crls[0].get_revoked_certificate_by_serial_number(4711) is not None


def test_parse_certs_only_reads_openssl_crl2pkcs7(
    rsa_party: Party, ec_party: Party, crl: x509.CertificateRevocationList, tmp_path: Path
) -> None:
    (tmp_path / "crl.pem").write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    der = openssl(
        "crl2pkcs7",
        *("-in", tmp_path / "crl.pem", "-certfile", rsa_party.cert_path, "-certfile", ec_party.cert_path),
        "-outform",
        "DER",
    )
    certificates, crls = cms.parse_certs_only(der)
    assert _subjects(certificates) == _subjects((rsa_party.certificate, ec_party.certificate))
    assert crls == (crl,)


def test_parse_certs_only_returns_certificates_of_a_signed_message(rsa_party: Party, ec_party: Party) -> None:
    der = cms.build_signed_data(
        b"x",
        signer=rsa_party.key,
        signer_certificate=rsa_party.certificate,
        certificates=[ec_party.certificate],
    )
    certificates, _ = cms.parse_certs_only(der)
    assert certificates == (rsa_party.certificate, ec_party.certificate)


def test_build_signed_data_includes_signer_certificate_once(rsa_party: Party, ec_party: Party) -> None:
    der = cms.build_signed_data(
        b"x",
        signer=rsa_party.key,
        signer_certificate=rsa_party.certificate,
        certificates=[rsa_party.certificate, ec_party.certificate],
    )
    assert cms.parse_signed_data(der).certificates == (rsa_party.certificate, ec_party.certificate)


def test_parse_certs_only_rejects_enveloped_data(rsa_party: Party) -> None:
    with pytest.raises(CmsDecodeError):
        cms.parse_certs_only(cms.build_enveloped_data(b"x", [rsa_party.certificate]))


def test_parse_certs_only_rejects_damaged_certificate(rsa_party: Party) -> None:
    der = cms.build_certs_only([rsa_party.certificate])
    cert_der = rsa_party.certificate.public_bytes(serialization.Encoding.DER)
    damaged = der.replace(cert_der[4:40], b"\xff" * 36)
    with pytest.raises(CmsDecodeError):
        cms.parse_certs_only(damaged)
