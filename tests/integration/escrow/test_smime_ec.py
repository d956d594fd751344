"""EC S/MIME end to end: smime_key_type ec-p256/ec-p384, keyAgreement encryption keys, escrow and recovery."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from campusca.config import load_settings
from campusca.pki.pkcs12 import load_pkcs12
from campusca.services.authority import Authority, open_authority
from campusca.services.errors import InvalidInput, PolicyViolation
from campusca.services.smime import recovery
from campusca.services.smime.issue import generate_smime_key
from campusca.services.smime.messages import decrypt, encrypt, sign, verify
from campusca.services.smime.recovery_release import release_legal, release_lost_key
from tests.integration.escrow.helpers import PASSWORD, enable_escrow, issue, mail
from tests.support.ca import CaHome


@pytest.fixture(params=["ec-p256", "ec-p384"])
def ec_authority(ca: CaHome, request: pytest.FixtureRequest) -> Iterator[Authority]:
    authority = open_authority(load_settings(ca.home, smime_key_type=request.param))
    yield authority
    authority.db.dispose()


def _usage(certificate: x509.Certificate) -> x509.KeyUsage:
    return certificate.extensions.get_extension_for_class(x509.KeyUsage).value


def test_ec_pairs_sign_with_digital_signature_and_encrypt_with_key_agreement(ec_authority: Authority) -> None:
    enable_escrow(ec_authority)
    mary, bob = issue(ec_authority, "mary"), issue(ec_authority, "bob")
    curve = ec.SECP256R1 if ec_authority.settings.smime_key_type == "ec-p256" else ec.SECP384R1
    for certificate in (mary.signing.certificate, mary.encryption.certificate):
        key = certificate.public_key()
        assert isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, curve)
    assert _usage(mary.signing.certificate).digital_signature
    assert _usage(mary.encryption.certificate).key_agreement
    assert not _usage(mary.encryption.certificate).key_encipherment
    assert mary.escrowed and mary.pkcs12 is not None and bob.pkcs12 is not None
    signed = sign(ec_authority, mail(), pkcs12=bob.pkcs12, password=PASSWORD)
    encrypted, recipients = encrypt(ec_authority, signed)
    assert recipients == ["mary@example.edu", "bob@example.edu"]
    opened = decrypt(encrypted, pkcs12=mary.pkcs12, password=PASSWORD)
    assert verify(ec_authority, opened).signer_email == "bob@example.edu"


def test_an_escrowed_ec_key_is_recovered_and_opens_old_mail(ec_authority: Authority) -> None:
    enable_escrow(ec_authority)
    issue(ec_authority, "bob")
    issue(ec_authority, "mary")
    archived, _ = encrypt(ec_authority, mail())
    lost = recovery.request_recovery(ec_authority, username="mary", reason="lost-key", actor="cli")
    recovery.approve(ec_authority, request_id=lost.id, agent="rita", actor="cli")
    released = release_lost_key(ec_authority, request_id=lost.id, password=PASSWORD, actor="cli")
    assert isinstance(load_pkcs12(released.pkcs12, PASSWORD.encode()).key, ec.EllipticCurvePrivateKey)
    assert b"the minutes are attached" in decrypt(archived, pkcs12=released.pkcs12, password=PASSWORD)
    legal = recovery.request_recovery(
        ec_authority, username="bob", reason="legal", case_ref="EC-1", actor="p:larry", requester="larry"
    )
    recovery.approve(ec_authority, request_id=legal.id, agent="rita", actor="cli")
    result = release_legal(ec_authority, request_id=legal.id, messages=[archived], actor="p:larry")
    assert b"the minutes are attached" in result.plaintexts[0]


def _csr(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "alice@example.edu")])
    request = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    return request.public_bytes(serialization.Encoding.PEM)


def test_an_ec_encryption_csr_is_accepted_where_escrow_is_off(authority: Authority) -> None:
    erin_key = ec.generate_private_key(ec.SECP384R1())
    bundle = issue(authority, "alice", encryption_csr=_csr(erin_key))
    assert _usage(bundle.encryption.certificate).key_agreement and not bundle.escrowed
    with pytest.raises(InvalidInput, match="P-256 or P-384"):
        issue(authority, "alice", encryption_csr=_csr(ec.generate_private_key(ec.SECP521R1())))
    with pytest.raises(InvalidInput, match="curve"):
        issue(authority, "alice", encryption_csr=_csr(ec.generate_private_key(ec.SECP256K1())))


def test_an_unknown_smime_key_type_is_a_clear_refusal(ca: CaHome) -> None:
    authority = open_authority(load_settings(ca.home, smime_key_type="dsa-1024"))
    try:
        with pytest.raises(PolicyViolation, match="smime_key_type must be one of rsa-2048"):
            generate_smime_key(authority)
    finally:
        authority.db.dispose()
