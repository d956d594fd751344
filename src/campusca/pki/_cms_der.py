"""Shared ASN.1 helpers of the CMS codec (RFC 5652): loading, identifiers, certificate conversion."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from asn1crypto import cms, core, parser
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from campusca.pki import _der as der
from campusca.pki.errors import CmsDecodeError, CmsUnsupportedAlgorithm, PkiError

DIGESTS: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
DIGEST_OIDS = {
    "1.3.14.3.2.26": "sha1",
    "2.16.840.1.101.3.4.2.1": "sha256",
    "2.16.840.1.101.3.4.2.2": "sha384",
    "2.16.840.1.101.3.4.2.3": "sha512",
}
DIGEST_OID_BY_NAME = {name: dotted for dotted, name in DIGEST_OIDS.items()}


@contextmanager
def decoding(field: str) -> Iterator[None]:
    """Turn any failure of asn1crypto's lazy parsing inside the block into a CmsDecodeError."""
    try:
        yield
    except PkiError:
        raise
    except Exception as exc:  # asn1crypto raises ValueError, TypeError, KeyError, … on bad input
        raise CmsDecodeError(f"{field} is not valid BER/DER") from exc


def load_content_info(data: bytes, *, expected: tuple[str, ...]) -> cms.ContentInfo:
    """Parse a ContentInfo (BER or DER) and check its contentType is one of `expected`."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError("data must be bytes")
    with decoding("ContentInfo"):
        info = cms.ContentInfo.load(definite_lengths(bytes(data)), strict=True)
        content_type = info["content_type"].native
        if content_type not in expected:
            raise CmsDecodeError(
                f"ContentInfo contentType must be {' or '.join(expected)}, not {content_type}"
            )
        if not isinstance(info["content"], cms.SignedData | cms.EnvelopedData | cms.AuthEnvelopedData):
            raise CmsDecodeError("ContentInfo content is missing")
        return info


def content_type_of(data: bytes) -> str:
    """The contentType of a SignedData, EnvelopedData or AuthEnvelopedData ContentInfo (BER or DER).

    Returns asn1crypto's name ("signed_data", "enveloped_data", "authenticated_enveloped_data");
    anything else is a CmsDecodeError.
    """
    info = load_content_info(data, expected=("signed_data", "enveloped_data", "authenticated_enveloped_data"))
    name: str = info["content_type"].native
    return name


_MAX_NESTING = 64


def definite_lengths(data: bytes) -> bytes:
    """Give every indefinite-length (BER) SEQUENCE and SET a definite length; keep all other bytes.

    asn1crypto parses indefinite lengths, but not when the value is the alternative of an
    untagged CHOICE (RecipientInfo, SignerIdentifier), and it nests them at most 10 deep.
    Strings in constructed form and tagged values stay indefinite: asn1crypto accepts a
    chunked OCTET STRING only in that form. Streaming producers (`openssl cms -stream`,
    BouncyCastle's stream generators) send such BER.
    """
    rewritten = _definite(data, 0, len(data), 0)
    return data if rewritten is None else rewritten


def _definite(data: bytes, start: int, end: int, depth: int) -> bytes | None:
    """Return data[start:end] rewritten, or None when nothing in it needs rewriting."""
    if depth > _MAX_NESTING:
        raise CmsDecodeError("CMS structure is nested too deeply")
    view = memoryview(data)
    parts: list[bytes | memoryview] = []
    changed = False
    pointer = start
    while pointer < end:
        # asn1crypto's header parser, used for lengths only: no copies of large contents.
        header_end, value_end = parser._parse(data, end, pointer, lengths_only=True)
        if data[pointer] & 0x20:  # constructed
            identifier_end = pointer + 1
            if data[pointer] & 0x1F == 0x1F:
                while data[identifier_end] & 0x80:
                    identifier_end += 1
                identifier_end += 1
            indefinite = data[identifier_end] == 0x80
            inner_end = value_end - 2 if indefinite else value_end
            inner = _definite(data, header_end, inner_end, depth + 1)
            if (
                not indefinite
                and value_end == end
                and _octet_chunks_only(data, pointer, header_end, value_end)
            ):
                # Go's pkcs7 (micromdm scepclient) writes encryptedContent as a *definite* constructed
                # [0] holding one OCTET STRING; asn1crypto takes the chunked form only when indefinite.
                # encryptedContent is the last field of its SEQUENCE; a KeyAgreeRecipientIdentifier's
                # rKeyId ([0] holding only an SKI OCTET STRING, `openssl cms -keyid`) never is.
                parts.append(
                    data[pointer:identifier_end] + b"\x80" + data[header_end:value_end] + b"\x00\x00"
                )
                changed = True
                pointer = value_end
                continue
            if inner is not None or (indefinite and data[pointer] in (0x30, 0x31)):
                body = inner if inner is not None else data[header_end:inner_end]
                if indefinite and data[pointer] not in (0x30, 0x31):
                    parts.append(data[pointer:identifier_end] + b"\x80" + body + b"\x00\x00")
                else:
                    parts.append(data[pointer:identifier_end] + der_length(len(body)) + body)
                changed = True
                pointer = value_end
                continue
        parts.append(view[pointer:value_end])
        pointer = value_end
    return b"".join(parts) if changed else None


def _octet_chunks_only(data: bytes, pointer: int, start: int, end: int) -> bool:
    """Whether a context-tagged constructed value holds nothing but primitive OCTET STRINGs."""
    if data[pointer] & 0xC0 != 0x80 or start >= end:
        return False
    while start < end:
        if data[start] != 0x04:
            return False
        start = parser._parse(data, end, start, lengths_only=True)[1]
    return True


def hash_for(name: str) -> hashes.HashAlgorithm:
    """Return the `cryptography` hash for a digest name, or raise CmsUnsupportedAlgorithm."""
    if name not in DIGESTS:
        raise CmsUnsupportedAlgorithm(f"digest algorithm {name!r} is not supported")
    return DIGESTS[name]()


def digest(name: str, data: bytes) -> bytes:
    """Hash `data` with the named digest."""
    h = hashes.Hash(hash_for(name))
    h.update(data)
    return h.finalize()


def to_asn1_certificate(certificate: x509.Certificate) -> asn1_x509.Certificate:
    """Convert a `cryptography` certificate to asn1crypto, keeping its exact DER bytes."""
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


def issuer_and_serial(certificate: x509.Certificate) -> cms.IssuerAndSerialNumber:
    """Build IssuerAndSerialNumber with the certificate's exact issuer bytes (no re-encoding)."""
    tbs = to_asn1_certificate(certificate)["tbs_certificate"]
    return cms.IssuerAndSerialNumber({"issuer": tbs["issuer"], "serial_number": tbs["serial_number"]})


def subject_key_identifier(certificate: x509.Certificate) -> bytes:
    """Return the certificate's SKI extension, or the RFC 5280 §4.2.1.2 method-1 value if absent."""
    try:
        ext = certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        return ext.value.digest
    except x509.ExtensionNotFound:
        return x509.SubjectKeyIdentifier.from_public_key(certificate.public_key()).digest


def identifies(
    identifier: cms.SignerIdentifier | cms.RecipientIdentifier, certificate: x509.Certificate
) -> bool:
    """Say whether a SignerIdentifier/RecipientIdentifier names `certificate`."""
    if identifier.name == "subject_key_identifier":
        return bool(identifier.chosen.native == subject_key_identifier(certificate))
    ias = identifier.chosen
    if ias.dump() == der.issuer_and_serial(certificate):  # the usual case: the certificate's own bytes
        return True
    if ias["serial_number"].native != certificate.serial_number:
        return False
    issuer = to_asn1_certificate(certificate)["tbs_certificate"]["issuer"]
    return bool(ias["issuer"] == issuer)  # X.520 comparison, for issuers re-encoded by the sender


def set_encodings(attributes: cms.CMSAttributes) -> Iterator[bytes]:
    """The candidate DER encodings of an implicitly tagged attribute SET (RFC 5652 §5.4), in order.

    The signature (or GCM AAD) covers the SET OF with its universal tag 0x31. The sender's own
    bytes, retagged, come first; the forced DER re-encoding (sorted, definite lengths) second,
    for senders whose bytes were BER. The second is only computed when the first did not verify.
    """
    original = attributes.contents or b""
    first = b"\x31" + der_length(len(original)) + original
    yield first
    forced = cms.CMSAttributes(list(attributes)).dump(force=True)
    if forced != first:
        yield forced


def der_length(length: int) -> bytes:
    """Encode a DER length (X.690 §8.1.3)."""
    if length < 0x80:
        return bytes([length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def octets(value: core.Asn1Value) -> bytes:
    """Return the bytes of an OCTET STRING, merging the chunks of a BER constructed one."""
    if isinstance(value, core.ParsableOctetString):
        raw: bytes = value.__bytes__()  # the raw bytes even when asn1crypto parsed them as a structure
        return raw
    return bytes(value.native)  # a Void (absent field) fails here; callers run inside decoding()
