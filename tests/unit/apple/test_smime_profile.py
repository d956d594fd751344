"""com.apple.security.pkcs12 and com.apple.mail.managed S/MIME payloads: shape and refusals."""

from __future__ import annotations

import pytest

from campusca.apple import (
    MailServer,
    PayloadInvalid,
    configuration_profile,
    pkcs12_payload,
    smime_mail_payload,
)
from tests.support.apple_schema import validate_profile

SERVER = MailServer(incoming_host="imap.example.edu", outgoing_host="smtp.example.edu")


def _identities() -> tuple[dict, dict]:
    signing = pkcs12_payload(
        b"p12-1", password="pw-1", identifier="edu.example.s", display_name="S", file_name="s.p12"
    )
    encryption = pkcs12_payload(
        b"p12-2", password="pw-2", identifier="edu.example.e", display_name="E", file_name="e.p12"
    )
    return signing, encryption


def test_a_mail_account_names_both_identities_and_validates() -> None:
    signing, encryption = _identities()
    account = smime_mail_payload(
        SERVER, email="alice@example.edu", username="alice", display_name="Alice Archer", identifier="edu.example.m",
        signing_uuid=str(signing["PayloadUUID"]), encryption_uuid=str(encryption["PayloadUUID"]),
    )  # fmt: skip
    assert account["SMIMESigningCertificateUUID"] == signing["PayloadUUID"]
    assert account["SMIMEEncryptionCertificateUUID"] == encryption["PayloadUUID"]
    assert account["IncomingMailServerPortNumber"] == 993 and account["OutgoingMailServerPortNumber"] == 587
    profile = configuration_profile(
        payloads=[signing, encryption, account], identifier="edu.example.smime", display_name="S/MIME",
        organization="Example University", description="S/MIME identities",
    )  # fmt: skip
    validate_profile(profile)


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        pytest.param({"pkcs12": b""}, "pkcs12 must not be empty", id="fail-empty-file"),
        pytest.param({"password": ""}, "password must not be empty", id="fail-no-password"),
    ],
)
def test_pkcs12_payload_refuses_what_ios_cannot_import(changes: dict, error: str) -> None:
    values: dict = {"pkcs12": b"x", "password": "pw", "identifier": "edu.example.x", "display_name": "X",
                    "file_name": "x.p12", **changes}  # fmt: skip
    with pytest.raises(PayloadInvalid, match=error):
        pkcs12_payload(values.pop("pkcs12"), **values)


@pytest.mark.parametrize(
    ("server", "email", "error"),
    [
        pytest.param(
            MailServer("i", "o", account_type="EmailTypeExchange"), "a@b", "account_type", id="fail-type"
        ),
        pytest.param(MailServer("i", "o", incoming_port=0), "a@b", "incoming_port", id="fail-port"),
        pytest.param(SERVER, "alice", "mailbox address", id="fail-email"),
    ],
)
def test_mail_payload_refusals(server: MailServer, email: str, error: str) -> None:
    with pytest.raises(PayloadInvalid, match=error):
        smime_mail_payload(server, email=email, username="a", display_name="A", identifier="edu.example.m",
                           signing_uuid="S", encryption_uuid="E")  # fmt: skip
