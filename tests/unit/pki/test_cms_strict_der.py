"""The strict-DER fast paths of the CMS parsers give the general parser's verdict on every input.

`parse_signed_data` and `decrypt_enveloped_data` first read plain DER without asn1crypto
(pki/_strict_der.py) and fall back to asn1crypto for anything else. These tests hold that the usual
messages (SCEP requests, S/MIME, OpenSSL's output) take the fast path, that it returns exactly what
the general parser returns, and that on damaged input the result or the error is the same either way.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from asn1crypto import cms as asn1_cms
from asn1crypto import core as asn1_core
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campusca.pki import _cms_enveloped, _cms_signed, cms
from campusca.pki import _strict_der as strict
from campusca.pki.cms import ContentCipher, KeyTransport
from campusca.pki.errors import PkiError
from tests.support.scep_client import build_pkcs_req, make_transient_signer
from tests.unit.pki.test_cms_support import (
    NOW,
    Party,
    damaged,
    ec_party,
    openssl,
    other_rsa_party,
    rsa_party,
    to_indefinite_ber,
)
from tests.unit.scep.test_scep_go_pkcs7 import go_style_envelope

__all__ = ["ec_party", "other_rsa_party", "rsa_party"]  # fixtures used by name

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
CBC_CIPHERS = [ContentCipher.AES_128_CBC, ContentCipher.AES_256_CBC, ContentCipher.DES_EDE3_CBC]


def _general_signed(data: bytes, **options: object) -> cms.SignedMessage:
    return _cms_signed._parse_general(
        data, options.get("detached_content"), tuple(options.get("extra_certificates", ()))
    )


def _decrypt(data: bytes, party: Party) -> cms.DecryptedContent:
    return cms.decrypt_enveloped_data(
        data,
        recipient_certificate=party.certificate,
        decrypter=party.key,
        allowed_ciphers=frozenset(ContentCipher),
    )


def _general_decrypt(monkeypatch: pytest.MonkeyPatch, data: bytes, party: Party) -> cms.DecryptedContent:
    with monkeypatch.context() as patched:
        patched.setattr(_cms_enveloped, "_strict_envelope", lambda *_: None)
        return _decrypt(data, party)


def _outcome(parse: Callable[[], object]) -> object:
    try:
        return parse()
    except PkiError as error:
        return (type(error), str(error))


@pytest.fixture(scope="module")
def signed_messages(
    rsa_party: Party, ec_party: Party, tmp_path_factory: pytest.TempPathFactory
) -> list[bytes]:
    """SignedData as campusca, a SCEP client and OpenSSL write them: all plain DER."""
    built = [
        cms.build_signed_data(b"content", signer=party.key, signer_certificate=party.certificate, **options)
        for party in (rsa_party, ec_party)
        for options in (
            {"digest_algorithm": "sha256", "signing_time": NOW},
            {"digest_algorithm": "sha1"},
            {"digest_algorithm": "sha512", "content_type": "1.2.840.113549.1.9.16.1.4"},
        )
    ]
    scep_request = build_pkcs_req_for(rsa_party)
    content = tmp_path_factory.mktemp("openssl") / "content.txt"
    content.write_bytes(b"signed by OpenSSL\r\n")
    by_openssl = openssl(
        "cms", "-sign", "-binary", "-nodetach", "-outform", "DER", "-in", content,
        "-signer", rsa_party.cert_path, "-inkey", rsa_party.key_path,
    )  # fmt: skip
    return [*built, scep_request, by_openssl]


def build_pkcs_req_for(party: Party) -> bytes:
    """A SCEP PKCSReq as the test client (and the benches) send it, encrypted to `party`."""
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "strict")]))
        .sign(party.key, hashes.SHA256())
    )
    message = build_pkcs_req(
        csr,
        signer_key=party.key,
        signer_certificate=make_transient_signer(party.key),
        recipient=party.certificate,
        cipher=ContentCipher.AES_128_CBC,
        digest="sha256",
        transaction_id="strict-1",
    )
    return message.der


@pytest.fixture(scope="module")
def envelopes(rsa_party: Party, other_rsa_party: Party) -> list[bytes]:
    """EnvelopedData to an RSA recipient as campusca, Go's pkcs7 and OpenSSL write them, and to two."""
    built = [
        cms.build_enveloped_data(b"secret content", [rsa_party.certificate], cipher=c) for c in CBC_CIPHERS
    ]
    by_openssl = openssl(
        "cms", "-encrypt", "-binary", "-aes-256-cbc", "-outform", "DER", rsa_party.cert_path,
        stdin=b"secret from OpenSSL",
    )  # fmt: skip
    # scepclient and certmonger encrypt to every certificate GetCACert returned: ours is not the first.
    both = cms.build_enveloped_data(b"to both", [other_rsa_party.certificate, rsa_party.certificate])
    return [*built, go_style_envelope(built[0]), by_openssl, both]


def test_usual_signed_messages_take_the_fast_path_with_the_general_result(
    signed_messages: list[bytes],
) -> None:
    for data in signed_messages:
        fast = _cms_signed._parse_strict_der(data, None, ())
        assert fast is not None
        assert fast == _general_signed(data)
        assert cms.parse_signed_data(data) == fast


def test_detached_signature_takes_the_fast_path(rsa_party: Party) -> None:
    data = cms.build_signed_data(
        b"body", signer=rsa_party.key, signer_certificate=rsa_party.certificate, detached=True
    )
    fast = _cms_signed._parse_strict_der(data, b"body", ())
    assert fast is not None and fast.content == b"body"
    assert fast == _general_signed(data, detached_content=b"body")


def test_signer_left_out_is_found_among_extra_certificates(
    rsa_party: Party, tmp_path_factory: pytest.TempPathFactory
) -> None:
    content = tmp_path_factory.mktemp("nocerts") / "content.txt"
    content.write_bytes(b"no certificates\r\n")
    data = openssl(
        "cms", "-sign", "-binary", "-nodetach", "-nocerts", "-outform", "DER", "-in", content,
        "-signer", rsa_party.cert_path, "-inkey", rsa_party.key_path,
    )  # fmt: skip
    assert _cms_signed._parse_strict_der(data, None, ()) is None  # no signer: the general parser refuses
    fast = _cms_signed._parse_strict_der(data, None, (rsa_party.certificate,))
    assert fast is not None
    assert fast == _general_signed(data, extra_certificates=(rsa_party.certificate,))


def test_ber_goes_the_general_way(rsa_party: Party) -> None:
    data = cms.build_signed_data(b"x", signer=rsa_party.key, signer_certificate=rsa_party.certificate)
    ber = to_indefinite_ber(data, keep_definite=lambda path: len(path) > 4)
    assert _cms_signed._parse_strict_der(ber, None, ()) is None
    assert cms.parse_signed_data(ber).content == b"x"


def test_a_signature_that_fails_is_left_to_the_general_parser(rsa_party: Party) -> None:
    data = bytearray(
        cms.build_signed_data(b"x", signer=rsa_party.key, signer_certificate=rsa_party.certificate)
    )
    data[-1] ^= 1
    assert _cms_signed._parse_strict_der(bytes(data), None, ()) is None


def test_usual_envelopes_take_the_fast_path_with_the_general_result(
    monkeypatch: pytest.MonkeyPatch, rsa_party: Party, envelopes: list[bytes]
) -> None:
    for data in envelopes:
        assert (
            _cms_enveloped._strict_envelope(data, rsa_party.certificate, frozenset(ContentCipher)) is not None
        )
        fast = _decrypt(data, rsa_party)
        assert fast == _general_decrypt(monkeypatch, data, rsa_party)
        assert fast.key_transport is KeyTransport.RSA_PKCS1V15


def test_oaep_and_disallowed_ciphers_go_the_general_way(rsa_party: Party) -> None:
    oaep = cms.build_enveloped_data(b"x", [rsa_party.certificate], key_transport=KeyTransport.RSA_OAEP_SHA256)
    aes = cms.build_enveloped_data(b"x", [rsa_party.certificate], cipher=ContentCipher.AES_128_CBC)
    assert _cms_enveloped._strict_envelope(oaep, rsa_party.certificate, frozenset(ContentCipher)) is None
    assert _cms_enveloped._strict_envelope(aes, rsa_party.certificate, frozenset()) is None


def test_typed_attribute_tags_are_asn1cryptos() -> None:
    """The fast path refuses attribute values by the same outer tags as asn1crypto's typed attributes."""
    expected: dict[str, int | None] = {}
    for name, spec in asn1_cms.CMSAttribute._oid_specs.items():
        dotted = next(oid for oid, known in asn1_cms.CMSAttributeType._map.items() if known == name)
        child = spec._child_spec
        tag = (
            None if issubclass(child, asn1_core.Choice) else child.class_ << 6 | child.method << 5 | child.tag
        )
        expected[dotted] = tag
    for checked_by_value in ("1.2.840.113549.1.9.3", "1.2.840.113549.1.9.4", "1.2.840.113549.1.9.5"):
        del expected[checked_by_value]  # contentType, messageDigest, signingTime
    assert expected == _cms_signed._TYPED_ATTRIBUTE_TAGS


@pytest.mark.parametrize(
    "data",
    [
        b"\x30\x81\x05" + b"\x05\x00" * 2 + b"\x00",  # long form for a short length
        b"\x30\x82\x00\x81" + b"\x00" * 0x81,  # a length with a leading zero octet
        b"\x30\x80\x05\x00\x00\x00",  # indefinite
        b"\x1f\x21\x00",  # high tag number
        b"\x30\x05\x05\x00",  # longer than the data
        b"\x06\x02\x80\x01",  # a padded OID arc
    ],
    ids=[
        "fail-long-form",
        "fail-leading-zero",
        "fail-indefinite",
        "fail-high-tag",
        "fail-overrun",
        "fail-oid",
    ],
)
def test_the_reader_refuses_what_is_not_strict_der(data: bytes) -> None:
    with pytest.raises(strict.NotStrictDer):
        for value in strict.tlvs(data, 0, len(data)):
            if value.tag == 0x06:
                strict.oid_of(data, value)


def test_oid_of_reads_multi_octet_arcs() -> None:
    for dotted in ("1.2.840.113549.1.7.2", "2.16.840.1.113733.1.9.7", "2.999.3", "0.9.2342"):
        encoded = cms.tlv(0x06, bytes(_oid_body(dotted)))
        assert strict.oid_of(encoded, strict.tlvs(encoded, 0, len(encoded))[0]) == dotted


def _oid_body(dotted: str) -> bytearray:
    arcs = [int(arc) for arc in dotted.split(".")]
    body = bytearray()
    for arc in [40 * arcs[0] + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        while arc := arc >> 7:
            chunk.append(0x80 | (arc & 0x7F))
        body.extend(reversed(chunk))
    return body


@FUZZ
@given(
    which=st.integers(0, 100), position=st.integers(0, 10_000), value=st.integers(0, 255), cut=st.booleans()
)
def test_damaged_signed_messages_get_the_same_verdict_either_way(
    signed_messages: list[bytes], which: int, position: int, value: int, cut: bool
) -> None:
    data = damaged(signed_messages[which % len(signed_messages)], position, value, cut)
    assert _outcome(lambda: cms.parse_signed_data(data)) == _outcome(lambda: _general_signed(data))


@FUZZ
@given(
    which=st.integers(0, 100), position=st.integers(0, 10_000), value=st.integers(0, 255), cut=st.booleans()
)
def test_damaged_envelopes_get_the_same_verdict_either_way(
    monkeypatch: pytest.MonkeyPatch,
    rsa_party: Party,
    envelopes: list[bytes],
    which: int,
    position: int,
    value: int,
    cut: bool,
) -> None:
    data = damaged(envelopes[which % len(envelopes)], position, value, cut)
    assert _outcome(lambda: _decrypt(data, rsa_party)) == _outcome(
        lambda: _general_decrypt(monkeypatch, data, rsa_party)
    )
