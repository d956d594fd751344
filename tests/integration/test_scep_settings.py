"""SCEP settings change what the endpoint offers: SHA-1, single DES, a rollover CA (in-process app)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from fastapi.testclient import TestClient

from campusca.config import load_settings
from campusca.pki import cms
from campusca.scep import PkiStatus
from campusca.services import scep
from campusca.services.authority import Authority, open_authority
from campusca.services.people.registry import get_person
from campusca.web.app import create_app
from tests.support.ca import CaHome
from tests.support.scep_client import build_pkcs_req, make_transient_signer, read_cert_rep
from tests.support.scep_server import make_csr, new_key


@pytest.fixture
def legacy(ca: CaHome) -> Iterator[tuple[Authority, TestClient]]:
    settings = load_settings(ca.home, scep_allow_sha1=True, scep_allow_single_des=True, scep_next_ca="root")
    authority = open_authority(settings)
    with TestClient(create_app(authority)) as client:
        yield authority, client
    authority.db.dispose()


def _challenge(authority: Authority) -> str:
    with authority.db.write() as session:
        return scep.create_challenge(authority, session, person=get_person(session, "alice"), actor="test")


def test_caps_list_sha1_and_get_next_ca_cert_when_enabled(legacy: tuple[Authority, TestClient]) -> None:
    _, client = legacy
    words = client.get("/scep?operation=GetCACaps").text.splitlines()
    assert "SHA-1" in words and "GetNextCACert" in words


def test_get_next_ca_cert_is_signed_by_the_ra_and_carries_the_rollover_ca(
    legacy: tuple[Authority, TestClient],
) -> None:
    authority, client = legacy
    response = client.get("/scep?operation=GetNextCACert")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-x509-next-ca-cert"
    signed = cms.parse_signed_data(response.content)
    assert signed.signer_certificate == scep.ra_identity(authority).certificate
    assert signed.content is not None
    certificates, _ = cms.parse_certs_only(signed.content)
    assert certificates == (authority.ca("root").certificate,)


@pytest.mark.parametrize(
    "cipher",
    [
        pytest.param(cms.ContentCipher.DES_CBC, id="ok-single-des"),
        pytest.param(cms.ContentCipher.AES_128_CBC, id="ok-aes"),
    ],
)
def test_sha1_request_and_csr_are_accepted_when_enabled(
    legacy: tuple[Authority, TestClient], cipher: cms.ContentCipher
) -> None:
    authority, client = legacy
    key = new_key()
    # iOS signs the CSR with the digest it picked from the caps: SHA-1 when that is all it trusts.
    csr = make_csr(key, challenge=_challenge(authority), digest=hashes.SHA1())
    signer = make_transient_signer(key)
    ra = scep.ra_identity(authority).certificate
    message = build_pkcs_req(
        csr, signer_key=key, signer_certificate=signer, recipient=ra, cipher=cipher, digest="sha1"
    )
    response = client.post("/scep?operation=PKIOperation", content=message.der)
    reply = read_cert_rep(response.content, signer_key=key, signer_certificate=signer, expected_signer=ra)
    assert reply.status is PkiStatus.SUCCESS
    assert reply.digest_algorithm == "sha1" and reply.content_cipher is cipher
    issued = reply.certificates[0]
    # The certificate itself is signed with the CA's own (SHA-256) algorithm, whatever the request used.
    assert isinstance(issued.signature_hash_algorithm, hashes.SHA256)
    assert issued.public_key() == key.public_key()


def test_csr_extensions_beyond_the_profile_are_ignored(legacy: tuple[Authority, TestClient]) -> None:
    authority, client = legacy
    key = new_key()
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=True,
        key_encipherment=True,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(make_csr(key).subject)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("evil.example.com")]), critical=False)
        .add_extension(usage, critical=True)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_attribute(x509.oid.AttributeOID.CHALLENGE_PASSWORD, _challenge(authority).encode())
        .sign(key, hashes.SHA256())
    )
    signer = make_transient_signer(key)
    ra = scep.ra_identity(authority).certificate
    message = build_pkcs_req(csr, signer_key=key, signer_certificate=signer, recipient=ra)
    response = client.post("/scep?operation=PKIOperation", content=message.der)
    issued = read_cert_rep(response.content, signer_key=key, signer_certificate=signer).certificates[0]
    san = issued.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == []
    assert san.get_values_for_type(x509.RFC822Name) == ["alice@example.edu"]
    granted = issued.extensions.get_extension_for_class(x509.KeyUsage).value
    assert granted.digital_signature and granted.key_encipherment
    assert not granted.key_cert_sign and not granted.content_commitment
    assert not issued.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
