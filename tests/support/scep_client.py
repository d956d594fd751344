"""A SCEP client for tests (RFC 8894 §3): builds requests the way real clients do, reads CertReps.

It imitates iOS (self-signed `CN=<UUID>` signer, AES-128-CBC, SHA-256/512, BER with indefinite
lengths), micromdm's scepclient (single DES, SHA-1, rsaEncryption parameters absent) and
certmonger (AES-256-CBC). The reply reader is as strict as Apple's: messageType, pkiStatus,
failInfo and transactionID must be PrintableStrings (tag 0x13).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from asn1crypto import cms as asn1_cms
from asn1crypto import core
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from campusca.pki import cms
from campusca.scep import (
    FailInfo,
    IssuerAndSerial,
    IssuerAndSubject,
    MessageType,
    PkiStatus,
    ScepOID,
    encode_issuer_and_serial,
    encode_issuer_and_subject,
)

PRINTABLE_STRING_TAG = 0x13
Attributes = Mapping[str, tuple[bytes, ...]]


@dataclass(frozen=True, slots=True)
class ClientMessage:
    """A pkiMessage as sent, with what the client must remember to check the reply."""

    der: bytes
    transaction_id: str
    sender_nonce: bytes


@dataclass(frozen=True, slots=True)
class CertRepReply:
    """A CertRep as a client reads it, after checking the signature and decrypting."""

    status: PkiStatus
    fail_info: FailInfo | None
    certificates: tuple[x509.Certificate, ...]
    crls: tuple[x509.CertificateRevocationList, ...]
    fail_info_text: str | None
    transaction_id: str
    sender_nonce: bytes
    recipient_nonce: bytes
    signer_certificate: x509.Certificate
    digest_algorithm: str
    content_cipher: cms.ContentCipher | None
    key_transport: cms.KeyTransport | None


def apple_transaction_id(public_key: rsa.RSAPublicKey) -> str:
    """iOS's transactionID: uppercase hex SHA-1 of the PKCS#1 RSAPublicKey (SecSCEP.c)."""
    pkcs1 = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    return hashlib.sha1(pkcs1).hexdigest().upper()  # noqa: S324 - Apple's identifier, not security


def make_transient_signer(
    csr_key: rsa.RSAPrivateKey, cn: str | None = None, *, organization: str | None = None
) -> x509.Certificate:
    """A self-signed signer certificate like iOS makes (`CN=<random UUID>`, KU digSig+keyEnc)."""
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization)] if organization else []
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, cn or str(uuid.uuid4()).upper()))
    name = x509.Name(attributes)
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(csr_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(csr_key, hashes.SHA256())
    )


def build_pki_message(
    message_data: bytes,
    *,
    message_type: MessageType,
    signer_key: rsa.RSAPrivateKey,
    signer_certificate: x509.Certificate,
    recipient: x509.Certificate,
    transaction_id: str,
    cipher: cms.ContentCipher = cms.ContentCipher.AES_128_CBC,
    digest: str = "sha256",
    key_transport: cms.KeyTransport = cms.KeyTransport.RSA_PKCS1V15,
    sender_nonce: bytes | None = None,
    ber_indefinite: bool = False,
    rsa_parameters_absent: bool = False,
) -> ClientMessage:
    """Envelope `message_data` to `recipient` and sign it with the SCEP attributes (RFC 8894 §3.2)."""
    nonce = sender_nonce if sender_nonce is not None else secrets.token_bytes(16)
    envelope = cms.build_enveloped_data(message_data, [recipient], cipher=cipher, key_transport=key_transport)
    if rsa_parameters_absent:
        envelope = _drop_rsa_parameters(envelope)
    if ber_indefinite:
        envelope = to_indefinite_enveloped(envelope)
    attributes = [
        _printable(ScepOID.MESSAGE_TYPE, str(int(message_type))),
        _printable(ScepOID.TRANSACTION_ID, transaction_id),
        asn1_cms.CMSAttribute({"type": ScepOID.SENDER_NONCE, "values": [core.OctetString(nonce)]}),
    ]
    signed = cms.build_signed_data(
        envelope,
        signer=signer_key,
        signer_certificate=signer_certificate,
        digest_algorithm=digest,
        extra_signed_attributes=attributes,
        signing_time=datetime.now(UTC).replace(microsecond=0),
    )
    if ber_indefinite:
        signed = to_indefinite_signed(signed)
    return ClientMessage(der=signed, transaction_id=transaction_id, sender_nonce=nonce)


def build_pkcs_req(
    csr: x509.CertificateSigningRequest,
    *,
    signer_key: rsa.RSAPrivateKey,
    signer_certificate: x509.Certificate,
    recipient: x509.Certificate,
    cipher: cms.ContentCipher = cms.ContentCipher.AES_128_CBC,
    digest: str = "sha256",
    transaction_id: str | None = None,
    message_type: MessageType = MessageType.PKCS_REQ,
    **options: object,
) -> ClientMessage:
    """A PKCSReq (or, with `message_type=RENEWAL_REQ`, a RenewalReq) carrying `csr`.

    The transactionID defaults to Apple's (hex SHA-1 of the CSR key). `options` go to
    `build_pki_message` (key_transport, sender_nonce, ber_indefinite, rsa_parameters_absent).
    """
    public_key = csr.public_key()
    if transaction_id is None and isinstance(public_key, rsa.RSAPublicKey):
        transaction_id = apple_transaction_id(public_key)
    return build_pki_message(
        csr.public_bytes(serialization.Encoding.DER),
        message_type=message_type,
        signer_key=signer_key,
        signer_certificate=signer_certificate,
        recipient=recipient,
        transaction_id=transaction_id or secrets.token_hex(20),
        cipher=cipher,
        digest=digest,
        **options,  # type: ignore[arg-type]
    )


def build_cert_poll(
    issuer: x509.Name, subject: x509.Name, *, transaction_id: str, **options: object
) -> ClientMessage:
    """A CertPoll (GetCertInitial) with IssuerAndSubject and the PKCSReq's transactionID (§3.3.3)."""
    data = encode_issuer_and_subject(IssuerAndSubject(issuer=issuer, subject=subject))
    return build_pki_message(
        data,
        message_type=MessageType.CERT_POLL,
        transaction_id=transaction_id,
        **options,  # type: ignore[arg-type]
    )


def build_get_cert(issuer: x509.Name, serial_number: int, **options: object) -> ClientMessage:
    """A GetCert for the certificate `issuer` + `serial_number` (§3.3.4)."""
    data = encode_issuer_and_serial(IssuerAndSerial(issuer=issuer, serial_number=serial_number))
    return build_pki_message(
        data,
        message_type=MessageType.GET_CERT,
        transaction_id=str(options.pop("transaction_id", secrets.token_hex(16))),
        **options,  # type: ignore[arg-type]
    )


def build_get_crl(issuer: x509.Name, serial_number: int, **options: object) -> ClientMessage:
    """A GetCRL naming a certificate whose CRL is wanted (§3.3.5)."""
    data = encode_issuer_and_serial(IssuerAndSerial(issuer=issuer, serial_number=serial_number))
    return build_pki_message(
        data,
        message_type=MessageType.GET_CRL,
        transaction_id=str(options.pop("transaction_id", secrets.token_hex(16))),
        **options,  # type: ignore[arg-type]
    )


def read_cert_rep(
    der: bytes,
    *,
    signer_key: rsa.RSAPrivateKey,
    signer_certificate: x509.Certificate,
    expected_signer: x509.Certificate | None = None,
) -> CertRepReply:
    """Verify a CertRep, check its attribute types like Apple does, and decrypt a SUCCESS.

    Raises AssertionError when the reply breaks a rule a real client enforces.
    """
    signed = cms.parse_signed_data(der)
    if expected_signer is not None:
        assert signed.signer_certificate == expected_signer, "CertRep signed by another certificate"
    attrs = signed.signed_attributes
    assert _printable_value(attrs, ScepOID.MESSAGE_TYPE) == "3", "messageType must be CertRep"
    status = PkiStatus(_printable_value(attrs, ScepOID.PKI_STATUS))
    fail_info_text = _optional_value(attrs, ScepOID.FAIL_INFO)
    fail_info = FailInfo(int(fail_info_text)) if fail_info_text is not None else None
    text_values = attrs.get(ScepOID.FAIL_INFO_TEXT)
    certificates: tuple[x509.Certificate, ...] = ()
    crls: tuple[x509.CertificateRevocationList, ...] = ()
    cipher = transport = None
    if status is PkiStatus.SUCCESS:
        assert signed.content is not None, "SUCCESS CertRep must carry an envelope"
        decrypted = cms.decrypt_enveloped_data(
            signed.content,
            recipient_certificate=signer_certificate,
            decrypter=signer_key,
            allowed_ciphers=frozenset(cms.ContentCipher),
        )
        certificates, crls = cms.parse_certs_only(decrypted.content)
        cipher, transport = decrypted.cipher, decrypted.key_transport
    else:
        assert signed.content is None, "FAILURE/PENDING CertRep must not carry content"
    if status is PkiStatus.FAILURE:
        assert fail_info is not None, "FAILURE CertRep must carry failInfo"
    return CertRepReply(
        status=status,
        fail_info=fail_info,
        certificates=certificates,
        crls=crls,
        fail_info_text=core.load(text_values[0]).native if text_values else None,
        transaction_id=_printable_value(attrs, ScepOID.TRANSACTION_ID),
        sender_nonce=_octets_value(attrs, ScepOID.SENDER_NONCE),
        recipient_nonce=_octets_value(attrs, ScepOID.RECIPIENT_NONCE),
        signer_certificate=signed.signer_certificate,
        digest_algorithm=signed.digest_algorithm,
        content_cipher=cipher,
        key_transport=transport,
    )


def _printable(oid: str, value: str) -> asn1_cms.CMSAttribute:
    return asn1_cms.CMSAttribute({"type": oid, "values": [core.PrintableString(value)]})


def _optional_value(attrs: Attributes, oid: str) -> str | None:
    return _printable_value(attrs, oid) if oid in attrs else None


def _printable_value(attrs: Attributes, oid: str) -> str:
    values = attrs[oid]
    assert len(values) == 1, f"attribute {oid} must have one value"
    encoded = values[0]
    # Apple reads these only as PrintableString with a short length (copy_signed_attr_printable_string_value).
    assert encoded[0] == PRINTABLE_STRING_TAG, f"attribute {oid} must be a PrintableString"
    assert encoded[1] < 0x80, f"attribute {oid} must use the short length form"
    return str(core.load(encoded).native)


def _octets_value(attrs: Attributes, oid: str) -> bytes:
    values = attrs[oid]
    assert len(values) == 1, f"attribute {oid} must have one value"
    value = core.load(values[0])
    assert isinstance(value, core.OctetString), f"attribute {oid} must be an OCTET STRING"
    return bytes(value.native)


def _drop_rsa_parameters(envelope: bytes) -> bytes:
    """Omit rsaEncryption's NULL parameters, as micromdm's scepclient 2.1.0 does.

    asn1crypto always writes the NULL back, so the DER is rewritten TLV by TLV.
    """
    with_null = bytes.fromhex("300d06092a864886f70d0101010500")
    without = bytes.fromhex("300b06092a864886f70d010101")

    def rewrite(tlv: bytes) -> bytes:
        if tlv == with_null:
            return without
        if not tlv[0] & 0x20:  # primitive
            return tlv
        return _definite(tlv[0], b"".join(rewrite(child) for child in _tlvs(_content(tlv))))

    return rewrite(envelope)


def _definite(tag: int, content: bytes) -> bytes:
    length = len(content)
    if length < 0x80:
        return bytes([tag, length]) + content
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(body)]) + body + content


# --- BER with indefinite lengths, as Apple's NSS-derived encoder emits it --------------------


def _tlvs(data: bytes) -> list[bytes]:
    """Split DER `data` into its top-level TLVs."""
    out, pos = [], 0
    while pos < len(data):
        start = pos
        pos += 1
        length = data[pos]
        pos += 1
        if length & 0x80:
            count = length & 0x7F
            length = int.from_bytes(data[pos : pos + count], "big")
            pos += count
        pos += length
        out.append(data[start:pos])
    return out


def _content(tlv: bytes) -> bytes:
    length = tlv[1]
    return tlv[2 + (length & 0x7F) :] if length & 0x80 else tlv[2:]


def _indefinite(tag: int, *parts: bytes) -> bytes:
    return bytes([tag, 0x80]) + b"".join(parts) + b"\x00\x00"


def _chunks(tag: int, data: bytes, size: int = 512) -> bytes:
    """A constructed OCTET STRING (or [0] IMPLICIT one) in `size`-byte primitive chunks."""
    pieces = [data[i : i + size] for i in range(0, len(data), size)] or [b""]
    return _indefinite(tag, *(core.OctetString(piece).dump() for piece in pieces))


def to_indefinite_signed(der: bytes) -> bytes:
    """Re-encode a ContentInfo(SignedData) with indefinite lengths and a chunked eContent."""
    oid, explicit = _tlvs(_content(der))
    signed_data = _tlvs(_content(explicit))[0]
    parts = []
    for field in _tlvs(_content(signed_data)):
        if field[0] == 0x30:  # encapContentInfo
            encap = _tlvs(_content(field))
            if len(encap) == 2:
                octets = _tlvs(_content(encap[1]))[0]
                encap[1] = _indefinite(0xA0, _chunks(0x24, _content(octets)))
            parts.append(_indefinite(0x30, *encap))
        elif field[0] in (0x31, 0xA0, 0xA1):  # digestAlgorithms, certificates, crls, signerInfos
            parts.append(_indefinite(field[0], *_tlvs(_content(field))))
        else:
            parts.append(field)
    return _indefinite(0x30, oid, _indefinite(0xA0, _indefinite(0x30, *parts)))


def to_indefinite_enveloped(der: bytes) -> bytes:
    """Re-encode a ContentInfo(EnvelopedData) with indefinite lengths and chunked ciphertext."""
    oid, explicit = _tlvs(_content(der))
    enveloped = _tlvs(_content(explicit))[0]
    parts = []
    for field in _tlvs(_content(enveloped)):
        if field[0] == 0x30:  # encryptedContentInfo
            content_type, algorithm, ciphertext = _tlvs(_content(field))
            parts.append(_indefinite(0x30, content_type, algorithm, _chunks(0xA0, _content(ciphertext))))
        elif field[0] == 0x31:
            parts.append(_indefinite(0x31, *_tlvs(_content(field))))
        else:
            parts.append(field)
    return _indefinite(0x30, oid, _indefinite(0xA0, _indefinite(0x30, *parts)))
