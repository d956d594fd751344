"""S/MIME on Alice's iPhone: her escrowed encryption identity and a signing identity in a device-encrypted profile."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from campusca.pki.pkcs12 import load_pkcs12
from campusca.services.errors import EscrowDisabled, NotAuthorized
from campusca.services.ota import smime_profile_for_device
from tests.integration.enrollment.conftest import EnrollmentSite, enrollment_site
from tests.integration.escrow.helpers import enable_escrow, issue
from tests.support.apple_schema import validate_profile
from tests.support.iphone import open_final_profile
from tests.support.iphone_simulator import SimulatedIPhone

MAIL = {"Example University": {"incoming_host": "imap.example.edu", "outgoing_host": "smtp.example.edu"}}


@pytest.fixture
def mail_site(ca_template: Path, tmp_path: Path) -> Iterator[EnrollmentSite]:
    fast = {"smime_key_type": "rsa-2048", "escrow_domain_key_type": "rsa-2048"}
    with enrollment_site(ca_template, tmp_path, mail_servers=MAIL, **fast) as served:
        yield served


def _payloads(profile: dict[str, Any], payload_type: str) -> list[dict[str, Any]]:
    return [p for p in profile["PayloadContent"] if p["PayloadType"] == payload_type]


def _spki(certificate: Any) -> bytes:
    return certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_alice_installs_her_smime_identities_on_her_enrolled_iphone(mail_site: EnrollmentSite) -> None:
    phone = SimulatedIPhone()
    mail_site.enrol(phone, "alice")
    authority = mail_site.authority
    enable_escrow(authority)
    alice = issue(authority, "alice")
    assert alice.escrowed

    built = smime_profile_for_device(authority, username="alice", udid=phone.udid, actor="test")

    assert phone.vpn_key is not None and phone.vpn_certificate is not None
    profile = open_final_profile(
        built.profile, device_key=phone.vpn_key, device_certificate=phone.vpn_certificate
    )
    validate_profile(profile)
    identities = _payloads(profile, "com.apple.security.pkcs12")
    assert len(identities) == 2
    found = {}
    for payload in identities:
        contents = load_pkcs12(payload["PayloadContent"], payload["Password"].encode())
        assert _spki(contents.key) == _spki(contents.certificate)  # the key belongs to its certificate
        found[format(contents.certificate.serial_number, "x")] = payload["PayloadUUID"]
    assert set(found) == {built.signing_serial, alice.encryption.serial_hex}
    (account,) = _payloads(profile, "com.apple.mail.managed")
    assert (
        account["EmailAddress"] == "alice@example.edu"
        and account["IncomingMailServerHostName"] == "imap.example.edu"
    )
    assert account["SMIMESigningCertificateUUID"] == found[built.signing_serial]
    assert account["SMIMEEncryptionCertificateUUID"] == found[alice.encryption.serial_hex]
    assert account["SMIMESigningEnabled"] is True and account["SMIMEEncryptionEnabled"] is True
    # Passwords travel only inside the encrypted part: the signed outer profile does not show them.
    assert all(payload["Password"].encode() not in built.profile for payload in identities)


def test_only_the_owner_with_escrow_on_gets_a_profile(mail_site: EnrollmentSite) -> None:
    phone = SimulatedIPhone()
    mail_site.enrol(phone, "alice")
    authority = mail_site.authority
    issue(authority, "alice")  # escrow off: campusca keeps no copy of the key
    with pytest.raises(EscrowDisabled, match="escrow is off"):
        smime_profile_for_device(authority, username="alice", udid=phone.udid, actor="test")
    with pytest.raises(NotAuthorized, match="not enrolled to bob"):
        smime_profile_for_device(authority, username="bob", udid=phone.udid, actor="test")
