"""Devices enrol by SCEP (RFC 8894) with a real `campusca serve`: iOS-style, 3DES, OAEP, GET and POST."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from campusca.pki import cms
from campusca.scep import MessageType, PkiStatus
from campusca.services import ca, scep
from tests.support.scep_client import build_cert_poll, build_get_cert, build_get_crl, build_pkcs_req
from tests.support.scep_server import ScepServer, make_csr, new_key, pkcs_req, read_reply, scep_server

UDID = "00008110-000A1B2C3D4E5F60"


@pytest.fixture(scope="module")
def server(ca_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScepServer]:
    with scep_server(ca_template, tmp_path_factory.mktemp("scep")) as running:
        yield running


def test_get_ca_caps_lists_exactly_what_is_implemented(server: ScepServer) -> None:
    response = httpx.get(f"{server.scep_url}?operation=GetCACaps")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain"
    words = response.text.splitlines()
    assert set(words) == {"POSTPKIOperation", "SHA-256", "SHA-512", "AES", "DES3", "Renewal", "SCEPStandard"}
    assert response.text.endswith("\n")


def test_get_ca_cert_returns_ra_then_issuing_ca_and_root(server: ScepServer) -> None:
    response = httpx.get(f"{server.scep_url}?operation=GetCACert&message=campusca")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-x509-ca-ra-cert"
    certificates, _ = cms.parse_certs_only(response.content)
    ra, issuing, root = certificates
    assert ra == server.ra and issuing == server.issuing and root.issuer == root.subject
    assert isinstance(ra.public_key(), rsa.RSAPublicKey)
    usage = ra.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.key_encipherment


def test_get_next_ca_cert_without_rollover_ca_is_404(server: ScepServer) -> None:
    assert httpx.get(f"{server.scep_url}?operation=GetNextCACert").status_code == 404


def test_unknown_operation_is_400(server: ScepServer) -> None:
    response = httpx.get(f"{server.scep_url}?operation=GetCAChain")
    assert response.status_code == 400 and "operation must be" in response.text


def test_iphone_enrols_with_aes128_sha512_ber_over_get_with_unescaped_plus(server: ScepServer) -> None:
    secret = server.challenge("alice", device_ref=UDID)
    device = pkcs_req(server, challenge=secret, digest="sha512", ber_indefinite=True)
    reply = read_reply(server, server.get_pki(device.message.der), device)
    assert reply.status is PkiStatus.SUCCESS
    assert reply.digest_algorithm == "sha512"
    assert reply.content_cipher is cms.ContentCipher.AES_128_CBC
    issued = reply.certificates[0]
    assert issued.public_key() == device.key.public_key()
    assert issued.issuer == server.issuing.subject and reply.certificates[1] == server.issuing
    san = issued.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.RFC822Name) == ["alice@example.edu"]
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == [f"urn:udid:{UDID}"]
    (enrollment,) = scep.list_enrollments(server.authority, device_ref=UDID)
    views, _ = ca.list_certificates(server.authority, username="alice", profile="device")
    assert enrollment.username == "alice" and enrollment.status == "issued"
    assert enrollment.certificate_serial == issued.serial_number
    assert enrollment.transaction_id == device.message.transaction_id
    assert issued.serial_number in {v.serial for v in views}


@pytest.mark.parametrize(
    ("cipher", "digest", "transport"),
    [
        pytest.param(cms.ContentCipher.DES_EDE3_CBC, "sha256", cms.KeyTransport.RSA_PKCS1V15, id="ok-3des"),
        pytest.param(cms.ContentCipher.AES_192_CBC, "sha256", cms.KeyTransport.RSA_PKCS1V15, id="ok-aes192"),
        pytest.param(
            cms.ContentCipher.AES_256_CBC, "sha512", cms.KeyTransport.RSA_OAEP_SHA256, id="ok-aes256-oaep"
        ),
        pytest.param(
            cms.ContentCipher.AES_128_CBC, "sha256", cms.KeyTransport.RSA_OAEP_SHA1, id="ok-oaep-sha1"
        ),
    ],
)
def test_reply_mirrors_the_request_cipher_and_key_transport(
    server: ScepServer, cipher: cms.ContentCipher, digest: str, transport: cms.KeyTransport
) -> None:
    device = pkcs_req(
        server, challenge=server.challenge("bob"), cipher=cipher, digest=digest, key_transport=transport
    )
    reply = read_reply(server, server.post(device.message.der), device)
    assert reply.status is PkiStatus.SUCCESS
    assert (reply.content_cipher, reply.key_transport, reply.digest_algorithm) == (cipher, transport, digest)


def test_post_without_content_type_in_chunks_enrols(server: ScepServer) -> None:
    device = pkcs_req(server, challenge=server.challenge("bob"), cipher=cms.ContentCipher.DES_EDE3_CBC)
    der = device.message.der
    chunks = iter([der[:100], der[100:1000], der[1000:]])  # no length known: chunked transfer encoding
    response = httpx.post(f"{server.scep_url}?operation=PKIOperation", content=chunks)
    assert "content-type" not in {k.lower() for k in response.request.headers}
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert read_reply(server, response, device).status is PkiStatus.SUCCESS


def test_get_with_newline_wrapped_base64_enrols(server: ScepServer) -> None:
    device = pkcs_req(server, challenge=server.challenge("bob"))
    assert (
        read_reply(server, server.get_pki(device.message.der, wrap=True), device).status is PkiStatus.SUCCESS
    )


def test_scepclient_style_request_with_absent_rsa_parameters_enrols(server: ScepServer) -> None:
    device = pkcs_req(server, challenge=server.challenge("bob"), rsa_parameters_absent=True)
    assert read_reply(server, server.post(device.message.der), device).status is PkiStatus.SUCCESS


def test_resent_identical_request_gets_the_same_certificate(server: ScepServer) -> None:
    device = pkcs_req(server, challenge=server.challenge("bob"))
    first = read_reply(server, server.post(device.message.der), device)
    count = server.certificate_count()
    again = read_reply(server, server.post(device.message.der), device)
    assert again.certificates[0] == first.certificates[0]
    assert server.certificate_count() == count


def test_cert_poll_and_get_cert_answer_the_requester(server: ScepServer) -> None:
    device = pkcs_req(server, challenge=server.challenge("alice"))
    issued = read_reply(server, server.post(device.message.der), device).certificates[0]
    keys = {"signer_key": device.key, "signer_certificate": device.signer, "recipient": server.ra}
    poll = build_cert_poll(
        server.issuing.subject, device.csr.subject, transaction_id=device.message.transaction_id, **keys
    )
    polled = read_reply(server, server.post(poll.der), device, poll)
    assert polled.status is PkiStatus.SUCCESS and polled.certificates[0] == issued
    get = build_get_cert(server.issuing.subject, issued.serial_number, **keys)
    fetched = read_reply(server, server.post(get.der), device, get)
    assert fetched.status is PkiStatus.SUCCESS and fetched.certificates == (issued,)


def test_get_crl_returns_the_issuing_ca_crl(server: ScepServer) -> None:
    device = pkcs_req(server, challenge=server.challenge("alice"))
    issued = read_reply(server, server.post(device.message.der), device).certificates[0]
    keys = {"signer_key": device.key, "signer_certificate": device.signer, "recipient": server.ra}
    request = build_get_crl(server.issuing.subject, issued.serial_number, **keys)
    reply = read_reply(server, server.post(request.der), device, request)
    assert reply.status is PkiStatus.SUCCESS and len(reply.crls) == 1
    crl = reply.crls[0]
    assert crl.issuer == server.issuing.subject
    assert crl.is_signature_valid(server.issuing.public_key())  # type: ignore[arg-type]


def test_renewal_req_signed_by_the_issued_certificate_needs_no_challenge(server: ScepServer) -> None:
    device = pkcs_req(server, challenge=server.challenge("alice", device_ref="renew-udid"), cn="alice-mac")
    old = read_reply(server, server.post(device.message.der), device).certificates[0]
    new_key_ = new_key()
    renewal = build_pkcs_req(
        make_csr(new_key_, cn="alice-mac"),
        signer_key=device.key,
        signer_certificate=old,
        recipient=server.ra,
        message_type=MessageType.RENEWAL_REQ,
    )
    renewed = read_reply(server, server.post(renewal.der), _as(device, old), renewal)
    assert renewed.status is PkiStatus.SUCCESS
    new = renewed.certificates[0]
    assert new.subject == old.subject and new.public_key() == new_key_.public_key()
    with server.authority.db.read() as session:
        history = scep.enrollments_for_device(session, "renew-udid")
    assert [(e.renewal, e.certificate_serial) for e in history] == [
        (True, new.serial_number),
        (False, old.serial_number),
    ]


def test_pkcs_req_signed_by_an_issued_certificate_is_a_renewal(server: ScepServer) -> None:
    device = pkcs_req(server, challenge=server.challenge("bob"), cn="bob-linux")
    old = read_reply(server, server.post(device.message.der), device).certificates[0]
    rekey = build_pkcs_req(
        make_csr(device.key, cn="bob-linux"),
        signer_key=device.key,
        signer_certificate=old,
        recipient=server.ra,
    )
    reply = read_reply(server, server.post(rekey.der), _as(device, old), rekey)
    assert reply.status is PkiStatus.SUCCESS and reply.certificates[0].serial_number != old.serial_number


def test_challenge_bound_to_a_subject_accepts_that_subject(server: ScepServer) -> None:
    secret = server.challenge("alice", expected_subject="alice-ipad")
    device = pkcs_req(server, challenge=secret, cn="alice-ipad")
    assert read_reply(server, server.post(device.message.der), device).status is PkiStatus.SUCCESS


def test_cli_challenge_is_the_last_line_and_enrols(server: ScepServer) -> None:
    result = server.ca.cli("scep", "challenge", "--user", "mary", "--device", "cli-udid", "--ttl", "600")
    secret = result.stdout.strip().splitlines()[-1]
    device = pkcs_req(server, challenge=secret, cn="mary-phone")
    assert read_reply(server, server.post(device.message.der), device).status is PkiStatus.SUCCESS
    listed = server.ca.cli_json("scep", "list", "--device", "cli-udid")
    assert isinstance(listed, list) and listed[0]["username"] == "mary" and listed[0]["status"] == "issued"
    serials = {c["serial"] for c in server.ca.cli_json("cert", "list", "--user", "mary")}  # type: ignore[union-attr]
    assert listed[0]["certificate_serial"] in serials


def test_rest_api_creates_a_challenge_for_a_device(server: ScepServer) -> None:
    token = (
        server.ca.cli("token", "create", "--role", "ra-officer", "--name", "mdm")
        .stdout.strip()
        .splitlines()[-1]
    )
    headers = {"Authorization": f"Bearer {token}"}
    body = {"username": "bob", "device_ref": "rest-udid", "ttl_seconds": 900}
    created = httpx.post(f"{server.url}/api/v1/scep/challenges", json=body, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["url"] == server.scep_url and created.json()["profile"] == "device"
    device = pkcs_req(server, challenge=created.json()["challenge"], cn="bob-tablet")
    assert read_reply(server, server.post(device.message.der), device).status is PkiStatus.SUCCESS
    listed = httpx.get(
        f"{server.url}/api/v1/scep/enrollments", params={"device_ref": "rest-udid"}, headers=headers
    )
    assert listed.status_code == 200 and listed.json()[0]["status"] == "issued"
    anonymous = httpx.post(f"{server.url}/api/v1/scep/challenges", json=body)
    assert anonymous.status_code == 401


def _as(device: object, signer: x509.Certificate) -> object:
    """The device, now signing with (and receiving replies for) `signer`."""
    from dataclasses import replace

    return replace(device, signer=signer)  # type: ignore[type-var]
