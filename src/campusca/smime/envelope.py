"""S/MIME encryption: application/pkcs7-mime enveloped-data and authEnveloped-data (RFC 8551 §3.3, RFC 5083)."""

from __future__ import annotations

from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from campusca.pki.cms import (
    DEFAULT_ALLOWED,
    ContentCipher,
    KeyAgreement,
    KeyTransport,
    RecipientKey,
    build_enveloped_data,
    decrypt_enveloped_data,
)
from campusca.pki.errors import CmsDecodeError, CmsDecryptionFailed, CmsUnsupportedAlgorithm
from campusca.smime._mime import (
    base64_body,
    decode_body,
    header_field,
    parse_entity,
    prepared_part,
    render_entity,
)
from campusca.smime._validation import check_usage
from campusca.smime.errors import DecryptionFailed, MalformedMessage, UnsupportedAlgorithm

_MIME_TYPES = ("application/pkcs7-mime", "application/x-pkcs7-mime")
_ENVELOPED_TYPES = ("enveloped-data", "authenveloped-data")
_CURVES = (ec.SECP256R1, ec.SECP384R1, ec.SECP521R1)


def encrypt_message(
    message: bytes,
    recipients: Sequence[x509.Certificate],
    *,
    cipher: ContentCipher = ContentCipher.AES_256_CBC,
    key_transport: KeyTransport = KeyTransport.RSA_PKCS1V15,
    key_agreement: KeyAgreement = KeyAgreement.ECDH_SHA256_KDF,
) -> bytes:
    """Encrypt an RFC 5322 message for `recipients` and return it as application/pkcs7-mime.

    RSA certificates (keyUsage keyEncipherment) get the key by `key_transport`, EC certificates
    (keyUsage keyAgreement, P-256/P-384/P-521) by ephemeral-static ECDH (`key_agreement`, RFC 5753).

    The Content-* fields and body are encrypted; the other header fields stay on the outer
    message. AES-GCM ciphers produce smime-type=authEnveloped-data (RFC 8551 §3.4), the others
    enveloped-data. The sender who wants to read their sent mail adds their own certificate to
    `recipients`.
    """
    if not recipients:
        raise ValueError("recipients must name at least one certificate")
    for certificate in recipients:
        public_key = certificate.public_key()
        if isinstance(public_key, rsa.RSAPublicKey):
            check_usage(certificate, key_usage="key_encipherment", purpose="S/MIME encryption")
        elif isinstance(public_key, ec.EllipticCurvePublicKey) and isinstance(public_key.curve, _CURVES):
            check_usage(certificate, key_usage="key_agreement", purpose="S/MIME encryption (ECDH)")
        else:
            raise UnsupportedAlgorithm("recipient certificate key must be RSA or EC on P-256, P-384 or P-521")
    if cipher is ContentCipher.DES_CBC and any(
        isinstance(c.public_key(), ec.EllipticCurvePublicKey) for c in recipients
    ):
        raise UnsupportedAlgorithm(
            "single DES cannot be used with ECDH recipients (its key cannot be AES-wrapped)"
        )
    entity = parse_entity(message)
    envelope = build_enveloped_data(
        prepared_part(entity, seven_bit_only=False),
        recipients,
        cipher=cipher,
        key_transport=key_transport,
        key_agreement=key_agreement,
    )
    smime_type = "authEnveloped-data" if cipher.is_aead else "enveloped-data"
    outer = (
        *entity.outer_headers(),
        header_field("MIME-Version", "1.0"),
        header_field("Content-Type", f'application/pkcs7-mime; smime-type={smime_type}; name="smime.p7m"'),
        header_field("Content-Transfer-Encoding", "base64"),
        header_field("Content-Disposition", 'attachment; filename="smime.p7m"'),
        header_field("Content-Description", "S/MIME Encrypted Message"),
    )
    return render_entity(outer, base64_body(envelope))


def decrypt_message(
    message: bytes,
    *,
    recipient_certificate: x509.Certificate,
    decrypter: RecipientKey,
    allowed_ciphers: frozenset[ContentCipher] = DEFAULT_ALLOWED,
) -> bytes:
    """Decrypt an application/pkcs7-mime message and return the RFC 5322 message it carried.

    The outer header fields (From, To, Subject …) are kept and the decrypted entity's fields and
    body replace the envelope. Base64 and binary bodies, BER and DER, EnvelopedData and
    AuthEnvelopedData, PKCS#1 v1.5 and OAEP key transport are accepted.

    Raises:
        MalformedMessage, UnsupportedAlgorithm, DecryptionFailed.
    """
    entity = parse_entity(message)
    content_type = entity.content_type()
    if content_type not in _MIME_TYPES:
        raise MalformedMessage(f"Content-Type {content_type!r} is not application/pkcs7-mime")
    smime_type = (entity.param("smime-type") or "enveloped-data").lower()
    if smime_type not in _ENVELOPED_TYPES:
        raise MalformedMessage(f"application/pkcs7-mime smime-type {smime_type!r} is not an encrypted type")
    content = decrypt_cms(
        decode_body(entity),
        recipient_certificate=recipient_certificate,
        decrypter=decrypter,
        allowed_ciphers=allowed_ciphers,
    )
    inner = parse_entity(content)
    headers = (
        *entity.outer_headers(),
        header_field("MIME-Version", "1.0"),
        *(h for h in inner.headers if h.name.lower() != "mime-version"),
    )
    return render_entity(headers, inner.body)


def decrypt_cms(
    data: bytes,
    *,
    recipient_certificate: x509.Certificate,
    decrypter: RecipientKey,
    allowed_ciphers: frozenset[ContentCipher] = DEFAULT_ALLOWED,
) -> bytes:
    """Decrypt a raw CMS EnvelopedData or AuthEnvelopedData (DER or BER) and return its content."""
    try:
        decrypted = decrypt_enveloped_data(
            data,
            recipient_certificate=recipient_certificate,
            decrypter=decrypter,
            allowed_ciphers=allowed_ciphers,
        )
    except CmsDecodeError as error:
        raise MalformedMessage(f"encrypted content is not a valid CMS envelope: {error}") from None
    except CmsUnsupportedAlgorithm as error:
        raise UnsupportedAlgorithm(str(error)) from None
    except CmsDecryptionFailed as error:
        raise DecryptionFailed(str(error)) from None
    return decrypted.content
