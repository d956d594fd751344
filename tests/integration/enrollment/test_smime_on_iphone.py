"""Alice puts her S/MIME identities on her enrolled iPhone: `/my/devices/{id}/smime-profile` against a real serve.

The phone logs in in "Safari", downloads the profile, decrypts it with its own device key as iOS does,
and opens both PKCS#12 payloads with the passwords they carry.
"""

from __future__ import annotations

import json
import plistlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID

from campusca.pki import cms
from campusca.pki.crl import RevocationReason
from campusca.services import audit, ca, ota, smime
from tests.integration.enrollment.conftest import PASSWORD, EnrollmentSite, enrollment_site
from tests.support.apple_schema import validate_profile
from tests.support.iphone_simulator import SimulatedIPhone, proxied_client

ORG = "Example University"
MAIL = {
    "mail_incoming_host": "imap.example.edu",
    "mail_outgoing_host": "smtp.example.edu",
    "mail_outgoing_port": 587,
}
AGENT_PASSPHRASE = "quiet lantern orbit mosaic"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
def mail_site(ca_template: Path, tmp_path: Path) -> Iterator[EnrollmentSite]:
    with enrollment_site(ca_template, tmp_path, **MAIL) as served:
        yield served


def _log_in(site: EnrollmentSite, browser: httpx.Client, username: str) -> None:
    form = browser.get(f"{site.url}/login")
    found = _CSRF.search(form.text)
    assert found is not None
    answer = browser.post(
        f"{site.url}/login", data={"username": username, "password": PASSWORD, "csrf": found.group(1)}
    )
    assert answer.status_code == 303, answer.text[:300]


def _ask(site: EnrollmentSite, browser: httpx.Client, device_id: int) -> httpx.Response:
    """Open the page, then press its button (or post the CSRF token of the page when it shows none)."""
    page = browser.get(f"{site.url}/my/devices/{device_id}/smime-profile")
    found = _CSRF.search(page.text) or _CSRF.search(browser.get(f"{site.url}/my/devices").text)
    assert found is not None
    return browser.post(f"{site.url}/my/devices/{device_id}/smime-profile", data={"csrf": found.group(1)})


def _open_on_phone(phone: SimulatedIPhone, signed: bytes) -> dict[str, Any]:
    """What iOS does: check the signature, decrypt the payloads with the identity the envelope names."""
    message = cms.parse_signed_data(signed)
    assert message.content is not None
    profile: dict[str, Any] = plistlib.loads(message.content)
    validate_profile(profile)
    assert profile["IsEncrypted"] is True
    envelope = profile.pop("EncryptedPayloadContent")
    for key, certificate in (
        (phone.scep_key, phone.scep_certificate),
        (phone.vpn_key, phone.vpn_certificate),
    ):
        assert key is not None and certificate is not None
        try:
            opened = cms.decrypt_enveloped_data(envelope, recipient_certificate=certificate, decrypter=key)
        except Exception:  # noqa: BLE001, S112 - not this identity: iOS tries the next one as well
            continue
        profile.pop("IsEncrypted")
        profile["PayloadContent"] = plistlib.loads(opened.content)
        validate_profile(profile)
        return profile
    raise AssertionError("no identity of the phone opens the profile")


def _identity(payload: dict[str, Any]) -> tuple[Any, x509.Certificate]:
    key, certificate, _ = pkcs12.load_key_and_certificates(
        payload["PayloadContent"], payload["Password"].encode()
    )
    assert key is not None and certificate is not None
    return key, certificate


def _spki(public_key: Any) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_alice_installs_her_escrowed_and_a_new_signing_identity_on_her_iphone(
    mail_site: EnrollmentSite,
) -> None:
    site = mail_site
    phone = SimulatedIPhone()
    site.enrol(phone)
    smime.set_escrow_policy(site.authority, org_name=ORG, enabled=True, mode="simple", actor="test")
    bundle = smime.issue_smime_bundle(site.authority, username="alice", actor="test")
    device_id = ota.list_devices(site.authority, username="alice")[0].id
    _log_in(site, phone.browser, "alice")

    page = phone.browser.get(f"{site.url}/my/devices/{device_id}/smime-profile")
    assert page.status_code == 200 and "imap.example.edu" in page.text
    answer = _ask(site, phone.browser, device_id)

    assert answer.status_code == 200, answer.text[:300]
    assert answer.headers["content-type"].startswith("application/x-apple-aspen-config")
    profile = _open_on_phone(phone, answer.content)
    signing_payload, encryption_payload, mail = profile["PayloadContent"]
    assert profile["PayloadIdentifier"].endswith(f".device.{phone.udid}.smime")
    # The encryption identity is the escrowed one: the key opens mail encrypted to the directory's certificate.
    encryption_key, encryption_certificate = _identity(encryption_payload)
    assert encryption_certificate == bundle.encryption.certificate
    assert _spki(encryption_key.public_key()) == _spki(bundle.encryption.certificate.public_key())
    # The signing identity is new, for Alice's address, and not the one of her desktop pair.
    signing_key, signing_certificate = _identity(signing_payload)
    assert signing_certificate.serial_number != bundle.signing.serial
    assert _spki(signing_key.public_key()) == _spki(signing_certificate.public_key())
    san = signing_certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.RFC822Name) == ["alice@example.edu"]
    eku = signing_certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION in eku
    assert mail["SMIMESigningCertificateUUID"] == signing_payload["PayloadUUID"]
    assert mail["SMIMEEncryptionCertificateUUID"] == encryption_payload["PayloadUUID"]
    assert (
        mail["IncomingMailServerHostName"] == "imap.example.edu"
        and mail["EmailAddress"] == "alice@example.edu"
    )

    # Audited with Alice as the actor, no secret in the trail; the desktop pair stays valid.
    records = [
        r
        for r in audit.recent_records(site.authority, limit=200)
        if r.action == "smime.device_profile_issued"
    ]
    assert [r.actor for r in records] == ["person:alice"]
    trail = json.dumps([r.details for r in audit.recent_records(site.authority, limit=500)], default=str)
    assert signing_payload["Password"] not in trail and encryption_payload["Password"] not in trail
    assert records[0].details["signing_serial"] == format(signing_certificate.serial_number, "x")
    notified = audit.recent_records(site.authority, limit=50, action="smime.device_profile_notified")
    assert [(r.actor, r.target, r.details["to"]) for r in notified] == [
        ("person:alice", "person:alice", "alice@example.edu")
    ]

    # A second profile for the phone replaces the first: its signing certificate is revoked as superseded.
    again = _open_on_phone(phone, _ask(site, phone.browser, device_id).content)
    assert _identity(again["PayloadContent"][1])[1] == bundle.encryption.certificate
    replaced = ca.certificate_of_person(site.authority, signing_certificate.serial_number, "alice")
    assert replaced.revocation_reason == "superseded"
    assert ca.certificate_of_person(site.authority, bundle.signing.serial, "alice").status == "valid"

    # The operator's equivalent: `campusca device smime-profile UDID --out FILE`.
    written = site.ca.home.parent / "alice.mobileconfig"
    summary = site.ca.cli_json("device", "smime-profile", phone.udid, "--out", str(written))
    assert isinstance(summary, dict) and summary["owner"] == "alice" and summary["mail_account"] is True
    by_cli = _open_on_phone(phone, written.read_bytes())
    assert _identity(by_cli["PayloadContent"][1])[1] == bundle.encryption.certificate
    assert summary["superseded"] == [format(_identity(again["PayloadContent"][0])[1].serial_number, "x")]

    # The RA officer's REST equivalent (a token of that role; an auditor's is refused).
    token = (
        site.ca.cli("token", "create", "--role", "ra-officer", "--name", "ra").stdout.strip().splitlines()[-1]
    )
    api = f"{site.plain_url}/api/v1/devices/{phone.udid}/smime-profile"
    by_rest = httpx.post(api, headers={"Authorization": f"Bearer {token}"}, timeout=60)
    assert by_rest.status_code == 200 and by_rest.headers["content-type"].startswith(
        "application/x-apple-aspen-config"
    )
    latest = _open_on_phone(phone, by_rest.content)
    assert (
        format(_identity(latest["PayloadContent"][0])[1].serial_number, "x")
        == by_rest.headers["x-signing-serial"]
    )
    auditor = (
        site.ca.cli("token", "create", "--role", "auditor", "--name", "au").stdout.strip().splitlines()[-1]
    )
    assert httpx.post(api, headers={"Authorization": f"Bearer {auditor}"}).status_code == 403

    # A plain revocation of the device takes the signing certificate made for it, not Alice's encryption one.
    second = _identity(latest["PayloadContent"][0])[1].serial_number
    ota.revoke_device(site.authority, phone.udid, reason=RevocationReason.UNSPECIFIED, actor="test")
    assert ca.certificate_of_person(site.authority, second, "alice").revocation_reason == "unspecified"
    assert ca.certificate_of_person(site.authority, bundle.encryption.serial, "alice").status == "valid"
    # Reported lost: the encryption certificate it carried goes too (whoever holds the phone holds the key).
    ota.report_lost(site.authority, username="alice", device_id=device_id, actor="person:alice")
    lost = ca.certificate_of_person(site.authority, bundle.encryption.serial, "alice")
    assert lost.revocation_reason == "keyCompromise"
    assert ca.certificate_of_person(site.authority, bundle.signing.serial, "alice").status == "valid"


def test_the_page_refuses_other_peoples_devices_escrow_off_and_devices_not_enrolled(
    site: EnrollmentSite,
) -> None:
    phone = SimulatedIPhone()
    site.enrol(phone)
    device_id = ota.list_devices(site.authority, username="alice")[0].id
    smime.issue_smime_bundle(site.authority, username="alice", actor="test", password=None)
    _log_in(site, phone.browser, "alice")

    # Escrow is off in the demo institution: no copy of the key, said before and after the button.
    page = phone.browser.get(f"{site.url}/my/devices/{device_id}/smime-profile")
    assert page.status_code == 200 and "Escrow is off for Example University" in page.text
    refused = _ask(site, phone.browser, device_id)
    assert refused.status_code == 409 and "keeps no copy of your encryption key" in refused.text

    # Bob cannot ask for Alice's phone: it answers like a device that does not exist.
    bob = proxied_client()
    _log_in(site, bob, "bob")
    assert _ask(site, bob, device_id).status_code == 404
    assert bob.get(f"{site.url}/my/devices/{device_id}/smime-profile").status_code == 404

    # Escrow turned on after the pair was issued: the current key was never archived.
    smime.set_escrow_policy(site.authority, org_name=ORG, enabled=True, mode="simple", actor="test")
    page = phone.browser.get(f"{site.url}/my/devices/{device_id}/smime-profile")
    assert "holds no copy of the key of your current encryption certificate" in page.text

    # Physics escrows in quorum mode: only its recovery agents' shares open the archive, so no profile.
    smime.add_escrow_agent(site.authority, username="rita", dept_name="Physics", actor="test")
    smime.set_escrow_policy(site.authority, dept_name="Physics", enabled=True, mode="quorum", approvals=1,
                            passphrases={"rita": AGENT_PASSPHRASE}, actor="test")  # fmt: skip
    smime.issue_smime_bundle(site.authority, username="alice", actor="test")
    page = phone.browser.get(f"{site.url}/my/devices/{device_id}/smime-profile")
    assert "escrowed by Example University / Physics in quorum mode" in page.text
    assert (
        "recovery agents, who must approve a key recovery first" in page.text
        and "Download the profile" not in page.text
    )
    assert _ask(site, phone.browser, device_id).status_code == 422

    # A device reported lost is retired: nothing more goes to it.
    ota.report_lost(site.authority, username="alice", device_id=device_id, actor="person:alice")
    refused = _ask(site, phone.browser, device_id)
    assert refused.status_code == 422 and "This device is retired, not enrolled" in refused.text
    issued = [
        r
        for r in audit.recent_records(site.authority, limit=300)
        if r.action == "smime.device_profile_issued"
    ]
    assert issued == []
