"""sign_message / verify_message: Bob signs, Mary verifies; every way a signed message can be refused."""

from __future__ import annotations

import asyncio
import base64
import email
import email.policy

import pytest

from campusca.pki.cms import build_signed_data
from campusca.smime import (
    CertificateExpired,
    CertificateNotTrusted,
    CertificateRevoked,
    CertificateUnsuitable,
    MalformedMessage,
    RevocationUnknown,
    SenderMismatch,
    SignatureInvalid,
    UnsupportedAlgorithm,
    sign_message,
    verify_message,
)
from campusca.smime._mime import multipart_parts, parse_entity
from tests.unit.smime.ca import DAY, NOW, Issued, TestCa, mail


def _sign(signer: Issued, ca: TestCa, message: bytes | None = None, **options: object) -> bytes:
    return sign_message(
        message if message is not None else mail(),
        signer=signer.key,
        signer_certificate=signer.certificate,
        chain=[ca.issuing.certificate],
        signing_time=NOW,
        **options,  # type: ignore[arg-type]
    )


def _verify(message: bytes, ca: TestCa, **options: object):  # type: ignore[no-untyped-def]
    arguments: dict[str, object] = {"trust_roots": [ca.root.certificate], "crls": ca.crls(), "at": NOW}
    arguments.update(options)
    return verify_message(message, **arguments)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def signed(ca: TestCa, bob_signing: Issued) -> bytes:
    return _sign(bob_signing, ca)


def test_bob_signed_mail_verifies_with_his_certificate_and_address(
    signed: bytes, ca: TestCa, bob_signing: Issued
) -> None:
    result = _verify(signed, ca)
    assert result.signer_certificate == bob_signing.certificate
    assert result.signer_email == "bob@campus.example"
    assert result.from_matches is True
    assert result.signing_time == NOW
    assert result.digest_algorithm == "sha256"
    assert result.content.endswith(b"\r\n\r\nHello Mary,\r\nthe minutes are attached.\r\n")


def test_sign_message_keeps_address_headers_outside_and_content_headers_inside(signed: bytes) -> None:
    parsed = email.message_from_bytes(signed, policy=email.policy.default)
    assert parsed["Subject"] == "Minutes"
    assert parsed["From"] == "Bob <bob@campus.example>"
    assert parsed.get_content_type() == "multipart/signed"
    assert parsed.get_param("protocol") == "application/pkcs7-signature"
    assert parsed.get_param("micalg") == "sha-256"
    first, second = parsed.iter_parts()
    assert first["Content-Transfer-Encoding"] == "7bit"
    assert first["Subject"] is None
    assert second.get_content_type() == "application/pkcs7-signature"
    assert signed.count(b"MIME-Version") == 1


def test_sign_message_writes_crlf_line_ends_for_lf_input(ca: TestCa, bob_signing: Issued) -> None:
    signed = _sign(bob_signing, ca, mail(lf=True))
    assert b"\n" not in signed.replace(b"\r\n", b"")
    assert _verify(signed, ca).content.endswith(b"the minutes are attached.\r\n")


def test_verify_accepts_signed_mail_stored_with_lf_line_ends(signed: bytes, ca: TestCa) -> None:
    assert _verify(signed.replace(b"\r\n", b"\n"), ca).from_matches


@pytest.mark.parametrize(("digest", "micalg"), [("sha384", b"micalg=sha-384"), ("sha512", b"micalg=sha-512")])
def test_sign_message_names_the_digest_in_micalg(
    ca: TestCa, bob_signing: Issued, digest: str, micalg: bytes
) -> None:
    signed = _sign(bob_signing, ca, digest_algorithm=digest)
    assert micalg in signed
    assert _verify(signed, ca).digest_algorithm == digest


def test_sign_message_rejects_unknown_digest(ca: TestCa, bob_signing: Issued) -> None:
    with pytest.raises(UnsupportedAlgorithm, match="digest_algorithm"):
        _sign(bob_signing, ca, digest_algorithm="md5")


def test_sign_message_quoted_printable_encodes_an_8bit_body(ca: TestCa, bob_signing: Issued) -> None:
    message = mail(body="Grüße aus der Mensa\n").replace(b"Content-Transfer-Encoding: 7bit\r\n", b"")
    message = message.replace(b"us-ascii", b"utf-8")
    signed = _sign(bob_signing, ca, message)
    assert signed.isascii()
    part = email.message_from_bytes(_verify(signed, ca).content, policy=email.policy.default)
    assert part["Content-Transfer-Encoding"] == "quoted-printable"
    assert part.get_content().splitlines() == ["Grüße aus der Mensa"]


def test_sign_message_refuses_an_encryption_only_certificate(ca: TestCa, mary_encryption: Issued) -> None:
    with pytest.raises(CertificateUnsuitable, match="digital_signature"):
        _sign(mary_encryption, ca)


def test_sign_message_refuses_a_certificate_without_email_protection(ca: TestCa) -> None:
    client_only = ca.issue("bob@campus.example", email_protection=False)
    with pytest.raises(CertificateUnsuitable, match="emailProtection"):
        _sign(client_only, ca)


def test_verify_rejects_a_tampered_body(signed: bytes, ca: TestCa) -> None:
    tampered = signed.replace(b"the minutes are attached", b"the minutes are attacked")
    with pytest.raises(SignatureInvalid):
        _verify(tampered, ca)


def test_verify_rejects_a_tampered_content_header(signed: bytes, ca: TestCa) -> None:
    tampered = signed.replace(b'charset="us-ascii"', b'charset="latin1"', 1)
    with pytest.raises(SignatureInvalid):
        _verify(tampered, ca)


def test_verify_rejects_mail_from_another_sender(ca: TestCa, bob_signing: Issued) -> None:
    signed = _sign(bob_signing, ca, mail(sender="alice@campus.example"))
    with pytest.raises(SenderMismatch, match="From"):
        _verify(signed, ca)
    result = _verify(signed, ca, require_sender_match=False)
    assert result.from_matches is False
    assert result.signer_email == "bob@campus.example"


def test_verify_matches_from_address_case_insensitively(ca: TestCa, bob_signing: Issued) -> None:
    signed = _sign(bob_signing, ca, mail(sender="Bob@Campus.EXAMPLE"))
    assert _verify(signed, ca).signer_email == "bob@campus.example"


def test_verify_rejects_an_expired_signer_certificate(ca: TestCa) -> None:
    expired = ca.issue("bob@campus.example", not_before=NOW - 400 * DAY, not_after=NOW - DAY)
    with pytest.raises(CertificateExpired):
        _verify(_sign(expired, ca), ca)


def test_verify_rejects_a_certificate_used_before_its_validity(signed: bytes, ca: TestCa) -> None:
    with pytest.raises(CertificateExpired):
        # The CRLs were issued after that moment, so only the validity check can speak here.
        _verify(signed, ca, at=NOW - 2 * DAY, require_revocation_info=False)


def test_verify_rejects_a_revoked_signer_certificate(signed: bytes, ca: TestCa, bob_signing: Issued) -> None:
    with pytest.raises(CertificateRevoked):
        _verify(signed, ca, crls=ca.crls([bob_signing.certificate]))


def test_verify_rejects_a_signer_from_an_untrusted_root(ca: TestCa) -> None:
    other = TestCa("Elsewhere")
    stranger = other.issue("bob@campus.example")
    with pytest.raises(CertificateNotTrusted) as caught:
        _verify(_sign(stranger, other), ca)
    assert type(caught.value) is CertificateNotTrusted


def test_verify_needs_the_intermediate_from_the_message_or_the_caller(
    ca: TestCa, bob_signing: Issued
) -> None:
    bare = sign_message(mail(), signer=bob_signing.key, signer_certificate=bob_signing.certificate)
    with pytest.raises(CertificateNotTrusted):
        _verify(bare, ca)
    assert _verify(bare, ca, intermediates=[ca.issuing.certificate]).from_matches


def test_verify_without_revocation_info_fails_unless_not_required(signed: bytes, ca: TestCa) -> None:
    with pytest.raises(RevocationUnknown):
        _verify(signed, ca, crls=[])
    assert _verify(signed, ca, crls=[], require_revocation_info=False).from_matches


def test_verify_still_honours_a_given_crl_when_revocation_info_is_optional(ca: TestCa) -> None:
    bob = ca.issue("bob@campus.example", crl_url="http://127.0.0.1:9/crl/issuing.crl")
    issuing_crl = ca.crls([bob.certificate])[1]  # the root's CRL is missing
    with pytest.raises(CertificateRevoked):
        _verify(_sign(bob, ca), ca, crls=[issuing_crl], require_revocation_info=False)


def test_verify_rejects_a_stale_crl(signed: bytes, ca: TestCa) -> None:
    with pytest.raises(RevocationUnknown):
        _verify(signed, ca, at=NOW + 30 * DAY)


def test_verify_accepts_an_ocsp_answer_instead_of_a_crl(ca: TestCa) -> None:
    bob = ca.issue("bob@campus.example", ocsp_url="http://127.0.0.1:9/ocsp")
    root_crl = ca.crls()[0]
    result = _verify(_sign(bob, ca), ca, crls=[root_crl], ocsp_responses=[ca.ocsp_good(bob.certificate)])
    assert result.signer_certificate == bob.certificate


def test_verify_rejects_a_signer_without_email_protection(
    ca: TestCa, monkeypatch: pytest.MonkeyPatch
) -> None:
    client_only = ca.issue("bob@campus.example", email_protection=False)
    monkeypatch.setattr("campusca.smime.sign.check_usage", lambda *a, **k: None)
    with pytest.raises(CertificateUnsuitable):
        _verify(_sign(client_only, ca), ca)


def test_verify_rejects_naive_time(signed: bytes, ca: TestCa) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        _verify(signed, ca, at=NOW.replace(tzinfo=None))


def test_verify_works_inside_a_running_event_loop(signed: bytes, ca: TestCa) -> None:
    async def inside_loop() -> str | None:
        return _verify(signed, ca).signer_email

    assert asyncio.run(inside_loop()) == "bob@campus.example"


def test_verify_accepts_opaque_signed_data(ca: TestCa, bob_signing: Issued) -> None:
    content = b"Content-Type: text/plain\r\n\r\nopaque hello\r\n"
    der = build_signed_data(
        content,
        signer=bob_signing.key,
        signer_certificate=bob_signing.certificate,
        certificates=[ca.issuing.certificate],
    )
    body = base64.encodebytes(der).replace(b"\n", b"\r\n")
    message = (
        b"From: bob@campus.example\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: application/pkcs7-mime; smime-type=signed-data; name=smime.p7m\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + body
    )
    assert _verify(message, ca).content == content


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda m: m.replace(b"multipart/signed", b"text/plain"), id="fail-not-signed"),
        pytest.param(lambda m: m.rsplit(b"--", 2)[0], id="fail-no-closing-boundary"),
        pytest.param(lambda m: m.replace(b'; boundary="', b'; boundery="'), id="fail-no-boundary"),
        pytest.param(
            lambda m: m.replace(b'protocol="application/pkcs7-signature"', b'protocol="x"'),
            id="fail-protocol",
        ),
        pytest.param(lambda m: m.replace(b"MII", b"M*I", 1), id="fail-bad-base64"),
        pytest.param(lambda m: m.replace(b"MII", b"AAA", 1), id="fail-not-cms"),
        pytest.param(lambda m: b"not a header\r\n" + m, id="fail-header-line"),
    ],
)
def test_verify_reports_malformed_messages(signed: bytes, ca: TestCa, mangle) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(MalformedMessage):
        _verify(mangle(signed), ca)


def test_signed_part_bytes_are_what_multipart_parts_returns(signed: bytes, ca: TestCa) -> None:
    parts = multipart_parts(parse_entity(signed))
    assert len(parts) == 2
    assert parts[0] == _verify(signed, ca).content


def _with_embedded_crls(signed: bytes, crls: list[bytes]) -> bytes:
    """Put CRLs into the SignedData's crls field (unsigned, so the signature still holds)."""
    from asn1crypto import cms as asn1_cms
    from asn1crypto import crl as asn1_crl

    header, _, rest = signed.partition(b"Content-Transfer-Encoding: base64\r\nContent-Disposition")
    prefix, _, tail = rest.partition(b"\r\n\r\n")
    encoded, _, closing = tail.partition(b"\r\n\r\n")
    info = asn1_cms.ContentInfo.load(base64.b64decode(encoded))
    info["content"]["crls"] = [
        asn1_cms.RevocationInfoChoice(name="crl", value=asn1_crl.CertificateList.load(c)) for c in crls
    ]
    body = base64.encodebytes(info.dump(force=True)).replace(b"\n", b"\r\n")
    return (
        header
        + b"Content-Transfer-Encoding: base64\r\nContent-Disposition"
        + prefix
        + b"\r\n\r\n"
        + body
        + b"\r\n"
        + closing
    )


def test_verify_uses_crls_embedded_in_the_signature(signed: bytes, ca: TestCa, bob_signing: Issued) -> None:
    assert _verify(_with_embedded_crls(signed, ca.crls()), ca, crls=[]).from_matches
    with pytest.raises(CertificateRevoked):
        _verify(_with_embedded_crls(signed, ca.crls([bob_signing.certificate])), ca, crls=[])
