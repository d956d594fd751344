"""export_pkcs12 / load_pkcs12: a person's PKCS#12 download and the recovery file with past keys (RFC 7292)."""

from __future__ import annotations

import pytest
from asn1crypto import pkcs12 as apkcs12
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from campusca.pki.errors import Pkcs12DecodeError, Pkcs12PasswordError
from campusca.pki.pkcs12 import export_pkcs12, load_pkcs12
from tests.support.gpgsm_vector import MISDERIVED_PASSWORD, export_after_misderived, misderived_pkcs12
from tests.unit.smime.ca import Issued, TestCa

FAST = 1000  # PBKDF2 rounds for tests that are not about the default


@pytest.fixture(scope="module")
def ca() -> TestCa:
    return TestCa()


@pytest.fixture(scope="module")
def mary(ca: TestCa) -> Issued:
    return ca.issue("mary@campus.example", usage="encrypt")


@pytest.fixture(scope="module")
def past_keys(ca: TestCa) -> list[Issued]:
    return [ca.issue("mary@campus.example", usage="encrypt") for _ in range(2)]


def _algorithms(data: bytes) -> tuple[str, set[str]]:
    """The MAC digest and the encryption algorithms of every encrypted bag of a PFX."""
    pfx = apkcs12.Pfx.load(data)
    mac = pfx["mac_data"]["mac"]["digest_algorithm"]["algorithm"].native
    found = set()
    for info in pfx.authenticated_safe:
        if info["content_type"].native == "encrypted_data":
            algorithm = info["content"]["encrypted_content_info"]["content_encryption_algorithm"]
            found.add(
                algorithm.encryption_cipher
                if algorithm["algorithm"].native == "pbes2"
                else algorithm["algorithm"].native
            )
        else:
            for bag in apkcs12.SafeContents.load(info["content"].native):
                algorithm = bag["bag_value"].untag()["encryption_algorithm"]
                found.add(
                    algorithm.encryption_cipher
                    if algorithm["algorithm"].native == "pbes2"
                    else algorithm["algorithm"].native
                )
    return mac, found


def test_modern_pkcs12_uses_aes256_and_sha256_mac_and_round_trips(ca: TestCa, mary: Issued) -> None:
    data = export_pkcs12(
        key=mary.key,
        certificate=mary.certificate,
        chain=[ca.issuing.certificate, ca.root.certificate],
        password=b"correct horse",
        friendly_name=b"Mary (encryption)",
    )
    assert _algorithms(data) == ("sha256", {"aes"})
    loaded = load_pkcs12(data, b"correct horse")
    assert loaded.certificate == mary.certificate
    assert loaded.key.private_numbers() == mary.key.private_numbers()  # type: ignore[union-attr]
    assert loaded.chain == (ca.issuing.certificate, ca.root.certificate)
    assert loaded.extra == ()
    assert pkcs12.load_pkcs12(data, b"correct horse").cert.friendly_name == b"Mary (encryption)"  # type: ignore[union-attr]


def test_modern_pkcs12_uses_the_default_iteration_count(mary: Issued) -> None:
    data = export_pkcs12(key=mary.key, certificate=mary.certificate, password=b"pw")
    pfx = apkcs12.Pfx.load(data)
    shrouded = [i for i in pfx.authenticated_safe if i["content_type"].native == "data"][0]
    bag = apkcs12.SafeContents.load(shrouded["content"].native)[0]
    assert bag["bag_value"].untag()["encryption_algorithm"].kdf_iterations == 200_000


def test_legacy_pkcs12_uses_3des_and_sha1_mac_and_round_trips(mary: Issued) -> None:
    data = export_pkcs12(
        key=mary.key, certificate=mary.certificate, password=b"pw", legacy=True, iterations=FAST
    )
    assert _algorithms(data) == ("sha1", {"pkcs12_sha1_tripledes_3key"})
    assert load_pkcs12(data, b"pw").certificate == mary.certificate


@pytest.mark.parametrize("legacy", [pytest.param(False, id="ok-modern"), pytest.param(True, id="ok-legacy")])
def test_recovery_pkcs12_holds_every_past_decryption_key(
    mary: Issued, past_keys: list[Issued], legacy: bool
) -> None:
    password = "einmal-Paßwort".encode()
    data = export_pkcs12(
        key=mary.key,
        certificate=mary.certificate,
        password=password,
        legacy=legacy,
        iterations=FAST,
        extra=[(p.key, p.certificate) for p in past_keys],
    )
    loaded = load_pkcs12(data, password)
    assert loaded.certificate == mary.certificate
    assert [cert for _, cert in loaded.extra] == [p.certificate for p in past_keys]
    assert [key.private_numbers() for key, _ in loaded.extra] == [p.key.private_numbers() for p in past_keys]  # type: ignore[union-attr]
    assert loaded.chain == ()
    # cryptography's own reader accepts the merged file's MAC too.
    assert pkcs12.load_pkcs12(data, password).cert.certificate == mary.certificate  # type: ignore[union-attr]


def test_load_pkcs12_with_a_wrong_password_raises_password_error(
    mary: Issued, past_keys: list[Issued]
) -> None:
    data = export_pkcs12(
        key=mary.key,
        certificate=mary.certificate,
        password=b"right",
        iterations=FAST,
        extra=[(past_keys[0].key, past_keys[0].certificate)],
    )
    with pytest.raises(Pkcs12PasswordError, match="password"):
        load_pkcs12(data, b"wrong")


def test_load_pkcs12_reports_garbage_as_decode_error() -> None:
    with pytest.raises(Pkcs12DecodeError):
        load_pkcs12(b"\x30\x03\x02\x01\x03", b"pw")


def test_load_pkcs12_reports_a_file_without_key(mary: Issued) -> None:
    data = pkcs12.serialize_key_and_certificates(
        None, None, None, [mary.certificate], serialization.BestAvailableEncryption(b"pw")
    )
    with pytest.raises(Pkcs12DecodeError, match="private key"):
        load_pkcs12(data, b"pw")


def test_export_pkcs12_refuses_an_empty_password(mary: Issued) -> None:
    with pytest.raises(ValueError, match="password"):
        export_pkcs12(key=mary.key, certificate=mary.certificate, password=b"")


def test_legacy_export_makes_the_file_again_when_gpgsm_would_misderive_a_bag_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The vector has a salt on which gpgsm's PKCS#12 KDF goes wrong (tests/interop/test_smime_gpgsm.py
    # shows gpgsm refusing it); openssl and cryptography read it.
    data, vector, serialisations = export_after_misderived(monkeypatch, legacy=True)
    assert serialisations == 2
    assert data != misderived_pkcs12()
    assert load_pkcs12(data, MISDERIVED_PASSWORD).certificate == vector.certificate


def test_modern_export_is_not_checked_against_gpgsms_kdf(monkeypatch: pytest.MonkeyPatch) -> None:
    _, _, serialisations = export_after_misderived(monkeypatch, legacy=False)
    assert serialisations == 1
