"""SignedData: our signatures verify in openssl, openssl's verify with ours (RFC 5652 §5)."""

from __future__ import annotations

from pathlib import Path

import pytest
from asn1crypto import cms as asn1_cms
from asn1crypto import core

from campusca.pki import cms
from campusca.pki.errors import CmsDecodeError, CmsSignatureInvalid, CmsUnsupportedAlgorithm
from tests.unit.pki.test_cms_support import NOW, Party, ec_party, openssl, other_rsa_party, rsa_party

__all__ = ["ec_party", "other_rsa_party", "rsa_party"]  # fixtures used by name

SCEP_TRANSACTION_ID = "2.16.840.1.113733.1.9.7"


@pytest.fixture(params=["rsa", "ec"])
def party(request: pytest.FixtureRequest, rsa_party: Party, ec_party: Party) -> Party:
    return rsa_party if request.param == "rsa" else ec_party


@pytest.mark.parametrize("digest", ["sha1", "sha256", "sha384", "sha512"])
def test_build_signed_data_round_trips_with_each_digest(party: Party, digest: str) -> None:
    der = cms.build_signed_data(
        b"payload", signer=party.key, signer_certificate=party.certificate, digest_algorithm=digest
    )
    message = cms.parse_signed_data(der)
    assert message.content == b"payload"
    assert message.digest_algorithm == digest
    assert message.signer_certificate == party.certificate
    assert message.content_type == "1.2.840.113549.1.7.1"
    assert message.signing_time is None


def test_build_signed_data_carries_signing_time_and_extra_attributes(rsa_party: Party) -> None:
    extra = asn1_cms.CMSAttribute({"type": SCEP_TRANSACTION_ID, "values": [core.PrintableString("tx-42")]})
    der = cms.build_signed_data(
        b"x",
        signer=rsa_party.key,
        signer_certificate=rsa_party.certificate,
        extra_signed_attributes=[extra],
        signing_time=NOW,
    )
    message = cms.parse_signed_data(der)
    assert message.signing_time == NOW
    (value,) = message.signed_attributes[SCEP_TRANSACTION_ID]
    assert core.PrintableString.load(value).native == "tx-42"


@pytest.mark.parametrize("binary", [False, True], ids=["ok-text", "ok-binary"])
def test_openssl_verifies_our_signed_data(party: Party, tmp_path: Path, binary: bool) -> None:
    content = b"line one\r\nline two\r\n"
    der = cms.build_signed_data(
        content, signer=party.key, signer_certificate=party.certificate, signing_time=NOW
    )
    (tmp_path / "signed.der").write_bytes(der)
    flags = ["-binary"] if binary else []
    out = openssl("cms", "-verify", "-noverify", *flags, "-inform", "DER", "-in", tmp_path / "signed.der")
    assert out == content


def test_openssl_verifies_our_detached_signature(party: Party, tmp_path: Path) -> None:
    der = cms.build_signed_data(
        b"detached", signer=party.key, signer_certificate=party.certificate, detached=True
    )
    (tmp_path / "sig.der").write_bytes(der)
    (tmp_path / "content").write_bytes(b"detached")
    args = ("-inform", "DER", "-in", tmp_path / "sig.der", "-content", tmp_path / "content")
    assert openssl("cms", "-verify", "-noverify", "-binary", *args) == b"detached"


@pytest.mark.parametrize(
    "flags",
    [[], ["-nosmimecap"], ["-noattr"], ["-md", "sha512"], ["-md", "sha1"]],
    ids=["ok-default", "ok-nosmimecap", "ok-noattr", "ok-sha512", "ok-sha1"],
)
def test_parse_signed_data_verifies_openssl_signature(party: Party, flags: list[str]) -> None:
    signer = ("-signer", party.cert_path, "-inkey", party.key_path)
    der = openssl(
        "cms", "-sign", "-nodetach", "-binary", *flags, *signer, "-outform", "DER", stdin=b"from openssl"
    )
    message = cms.parse_signed_data(der)
    assert message.content == b"from openssl"
    assert message.signer_certificate == party.certificate
    assert bool(message.signed_attributes) is ("-noattr" not in flags)


def test_parse_signed_data_verifies_openssl_detached_signature(rsa_party: Party) -> None:
    signer = ("-signer", rsa_party.cert_path, "-inkey", rsa_party.key_path)
    der = openssl("cms", "-sign", "-binary", *signer, "-outform", "DER", stdin=b"mail body")
    message = cms.parse_signed_data(der, detached_content=b"mail body")
    assert message.content == b"mail body"
    with pytest.raises(CmsSignatureInvalid):
        cms.parse_signed_data(der, detached_content=b"mail body!")
    with pytest.raises(CmsSignatureInvalid):
        cms.parse_signed_data(der)


def test_parse_signed_data_verifies_openssl_subject_key_identifier_signer(rsa_party: Party) -> None:
    signer = ("-signer", rsa_party.cert_path, "-inkey", rsa_party.key_path, "-keyid")
    der = openssl("cms", "-sign", "-nodetach", "-binary", *signer, "-outform", "DER", stdin=b"ski")
    signer_info = asn1_cms.ContentInfo.load(der)["content"]["signer_infos"][0]
    assert signer_info["sid"].name == "subject_key_identifier"
    assert cms.parse_signed_data(der).signer_certificate == rsa_party.certificate


def test_parse_signed_data_verifies_openssl_streamed_ber(rsa_party: Party) -> None:
    signer = ("-signer", rsa_party.cert_path, "-inkey", rsa_party.key_path)
    der = openssl(
        "cms", "-sign", "-nodetach", "-binary", "-stream", *signer, "-outform", "DER", stdin=b"s" * 3000
    )
    assert der[1] == 0x80  # indefinite length: really BER
    assert cms.parse_signed_data(der).content == b"s" * 3000


def test_parse_signed_data_rejects_tampered_content(party: Party) -> None:
    der = cms.build_signed_data(b"pay 10 EUR", signer=party.key, signer_certificate=party.certificate)
    tampered = der.replace(b"pay 10 EUR", b"pay 99 EUR")
    with pytest.raises(CmsSignatureInvalid):
        cms.parse_signed_data(tampered)


def test_parse_signed_data_rejects_tampered_openssl_content_without_attributes(rsa_party: Party) -> None:
    signer = ("-signer", rsa_party.cert_path, "-inkey", rsa_party.key_path, "-noattr")
    der = openssl("cms", "-sign", "-nodetach", "-binary", *signer, "-outform", "DER", stdin=b"pay 10 EUR")
    with pytest.raises(CmsSignatureInvalid):
        cms.parse_signed_data(der.replace(b"pay 10 EUR", b"pay 99 EUR"))


def test_parse_signed_data_rejects_signature_by_another_key(rsa_party: Party, other_rsa_party: Party) -> None:
    der = cms.build_signed_data(b"x", signer=rsa_party.key, signer_certificate=rsa_party.certificate)
    info = asn1_cms.ContentInfo.load(der)
    forged = cms.build_signed_data(
        b"x", signer=other_rsa_party.key, signer_certificate=other_rsa_party.certificate
    )
    forged_info = asn1_cms.ContentInfo.load(forged)
    info["content"]["signer_infos"][0]["signature"] = forged_info["content"]["signer_infos"][0][
        "signature"
    ].native
    with pytest.raises(CmsSignatureInvalid):
        cms.parse_signed_data(info.dump(force=True))


def test_parse_signed_data_without_content_checks_digest_of_empty_string(rsa_party: Party) -> None:
    der = cms.build_signed_data(None, signer=rsa_party.key, signer_certificate=rsa_party.certificate)
    message = cms.parse_signed_data(der)
    assert message.content is None


def test_parse_signed_data_rejects_unknown_digest(rsa_party: Party) -> None:
    der = cms.build_signed_data(b"x", signer=rsa_party.key, signer_certificate=rsa_party.certificate)
    info = asn1_cms.ContentInfo.load(der)
    info["content"]["signer_infos"][0]["digest_algorithm"] = {"algorithm": "md5"}
    with pytest.raises(CmsUnsupportedAlgorithm):
        cms.parse_signed_data(info.dump(force=True))


def test_parse_signed_data_rejects_certs_only_message(rsa_party: Party) -> None:
    with pytest.raises(CmsDecodeError):
        cms.parse_signed_data(cms.build_certs_only([rsa_party.certificate]))


def test_build_signed_data_rejects_certificate_of_another_key(
    rsa_party: Party, other_rsa_party: Party
) -> None:
    with pytest.raises(ValueError, match="signer_certificate"):
        cms.build_signed_data(b"x", signer=rsa_party.key, signer_certificate=other_rsa_party.certificate)


def test_parse_signed_data_uses_extra_certificates_when_signer_left_its_own_out(rsa_party: Party) -> None:
    signer = ("-signer", rsa_party.cert_path, "-inkey", rsa_party.key_path, "-nocerts")
    der = openssl("cms", "-sign", "-nodetach", "-binary", *signer, "-outform", "DER", stdin=b"no certs")
    with pytest.raises(CmsSignatureInvalid, match="sid"):
        cms.parse_signed_data(der)
    message = cms.parse_signed_data(der, extra_certificates=[rsa_party.certificate])
    assert (message.content, message.signer_certificate, message.certificates) == (
        b"no certs",
        rsa_party.certificate,
        (),
    )
