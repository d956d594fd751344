"""S/MIME encryption: application/pkcs7-mime enveloped-data and authEnveloped-data (RFC 8551 §3.3, RFC 5083)."""

from __future__ import annotations

from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from campusca.pki.cms import (
    DEFAULT_ALLOWED,
    ContentCipher,
    KeyTransport,
    build_enveloped_data,
    decrypt_enveloped_data,
)
from campusca.pki.errors import CmsDecodeError, CmsDecryptionFailed, CmsUnsupportedAlgorithm
from campusca.pki.signing import RsaDecrypter
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


def encrypt_message(
    message: bytes,
    recipients: Sequence[x509.Certificate],
    *,
    cipher: ContentCipher = ContentCipher.AES_256_CBC,
    key_transport: KeyTransport = KeyTransport.RSA_PKCS1V15,
) -> bytes:
    """Encrypt an RFC 5322 message for RSA `recipients` and return it as application/pkcs7-mime.

    The Content-* fields and body are encrypted; the other header fields stay on the outer
    message. AES-GCM ciphers produce smime-type=authEnveloped-data (RFC 8551 §3.4), the others
    enveloped-data. The sender who wants to read their sent mail adds their own certificate to
    `recipients`.
    """
    if not recipients:
        raise ValueError("recipients must name at least one certificate")
    for certificate in recipients:
        if not isinstance(certificate.public_key(), rsa.RSAPublicKey):
            raise UnsupportedAlgorithm("recipient certificate key must be RSA for key transport")
        check_usage(certificate, key_usage="key_encipherment", purpose="S/MIME encryption")
    entity = parse_entity(message)
    envelope = build_enveloped_data(
        prepared_part(entity, seven_bit_only=False), recipients, cipher=cipher, key_transport=key_transport
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
    decrypter: RsaDecrypter,
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
    decrypter: RsaDecrypter,
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
