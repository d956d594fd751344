"""The hand-written DER of the CMS builders equals asn1crypto's encoding of the same structure, byte for byte.

Each test builds a message with campusca, takes the values that are random or key-dependent out of
it (signature, encrypted key, IV, ciphertext), builds the same structure from them with asn1crypto
(as the builders did before pki/_der.py), and compares the bytes.
"""

from __future__ import annotations

import datetime

import pytest
from asn1crypto import algos, cms, core
from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from campusca.pki import _der as der
from campusca.pki import cms as campus_cms
from campusca.scep._attributes import octets_attribute, printable_attribute, utf8_attribute
from tests.unit.pki.test_cms_support import NOW, Party, ec_party, other_rsa_party, rsa_party

__all__ = ["ec_party", "other_rsa_party", "rsa_party"]  # fixtures used by name

DER = serialization.Encoding.DER
TRANSACTION_ID = "2.16.840.1.113733.1.9.7"


def _asn1(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(DER))


def _issuer_and_serial(certificate: x509.Certificate) -> cms.IssuerAndSerialNumber:
    tbs = _asn1(certificate)["tbs_certificate"]
    return cms.IssuerAndSerialNumber({"issuer": tbs["issuer"], "serial_number": tbs["serial_number"]})


class _InOrder(cms.CertificateSet):  # type: ignore[misc]
    def _set_contents(self, force: bool = False) -> None:
        self._contents = b"".join(child.dump(force=force) for child in self)
        self._header = None
        self._trailer = b""


def _certificates(certificates: list[x509.Certificate]) -> _InOrder:
    unique = list(dict.fromkeys(c.public_bytes(DER) for c in certificates))
    return _InOrder(
        [cms.CertificateChoices(name="certificate", value=asn1_x509.Certificate.load(c)) for c in unique]
    )


def _reference_signed(built: bytes, party: Party, content: bytes | None, **options: object) -> bytes:
    """asn1crypto's encoding of the SignedData in `built`, with `built`'s own signature and attributes."""
    signer_info = cms.ContentInfo.load(built)["content"]["signer_infos"][0]
    digest_algorithm = str(options.get("digest_algorithm", "sha256"))
    content_type = str(options.get("content_type", "1.2.840.113549.1.7.1"))
    signing_time = options.get("signing_time")
    digest_value = next(
        a["values"][0].native for a in signer_info["signed_attrs"] if a["type"].native == "message_digest"
    )
    attributes = [
        cms.CMSAttribute({"type": "content_type", "values": [content_type]}),
        cms.CMSAttribute({"type": "message_digest", "values": [digest_value]}),
    ]
    if isinstance(signing_time, datetime.datetime):
        choice = "utc_time" if 1950 <= signing_time.year < 2050 else "generalized_time"
        attributes.append(
            cms.CMSAttribute({"type": "signing_time", "values": [cms.Time(name=choice, value=signing_time)]})
        )
    attributes += [  # campusca's SCEP attributes are DER; asn1crypto gets them parsed
        cms.CMSAttribute.load(a) if isinstance(a, bytes) else a
        for a in options.get("extra_signed_attributes", ())  # type: ignore[attr-defined]
    ]
    if isinstance(party.key, rsa.RSAPrivateKey):
        signature_algorithm = {"algorithm": "rsassa_pkcs1v15", "parameters": core.Null()}
    else:
        signature_algorithm = {"algorithm": f"{digest_algorithm}_ecdsa"}
    encap: dict[str, object] = {"content_type": content_type}
    if content is not None and not options.get("detached"):
        encap["content"] = content
    signed = cms.SignedData(
        {
            "version": "v1" if content_type == "1.2.840.113549.1.7.1" else "v3",
            "digest_algorithms": [{"algorithm": digest_algorithm}],
            "encap_content_info": encap,
            "certificates": _certificates([party.certificate, *options.get("certificates", ())]),  # type: ignore[misc]
            "signer_infos": [
                {
                    "version": "v1",
                    "sid": cms.SignerIdentifier(
                        name="issuer_and_serial_number", value=_issuer_and_serial(party.certificate)
                    ),
                    "digest_algorithm": {"algorithm": digest_algorithm},
                    "signed_attrs": cms.CMSAttributes(attributes),
                    "signature_algorithm": signature_algorithm,
                    "signature": signer_info["signature"].native,
                }
            ],
        }
    )
    encoded: bytes = cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump()
    return encoded


@pytest.mark.parametrize("digest", ["sha1", "sha256", "sha384", "sha512"])
@pytest.mark.parametrize("kind", ["rsa", "ec"])
def test_signed_data_equals_asn1crypto(kind: str, digest: str, rsa_party: Party, ec_party: Party) -> None:
    party = rsa_party if kind == "rsa" else ec_party
    options: dict[str, object] = {
        "digest_algorithm": digest,
        "signing_time": NOW,
        "extra_signed_attributes": [
            printable_attribute(TRANSACTION_ID, "tx-1"),
            octets_attribute("2.16.840.1.113733.1.9.5", b"\x00" * 16),
            utf8_attribute("2.16.840.1.113733.1.9.4", "ünïcode"),
        ],
    }
    built = campus_cms.build_signed_data(
        b"content", signer=party.key, signer_certificate=party.certificate, **options
    )
    assert built == _reference_signed(built, party, b"content", **options)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"detached": True},
        {"content_type": "1.2.840.113549.1.9.16.1.4"},
        {"signing_time": datetime.datetime(2051, 6, 1, 8, 30, 5, 120000, tzinfo=datetime.UTC)},
        {"signing_time": datetime.datetime(1999, 12, 31, 23, 59, 59, tzinfo=datetime.UTC)},
    ],
)
def test_signed_data_options_equal_asn1crypto(
    options: dict[str, object], rsa_party: Party, other_rsa_party: Party
) -> None:
    options = {**options, "certificates": [other_rsa_party.certificate, rsa_party.certificate]}
    built = campus_cms.build_signed_data(
        b"x" * 300, signer=rsa_party.key, signer_certificate=rsa_party.certificate, **options
    )
    assert built == _reference_signed(built, rsa_party, b"x" * 300, **options)


def test_signed_data_without_content_equals_asn1crypto(rsa_party: Party) -> None:
    built = campus_cms.build_signed_data(None, signer=rsa_party.key, signer_certificate=rsa_party.certificate)
    assert built == _reference_signed(built, rsa_party, None)


def test_der_attributes_count_as_extra_signed_attributes(rsa_party: Party) -> None:
    as_object = cms.CMSAttribute({"type": TRANSACTION_ID, "values": [core.PrintableString("tx-2")]})
    one, other = (
        campus_cms.build_signed_data(
            b"c", signer=rsa_party.key, signer_certificate=rsa_party.certificate, extra_signed_attributes=[a]
        )
        for a in (as_object, printable_attribute(TRANSACTION_ID, "tx-2"))
    )
    assert one == other


@pytest.mark.parametrize("text", ["tx-1", "0123456789" * 8, "é-ß (latin-1)", ""])
def test_scep_attributes_are_the_bytes_asn1crypto_writes(text: str) -> None:
    def reference(oid: str, value: core.Asn1Value) -> bytes:
        return cms.CMSAttribute({"type": oid, "values": [value]}).dump()

    assert printable_attribute(TRANSACTION_ID, text) == reference(TRANSACTION_ID, core.PrintableString(text))
    fail_info_text = "2.16.840.1.113733.1.9.4"
    assert utf8_attribute(fail_info_text, text + "ünï") == reference(
        fail_info_text, core.UTF8String(text + "ünï")
    )
    nonce = "2.16.840.1.113733.1.9.5"
    octets = text.encode()
    assert octets_attribute(nonce, octets) == reference(nonce, core.OctetString(octets))


def test_certs_only_equals_asn1crypto(rsa_party: Party, ec_party: Party) -> None:
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(rsa_party.certificate.subject)
        .last_update(NOW)
        .next_update(NOW + datetime.timedelta(days=1))
        .sign(rsa_party.key, hashes.SHA256())
    )
    certificates = [ec_party.certificate, rsa_party.certificate, ec_party.certificate]
    built = campus_cms.build_certs_only(certificates, [crl])
    reference = cms.ContentInfo(
        {
            "content_type": "signed_data",
            "content": cms.SignedData(
                {
                    "version": "v1",
                    "digest_algorithms": [],
                    "encap_content_info": {"content_type": "data"},
                    "certificates": _certificates(certificates),
                    "crls": [
                        cms.RevocationInfoChoice(
                            name="crl", value=asn1_crl.CertificateList.load(crl.public_bytes(DER))
                        )
                    ],
                    "signer_infos": [],
                }
            ),
        }
    ).dump()
    assert built == reference
    assert campus_cms.parse_certs_only(built) == ((ec_party.certificate, rsa_party.certificate), (crl,))


@pytest.mark.parametrize("transport", list(campus_cms.KeyTransport))
@pytest.mark.parametrize(
    "cipher",
    [
        campus_cms.ContentCipher.AES_128_CBC,
        campus_cms.ContentCipher.AES_256_CBC,
        campus_cms.ContentCipher.DES_EDE3_CBC,
    ],
)
def test_enveloped_data_equals_asn1crypto(
    cipher: campus_cms.ContentCipher,
    transport: campus_cms.KeyTransport,
    rsa_party: Party,
    other_rsa_party: Party,
    ec_party: Party,
) -> None:
    recipients = [rsa_party.certificate, other_rsa_party.certificate, ec_party.certificate]
    built = campus_cms.build_enveloped_data(
        b"secret" * 50, recipients, cipher=cipher, key_transport=transport
    )
    parsed = cms.ContentInfo.load(built)["content"]
    encrypted = parsed["encrypted_content_info"]
    infos = []
    for info in parsed["recipient_infos"]:
        if info.name == "kari":
            infos.append(cms.RecipientInfo.load(info.dump()))
            continue
        certificate = next(
            c for c in recipients[:2] if _issuer_and_serial(c).dump() == info.chosen["rid"].chosen.dump()
        )
        infos.append(
            cms.RecipientInfo(
                name="ktri",
                value={
                    "version": "v0",
                    "rid": cms.RecipientIdentifier(
                        name="issuer_and_serial_number", value=_issuer_and_serial(certificate)
                    ),
                    "key_encryption_algorithm": _key_encryption(transport),
                    "encrypted_key": info.chosen["encrypted_key"].native,
                },
            )
        )
    reference = cms.ContentInfo(
        {
            "content_type": "enveloped_data",
            "content": cms.EnvelopedData(
                {
                    "version": "v2",
                    "recipient_infos": infos,
                    "encrypted_content_info": {
                        "content_type": "data",
                        "content_encryption_algorithm": {
                            "algorithm": cipher.value,
                            "parameters": core.OctetString(
                                encrypted["content_encryption_algorithm"]["parameters"].native
                            ),
                        },
                        "encrypted_content": encrypted["encrypted_content"].native,
                    },
                }
            ),
        }
    ).dump()
    assert built == reference


def _key_encryption(transport: campus_cms.KeyTransport) -> cms.KeyEncryptionAlgorithm:
    if transport is campus_cms.KeyTransport.RSA_PKCS1V15:
        return cms.KeyEncryptionAlgorithm({"algorithm": "rsaes_pkcs1v15", "parameters": core.Null()})
    name = "sha1" if transport is campus_cms.KeyTransport.RSA_OAEP_SHA1 else "sha256"
    parameters = algos.RSAESOAEPParams(
        {
            "hash_algorithm": {"algorithm": name},
            "mask_gen_algorithm": {"algorithm": "mgf1", "parameters": {"algorithm": name}},
        }
    )
    return cms.KeyEncryptionAlgorithm({"algorithm": "rsaes_oaep", "parameters": parameters})


def test_ktri_only_envelope_is_version_0(rsa_party: Party) -> None:
    built = campus_cms.build_enveloped_data(b"m", [rsa_party.certificate])
    assert cms.ContentInfo.load(built)["content"]["version"].native == "v0"


@pytest.mark.parametrize(
    "dotted",
    ["1.2.840.113549.1.7.2", "2.5.4.3", "2.16.840.1.113733.1.9.7", "2.999.1", "1.3.6.1.4.1.311.20.2"],
)
def test_oid_equals_asn1crypto(dotted: str) -> None:
    assert der.oid(dotted) == core.ObjectIdentifier(dotted).dump()


@pytest.mark.parametrize("value", [0, 1, 127, 128, 255, 256, -1, -128, -129, 2**159 + 12345])
def test_integer_equals_asn1crypto(value: int) -> None:
    assert der.integer(value) == core.Integer(value).dump()


@pytest.mark.parametrize("size", [0, 1, 127, 128, 255, 256, 65535, 65536])
def test_long_values_equal_asn1crypto(size: int) -> None:
    assert der.octet_string(b"a" * size) == core.OctetString(b"a" * size).dump()


def test_issuer_and_serial_keeps_the_certificates_own_bytes(rsa_party: Party, ec_party: Party) -> None:
    for certificate in (rsa_party.certificate, ec_party.certificate):
        assert der.issuer_and_serial(certificate) == _issuer_and_serial(certificate).dump()
