"""S/MIME signature verification: multipart/signed and opaque signed-data (RFC 8551 §3.5, RFC 8550 §4)."""

from __future__ import annotations

import email.utils
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from campusca.pki.cms import SignedMessage, parse_signed_data
from campusca.pki.errors import CmsDecodeError, CmsSignatureInvalid, CmsUnsupportedAlgorithm
from campusca.smime._mime import Entity, canonicalize, decode_body, multipart_parts, parse_entity
from campusca.smime._validation import certificate_emails, validate_signer
from campusca.smime.errors import MalformedMessage, SenderMismatch, SignatureInvalid, UnsupportedAlgorithm

_DATA = "1.2.840.113549.1.7.1"
_SIGNATURE_TYPES = ("application/pkcs7-signature", "application/x-pkcs7-signature")
_OPAQUE_TYPES = ("application/pkcs7-mime", "application/x-pkcs7-mime")


@dataclass(frozen=True, slots=True)
class VerifiedMessage:
    """A message whose signature verified and whose signer certificate validated.

    `content` is the signed MIME entity exactly as signed (canonical CRLF). `signer_email` is the
    certificate address that matched From:, or the certificate's first address when none did.
    """

    signer_certificate: x509.Certificate
    signer_email: str | None
    content: bytes
    from_matches: bool
    signing_time: datetime | None
    digest_algorithm: str


def verify_message(
    message: bytes,
    *,
    trust_roots: Sequence[x509.Certificate],
    intermediates: Sequence[x509.Certificate] = (),
    crls: Sequence[bytes] = (),
    ocsp_responses: Sequence[bytes] = (),
    at: datetime,
    require_revocation_info: bool = True,
    require_sender_match: bool = True,
) -> VerifiedMessage:
    """Verify a signed RFC 5322 message offline and return its signer and signed content.

    Checks, in order: the MIME structure, the CMS signature over the content, the signer's path to
    `trust_roots` at time `at` (intermediates from the argument and from the signature), its
    revocation status from the given CRLs (DER) and OCSP responses (DER), keyUsage
    digitalSignature and EKU emailProtection, and that an rfc822Name of the signer equals an
    address of From: (case-insensitively). With `require_sender_match=False` a mismatch is
    reported in `from_matches` instead of raised.

    Raises:
        MalformedMessage, SignatureInvalid, UnsupportedAlgorithm, CertificateNotTrusted (and its
        subclasses CertificateExpired, CertificateRevoked, RevocationUnknown, CertificateUnsuitable),
        SenderMismatch.
    """
    entity = parse_entity(message)
    signed = _signed_content(entity)
    if signed.content is None:
        raise MalformedMessage("opaque signed-data must carry its content")
    if signed.content_type != _DATA:
        raise MalformedMessage("signed eContentType must be id-data for S/MIME")
    validate_signer(
        signed.signer_certificate,
        trust_roots=trust_roots,
        others=[*intermediates, *signed.certificates],
        # CRLs a signer embedded in the SignedData (RFC 5652 §5.1) count too: they are CA-signed.
        crls=[*crls, *(crl.public_bytes(serialization.Encoding.DER) for crl in signed.crls)],
        ocsp_responses=ocsp_responses,
        at=at,
        require_revocation_info=require_revocation_info,
    )
    emails = certificate_emails(signed.signer_certificate)
    senders = {address.lower() for address in _from_addresses(entity)}
    matching = [e for e in emails if e.lower() in senders]
    if require_sender_match and not matching:
        raise SenderMismatch("signer certificate e-mail addresses do not include the From: address")
    signer_email = matching[0] if matching else (emails[0] if emails else None)
    return VerifiedMessage(
        signer_certificate=signed.signer_certificate,
        signer_email=signer_email,
        content=signed.content,
        from_matches=bool(matching),
        signing_time=signed.signing_time,
        digest_algorithm=signed.digest_algorithm,
    )


def _signed_content(entity: Entity) -> SignedMessage:
    """Parse and check the signature of a multipart/signed or an opaque application/pkcs7-mime entity."""
    content_type = entity.content_type()
    if content_type == "multipart/signed":
        protocol = (entity.param("protocol") or "").lower()
        if protocol not in _SIGNATURE_TYPES:
            raise MalformedMessage("multipart/signed protocol must be application/pkcs7-signature")
        parts = multipart_parts(entity)
        if len(parts) != 2:
            raise MalformedMessage(f"multipart/signed must have two body parts, not {len(parts)}")
        signature = parse_entity(parts[1])
        if signature.content_type() not in _SIGNATURE_TYPES:
            raise MalformedMessage("multipart/signed second part must be application/pkcs7-signature")
        # Stored mail often has LF line ends; the signer signed the CRLF form (RFC 8551 §3.1.1).
        return _parse(decode_body(signature), canonicalize(parts[0]))
    if content_type in _OPAQUE_TYPES:
        smime_type = (entity.param("smime-type") or "signed-data").lower()
        if smime_type != "signed-data":
            raise MalformedMessage(
                f"application/pkcs7-mime smime-type must be signed-data, not {smime_type!r}"
            )
        return _parse(decode_body(entity), None)
    raise MalformedMessage(f"Content-Type {content_type!r} is not a signed S/MIME type")


def _parse(der: bytes, detached: bytes | None) -> SignedMessage:
    try:
        return parse_signed_data(der, detached_content=detached)
    except CmsSignatureInvalid:
        raise SignatureInvalid("message signature does not verify over the signed content") from None
    except CmsUnsupportedAlgorithm as error:
        raise UnsupportedAlgorithm(str(error)) from None
    except CmsDecodeError as error:
        raise MalformedMessage(f"signature is not a valid CMS SignedData: {error}") from None


def _from_addresses(entity: Entity) -> list[str]:
    from_fields = [f.raw.partition(b":")[2] for f in entity.headers if f.name.lower() == "from"]
    values = [field.decode("utf-8", "replace").replace("\r\n", "") for field in from_fields]
    return [address for _, address in email.utils.getaddresses(values) if "@" in address]
