"""SCEP requests that must be refused: a clear CertRep FAILURE or HTTP 400, nothing issued, the server serving on."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID
from sqlalchemy import update

from campusca.db.scep import ScepChallenge
from campusca.pki import cms
from campusca.pki.crl import RevocationReason
from campusca.scep import FailInfo, MessageType, PkiStatus
from campusca.services.ca.revocation import revoke_certificate
from campusca.services.scep.challenges import hash_challenge
from tests.support.scep_client import build_cert_poll, build_get_cert, build_pkcs_req
from tests.support.scep_server import Device, ScepServer, make_csr, new_key, pkcs_req, read_reply, scep_server


@pytest.fixture(scope="module")
def server(ca_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScepServer]:
    # The "server" profile waits for approval, so the pending flow runs on the same instance.
    with scep_server(
        ca_template, tmp_path_factory.mktemp("scep"), scep_approval_profiles=["server"]
    ) as running:
        yield running


def _refused(server: ScepServer, device: Device, fail_info: FailInfo, text: str) -> None:
    before = server.certificate_count()
    reply = read_reply(server, server.post(device.message.der), device)
    assert reply.status is PkiStatus.FAILURE
    assert reply.fail_info is fail_info
    assert reply.fail_info_text is not None and text in reply.fail_info_text
    assert server.certificate_count() == before
    assert httpx.get(f"{server.scep_url}?operation=GetCACaps").status_code == 200


def test_wrong_challenge_is_refused(server: ScepServer) -> None:
    server.challenge("alice")
    _refused(
        server, pkcs_req(server, challenge="f" * 40), FailInfo.BAD_REQUEST, "challenge password is wrong"
    )


def test_missing_challenge_is_refused(server: ScepServer) -> None:
    _refused(server, pkcs_req(server, challenge=None), FailInfo.BAD_REQUEST, "missing")


def test_reused_challenge_is_refused(server: ScepServer) -> None:
    secret = server.challenge("alice")
    first = pkcs_req(server, challenge=secret)
    assert read_reply(server, server.post(first.message.der), first).status is PkiStatus.SUCCESS
    _refused(server, pkcs_req(server, challenge=secret), FailInfo.BAD_REQUEST, "already been used")


def test_expired_challenge_is_refused(server: ScepServer) -> None:
    secret = server.challenge("alice", ttl_seconds=60)
    with server.authority.db.write() as session:
        session.execute(
            update(ScepChallenge)
            .where(ScepChallenge.secret_hash == hash_challenge(secret))
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    _refused(server, pkcs_req(server, challenge=secret), FailInfo.BAD_REQUEST, "expired")


def test_challenge_bound_to_another_subject_is_refused_and_stays_usable(server: ScepServer) -> None:
    secret = server.challenge("alice", expected_subject="CN=alice-ipad")
    _refused(server, pkcs_req(server, challenge=secret, cn="mallory"), FailInfo.BAD_REQUEST, "subject")
    right = pkcs_req(server, challenge=secret, cn="alice-ipad")
    assert read_reply(server, server.post(right.message.der), right).status is PkiStatus.SUCCESS


def test_concurrent_requests_cannot_both_use_one_challenge(server: ScepServer) -> None:
    secret = server.challenge("bob")
    devices = [pkcs_req(server, challenge=secret, cn=f"race-{i}") for i in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        responses = list(pool.map(lambda d: server.post(d.message.der), devices))
    statuses = [read_reply(server, r, d).status for r, d in zip(responses, devices, strict=True)]
    assert statuses.count(PkiStatus.SUCCESS) == 1 and statuses.count(PkiStatus.FAILURE) == 3


def test_sha1_is_refused_while_the_switch_is_off(server: ScepServer) -> None:
    secret = server.challenge("alice")
    _refused(server, pkcs_req(server, challenge=secret, digest="sha1"), FailInfo.BAD_ALG, "SHA-1")
    # The refused request did not use up the challenge.
    device = pkcs_req(server, challenge=secret)
    assert read_reply(server, server.post(device.message.der), device).status is PkiStatus.SUCCESS


def test_single_des_is_refused_while_the_legacy_switch_is_off(server: ScepServer) -> None:
    device = pkcs_req(server, challenge=server.challenge("alice"), cipher=cms.ContentCipher.DES_CBC)
    _refused(server, device, FailInfo.BAD_ALG, "")


def test_message_encrypted_to_another_certificate_is_refused(server: ScepServer) -> None:
    device = pkcs_req(server, challenge=server.challenge("alice"), recipient=server.issuing)
    _refused(server, device, FailInfo.BAD_MESSAGE_CHECK, "")


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(
            lambda der: der[:-20] + bytes([der[-20] ^ 0x01]) + der[-19:], id="fail-tampered-signature"
        ),
        pytest.param(lambda der: der[: len(der) // 2], id="fail-truncated"),
        pytest.param(lambda der: os.urandom(len(der)), id="fail-random-bytes"),
        pytest.param(lambda der: b"", id="fail-empty"),
    ],
)
def test_undecodable_message_is_400_and_nothing_is_issued(server: ScepServer, mangle: object) -> None:
    device = pkcs_req(server, challenge=server.challenge("alice"))
    before = server.certificate_count()
    body = mangle(device.message.der)  # type: ignore[operator]
    for response in (server.post(body), server.get_pki(body) if body else server.post(body)):
        assert response.status_code == 400, response.text
        assert response.headers["content-type"].startswith("text/plain")
    assert server.certificate_count() == before
    assert httpx.get(f"{server.scep_url}?operation=GetCACaps").status_code == 200


def test_get_with_bad_base64_is_400(server: ScepServer) -> None:
    response = httpx.get(f"{server.scep_url}?operation=PKIOperation&message=%%%%not-base64!!")
    assert response.status_code == 400
    assert httpx.get(f"{server.scep_url}?operation=PKIOperation").status_code == 400


def test_someone_elses_certificate_cannot_be_fetched(server: ScepServer) -> None:
    bob = pkcs_req(server, challenge=server.challenge("bob"), cn="bob-phone")
    bobs = read_reply(server, server.post(bob.message.der), bob).certificates[0]
    mallory = pkcs_req(server, challenge=server.challenge("alice"), cn="mallory")
    keys = {"signer_key": mallory.key, "signer_certificate": mallory.signer, "recipient": server.ra}
    get = build_get_cert(server.issuing.subject, bobs.serial_number, **keys)
    reply = read_reply(server, server.post(get.der), mallory, get)
    assert reply.status is PkiStatus.FAILURE and reply.fail_info is FailInfo.BAD_CERT_ID
    poll = build_cert_poll(
        server.issuing.subject, bob.csr.subject, transaction_id=bob.message.transaction_id, **keys
    )
    polled = read_reply(server, server.post(poll.der), mallory, poll)
    assert polled.status is PkiStatus.FAILURE and polled.fail_info is FailInfo.BAD_CERT_ID


def test_renewal_signed_by_a_revoked_certificate_is_refused(server: ScepServer) -> None:
    device = pkcs_req(server, challenge=server.challenge("alice"), cn="alice-old")
    old = read_reply(server, server.post(device.message.der), device).certificates[0]
    with server.authority.db.write() as session:
        revoke_certificate(
            server.authority,
            session,
            serial=old.serial_number,
            reason=RevocationReason.KEY_COMPROMISE,
            actor="test",
        )
    renewal = _renewal(server, device, old, cn="alice-old")
    _refused(server, renewal, FailInfo.BAD_REQUEST, "revoked")


def test_renewal_with_another_subject_is_refused(server: ScepServer) -> None:
    device = pkcs_req(server, challenge=server.challenge("alice"), cn="alice-laptop")
    old = read_reply(server, server.post(device.message.der), device).certificates[0]
    _refused(server, _renewal(server, device, old, cn="someone-else"), FailInfo.BAD_REQUEST, "common name")


def test_renewal_signed_by_a_forged_certificate_is_refused(server: ScepServer) -> None:
    key = new_key()
    now = datetime.now(UTC)
    forged = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "forged")]))
        .issuer_name(server.issuing.subject)  # claims our CA, signed by its own key
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    device = Device(key=key, signer=forged, csr=make_csr(key, cn="forged"), message=None)  # type: ignore[arg-type]
    _refused(server, _renewal(server, device, forged, cn="forged"), FailInfo.BAD_REQUEST, "issued")


def test_pending_request_is_approved_then_polled_and_resent(server: ScepServer) -> None:
    secret = server.challenge("bob", profile="server")
    device = pkcs_req(server, challenge=secret, cn="vpn.example.edu", dns=("vpn.example.edu",))
    before = server.certificate_count()
    assert read_reply(server, server.post(device.message.der), device).status is PkiStatus.PENDING
    assert read_reply(server, server.post(device.message.der), device).status is PkiStatus.PENDING
    keys = {"signer_key": device.key, "signer_certificate": device.signer, "recipient": server.ra}
    poll = build_cert_poll(
        server.issuing.subject, device.csr.subject, transaction_id=device.message.transaction_id, **keys
    )
    assert read_reply(server, server.post(poll.der), device, poll).status is PkiStatus.PENDING
    assert server.certificate_count() == before
    pending = server.ca.cli_json("scep", "pending", "list")
    assert isinstance(pending, list)
    (mine,) = [p for p in pending if p["transaction_id"] == device.message.transaction_id]
    assert mine["username"] == "bob" and mine["profile"] == "server"
    server.ca.cli("scep", "pending", "approve", str(mine["id"]))
    polled = read_reply(server, server.post(poll.der), device, poll)
    assert polled.status is PkiStatus.SUCCESS
    issued = polled.certificates[0]
    assert issued.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.DNSName
    ) == ["vpn.example.edu"]
    resent = read_reply(server, server.post(device.message.der), device)
    assert resent.status is PkiStatus.SUCCESS and resent.certificates[0] == issued
    assert server.certificate_count() == before + 1
    again = server.ca.cli("scep", "pending", "approve", str(mine["id"]), check=False)
    assert again.returncode == 1 and "not pending" in again.stderr


def test_pending_request_rejected_gets_failure(server: ScepServer) -> None:
    device = pkcs_req(server, challenge=server.challenge("bob", profile="server"), cn="gw.example.edu")
    assert read_reply(server, server.post(device.message.der), device).status is PkiStatus.PENDING
    pending = server.ca.cli_json("scep", "pending", "list")
    (mine,) = [p for p in pending if p["transaction_id"] == device.message.transaction_id]  # type: ignore[union-attr]
    server.ca.cli("scep", "pending", "reject", str(mine["id"]), "--reason", "unknown gateway")
    _refused(server, device, FailInfo.BAD_REQUEST, "rejected")


def _renewal(server: ScepServer, device: Device, signer: x509.Certificate, *, cn: str) -> Device:
    csr = make_csr(device.key, cn=cn)
    message = build_pkcs_req(
        csr,
        signer_key=device.key,
        signer_certificate=signer,
        recipient=server.ra,
        message_type=MessageType.RENEWAL_REQ,
    )
    return Device(key=device.key, signer=signer, csr=csr, message=message)
