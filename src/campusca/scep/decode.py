"""SCEP pkiMessage decoder (RFC 8894 §3.2, §3.3): verify the signature, then open the envelope.

Decoding runs in two steps so the server can answer each failure the way RFC 8894 wants:
nothing is trusted before the CMS signature verifies (`ScepDecodeError`, HTTP 400); once it
has, any failure is a `ScepRequestError` carrying the authenticated header, answered with a
signed CertRep FAILURE.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from campusca.pki import cms
from campusca.pki.errors import CmsUnsupportedAlgorithm, PkiError
from campusca.pki.signing import RsaDecrypter
from campusca.scep._attributes import read_octets, read_text
from campusca.scep.errors import ScepDecodeError, ScepRequestError
from campusca.scep.message_data import (
    decode_issuer_and_serial,
    decode_issuer_and_subject,
    read_challenge_password,
)
from campusca.scep.messages import FailInfo, MessageType, PkiMessage, RequestHeader
from campusca.scep.oids import ScepOID

_REQUEST_TYPES = frozenset(MessageType) - {MessageType.CERT_REP}


def parse_pki_message(
    data: bytes,
    *,
    recipient_certificate: x509.Certificate,
    decrypter: RsaDecrypter,
    allow_single_des: bool = False,
) -> PkiMessage:
    """Decode a SCEP request addressed to `recipient_certificate` (the RA, or the CA without RA).

    Raises ScepDecodeError when the message cannot be authenticated, ScepRequestError (with
    `fail_info` and the header to answer with) when it can but cannot be served. The signer
    certificate is returned unvalidated; trusting it is the caller's decision.
    """
    header, envelope = parse_request_header(data)
    message_type = header.message_type
    if message_type is None or message_type not in _REQUEST_TYPES:
        raise ScepRequestError(FailInfo.BAD_REQUEST, "messageType is not a SCEP request type", header)
    if not isinstance(header.signer_certificate.public_key(), rsa.RSAPublicKey):
        # The reply is encrypted to this certificate (RFC 8894 §3.3.2) and RSA is all we transport to.
        raise ScepRequestError(FailInfo.BAD_ALG, "signer certificate key must be RSA", header)
    if envelope is None:
        raise ScepRequestError(FailInfo.BAD_MESSAGE_CHECK, "pkiMessage carries no pkcsPKIEnvelope", header)
    allowed = cms.DEFAULT_ALLOWED
    if allow_single_des:
        allowed = allowed | {cms.ContentCipher.DES_CBC}
    try:
        decrypted = cms.decrypt_enveloped_data(
            envelope,
            recipient_certificate=recipient_certificate,
            decrypter=decrypter,
            allowed_ciphers=allowed,
        )
    except CmsUnsupportedAlgorithm as exc:
        raise ScepRequestError(FailInfo.BAD_ALG, str(exc), header) from exc
    except PkiError as exc:
        raise ScepRequestError(FailInfo.BAD_MESSAGE_CHECK, str(exc), header) from exc
    if decrypted.key_transport is None:  # pragma: no cover - the RA key is RSA, so never a kari
        raise ScepRequestError(FailInfo.BAD_ALG, "pkcsPKIEnvelope must use RSA key transport", header)
    return _with_message_data(header, message_type, decrypted)


def parse_request_header(data: bytes) -> tuple[RequestHeader, bytes | None]:
    """Verify the pkiMessage signature and read its SCEP attributes (the first decoding step).

    Returns the header and the still-encrypted pkcsPKIEnvelope (None when absent).
    """
    try:
        signed = cms.parse_signed_data(data)
    except PkiError as exc:
        raise ScepDecodeError(f"pkiMessage is not a valid signed message: {exc}") from exc
    attributes = signed.signed_attributes
    message_type_text = read_text(attributes, ScepOID.MESSAGE_TYPE, "messageType")
    transaction_id = read_text(attributes, ScepOID.TRANSACTION_ID, "transactionID")
    sender_nonce = read_octets(attributes, ScepOID.SENDER_NONCE, "senderNonce")
    if message_type_text is None:
        raise ScepDecodeError("messageType attribute is missing")
    if not transaction_id:
        raise ScepDecodeError("transactionID attribute is missing or empty")
    if not sender_nonce:
        raise ScepDecodeError("senderNonce attribute is missing or empty")
    header = RequestHeader(
        message_type=_message_type(message_type_text),
        transaction_id=transaction_id,
        sender_nonce=sender_nonce,
        signer_certificate=signed.signer_certificate,
        digest_algorithm=signed.digest_algorithm,
        signing_time=signed.signing_time,
        raw=bytes(data),
    )
    return header, signed.content


def _message_type(text: str) -> MessageType | None:
    stripped = text.strip()
    if not stripped.isdecimal() or len(stripped) > 3:
        return None
    try:
        return MessageType(int(stripped))
    except ValueError:
        return None


def _with_message_data(
    header: RequestHeader, message_type: MessageType, decrypted: cms.DecryptedContent
) -> PkiMessage:
    content = decrypted.content
    csr = challenge = issuer_and_subject = issuer_and_serial = None
    try:
        if message_type in (MessageType.PKCS_REQ, MessageType.RENEWAL_REQ):
            csr = _load_csr(content, header)
            challenge = read_challenge_password(content)
        elif message_type is MessageType.CERT_POLL:
            issuer_and_subject = decode_issuer_and_subject(content)
        else:
            issuer_and_serial = decode_issuer_and_serial(content)
    except ScepDecodeError as exc:
        raise ScepRequestError(FailInfo.BAD_REQUEST, str(exc), header) from exc
    return PkiMessage(
        message_type=message_type,
        transaction_id=header.transaction_id,
        sender_nonce=header.sender_nonce,
        signer_certificate=header.signer_certificate,
        digest_algorithm=header.digest_algorithm,
        signing_time=header.signing_time,
        content_cipher=decrypted.cipher,
        key_transport=decrypted.key_transport,
        csr=csr,
        challenge_password=challenge,
        issuer_and_subject=issuer_and_subject,
        issuer_and_serial=issuer_and_serial,
        raw=header.raw,
    )


def _load_csr(content: bytes, header: RequestHeader) -> x509.CertificateSigningRequest:
    """Parse the PKCS#10 messageData and check its proof of possession."""
    try:
        csr = x509.load_der_x509_csr(content)
    except x509.InvalidVersion as exc:
        # micromdm's testdata/PKCSReq.der carries version 2; RFC 2986 allows only v1 (0).
        raise ScepRequestError(FailInfo.BAD_REQUEST, "CSR version must be 0 (PKCS#10 v1)", header) from exc
    except ValueError as exc:
        raise ScepRequestError(FailInfo.BAD_REQUEST, "messageData must be a DER PKCS#10 CSR", header) from exc
    try:
        valid = csr.is_signature_valid or _sha1_signature_valid(csr)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ScepRequestError(FailInfo.BAD_ALG, "CSR signature algorithm is not supported", header) from exc
    if not valid:
        raise ScepRequestError(FailInfo.BAD_MESSAGE_CHECK, "CSR signature does not verify", header)
    return csr


def _sha1_signature_valid(csr: x509.CertificateSigningRequest) -> bool:
    """Verify a SHA-1 CSR signature, which `cryptography` 49's `is_signature_valid` always refuses.

    iOS signs its CSR with the CMS digest it picked from GetCACaps, so SHA-1 when a server
    advertises only `SHA-1`; whether SHA-1 is acceptable is the caller's policy, not a parse error.
    """
    if not isinstance(csr.signature_hash_algorithm, hashes.SHA1):
        return False
    public_key = csr.public_key()
    try:
        if isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(csr.signature, csr.tbs_certrequest_bytes, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303
        elif isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(csr.signature, csr.tbs_certrequest_bytes, ec.ECDSA(hashes.SHA1()))  # noqa: S303
        else:  # DSA and the EdDSA keys have no SHA-1 SCEP client
            return False
    except InvalidSignature:
        return False
    return True
