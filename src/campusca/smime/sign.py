"""S/MIME signing: multipart/signed with a detached CMS signature (RFC 8551 §3.5.3, RFC 1847)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime

from asn1crypto import cms as asn1_cms
from cryptography import x509

from campusca.pki.cms import ContentCipher, build_signed_data
from campusca.pki.signing import Signer
from campusca.smime._mime import CRLF, base64_body, header_field, parse_entity, prepared_part, render_entity
from campusca.smime._validation import check_usage
from campusca.smime.errors import UnsupportedAlgorithm

# RFC 8551 §3.5.3.2: the micalg parameter names the signature's digest.
MICALG = {"sha1": "sha-1", "sha256": "sha-256", "sha384": "sha-384", "sha512": "sha-512"}

# SMIMECapabilities (RFC 8551 §2.5.2) in order of preference: what we can decrypt, so a
# correspondent's client picks AES-GCM or AES-CBC and OAEP rather than its own defaults.
_CAPABILITIES = (
    ContentCipher.AES_256_GCM.value,
    ContentCipher.AES_128_GCM.value,
    ContentCipher.AES_256_CBC.value,
    ContentCipher.AES_192_CBC.value,
    ContentCipher.AES_128_CBC.value,
    "1.2.840.113549.1.1.7",  # id-RSAES-OAEP
    "1.2.840.113549.1.1.1",  # rsaEncryption (PKCS#1 v1.5 key transport)
)
_PREAMBLE = b"This is an S/MIME signed message" + CRLF


def sign_message(
    message: bytes,
    *,
    signer: Signer,
    signer_certificate: x509.Certificate,
    chain: Sequence[x509.Certificate] = (),
    digest_algorithm: str = "sha256",
    signing_time: datetime | None = None,
) -> bytes:
    """Sign an RFC 5322 message and return it as multipart/signed, CRLF line ends throughout.

    The message's Content-* fields and body become the signed first part (8-bit leaf bodies are
    transfer-encoded first, RFC 8551 §3.1.2); every other header field (From, To, Subject, Date …)
    stays on the outer message. `chain` certificates travel in the signature so that recipients
    can build the path; `signing_time` becomes the signingTime attribute (RFC 8551 §2.5.1).
    """
    micalg = MICALG.get(digest_algorithm)
    if micalg is None:
        raise UnsupportedAlgorithm(f"digest_algorithm {digest_algorithm!r} is not one of {sorted(MICALG)}")
    check_usage(signer_certificate, key_usage="digital_signature", purpose="S/MIME signing")
    entity = parse_entity(message)
    part = prepared_part(entity, seven_bit_only=True)
    signature = build_signed_data(
        part,
        signer=signer,
        signer_certificate=signer_certificate,
        digest_algorithm=digest_algorithm,
        extra_signed_attributes=[_smime_capabilities()],
        certificates=chain,
        detached=True,
        signing_time=signing_time,
    )
    signature_part = render_entity(
        (
            header_field("Content-Type", 'application/pkcs7-signature; name="smime.p7s"'),
            header_field("Content-Transfer-Encoding", "base64"),
            header_field("Content-Disposition", 'attachment; filename="smime.p7s"'),
            header_field("Content-Description", "S/MIME Cryptographic Signature"),
        ),
        base64_body(signature),
    )
    boundary = new_boundary(part)
    delimiter = b"--" + boundary.encode("ascii")
    body = (
        _PREAMBLE
        + CRLF
        + delimiter
        + CRLF
        + part
        + CRLF
        + delimiter
        + CRLF
        + signature_part
        + CRLF
        + delimiter
        + b"--"
        + CRLF
    )
    content_type = (
        f'multipart/signed; protocol="application/pkcs7-signature"; micalg={micalg}; boundary="{boundary}"'
    )
    outer = (
        *entity.outer_headers(),
        header_field("MIME-Version", "1.0"),
        header_field("Content-Type", content_type),
    )
    return render_entity(outer, body)


def new_boundary(content: bytes) -> str:
    """A random multipart boundary that does not occur in `content` (RFC 2046 §5.1.1)."""
    while True:
        boundary = "----=_campusca_" + os.urandom(16).hex()
        if boundary.encode("ascii") not in content:
            return boundary


def _smime_capabilities() -> asn1_cms.CMSAttribute:
    capabilities = [{"capability_id": oid} for oid in _CAPABILITIES]
    return asn1_cms.CMSAttribute({"type": "smime_capabilities", "values": [capabilities]})
