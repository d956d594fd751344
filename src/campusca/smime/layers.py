"""Opening S/MIME layer by layer: bare `.p7m` files and nested CMS (RFC 8551 §3.7, RFC 5652 §3).

Mail clients and archives hand over more than the RFC 822-shaped message `decrypt_message` takes:
a bare CMS file (`smime.p7m`, DER or PEM, no header), a message whose decrypted content is itself
CMS (signed inside enveloped, `openssl cms -sign | openssl cms -encrypt`), or an opaque signed-data
whose content is encrypted (enveloped inside signed). `open_message` removes every encryption layer,
and every signed layer that wraps one, until readable content is left.

A signed layer that wraps encrypted content is opened without checking its signature (decryption
must not depend on it: a legal release needs the plaintext of a damaged message too); verify the
original message for that. The innermost signed layer is kept, as an application/pkcs7-mime entity,
so the result can go straight into `verify_message`.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509

from campusca.pki.cms import (
    DEFAULT_ALLOWED,
    ContentCipher,
    RecipientKey,
    content_type_of,
    encapsulated_content,
)
from campusca.pki.errors import CmsDecodeError
from campusca.smime._mime import (
    Entity,
    HeaderField,
    base64_body,
    decode_body,
    header_field,
    multipart_parts,
    parse_entity,
    render_entity,
)
from campusca.smime.envelope import decrypt_cms
from campusca.smime.errors import DecryptionFailed, MalformedMessage

MAX_LAYERS = 8
_PKCS7_MIME = ("application/pkcs7-mime", "application/x-pkcs7-mime")
_ENCRYPTED = ("enveloped_data", "authenticated_enveloped_data")
_SMIME_TYPES = {"enveloped-data": "enveloped_data", "authenveloped-data": "authenticated_enveloped_data"}
_LAYER_NAMES = {
    "enveloped_data": "enveloped-data",
    "authenticated_enveloped_data": "authEnveloped-data",
    "signed_data": "signed-data",
}
# RFC 7468 labels `openssl cms -outform PEM` (CMS) and older tools (PKCS7) write.
_PEM = re.compile(rb"\A\s*-----BEGIN (CMS|PKCS7)-----\s*(.*?)\s*-----END \1-----", re.DOTALL)


@dataclass(frozen=True, slots=True)
class OpenedMessage:
    """The readable content under every encryption layer, and the layers removed, outermost first."""

    content: bytes
    layers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Layer:
    kind: str | None  # asn1crypto's content type name, None for readable content
    der: bytes
    entity: Entity | None


def open_message(
    message: bytes,
    *,
    recipients: Sequence[tuple[x509.Certificate, RecipientKey]],
    allowed_ciphers: frozenset[ContentCipher] = DEFAULT_ALLOWED,
) -> OpenedMessage:
    """Decrypt an S/MIME message, a bare CMS file or nested CMS with whichever of `recipients` fits.

    The outer header fields of an RFC 822 message (From, To, Subject …) are kept above the innermost
    entity, as `decrypt_message` does. Content that is not MIME (a bare file's payload) is returned
    as it is.

    Raises:
        MalformedMessage (also when no layer is encrypted), UnsupportedAlgorithm, DecryptionFailed.
    """
    if not recipients:
        raise ValueError("recipients must name at least one key")
    outer: tuple[HeaderField, ...] | None = None
    layers: list[str] = []
    data = message
    for _ in range(MAX_LAYERS):
        layer = _layer(data) if not layers else _layer_or_raw(data)
        if layer.entity is not None and layer.kind is not None and outer is None:
            outer = layer.entity.outer_headers()  # the outermost message's From, To, Subject …
        if layer.kind in _ENCRYPTED:
            data = _decrypt(layer.der, recipients, allowed_ciphers)
        elif layer.kind == "signed_data" and _wraps_encryption(inner := _signed_content(layer.der)):
            data = inner
        else:
            if not layers:
                raise MalformedMessage(_not_encrypted(layer))
            return OpenedMessage(_readable(layer, data, outer), tuple(layers))
        layers.append(_LAYER_NAMES[layer.kind])
    raise MalformedMessage(f"message nests more than {MAX_LAYERS} CMS layers")


def bare_cms(data: bytes) -> bytes | None:
    """The DER/BER of a bare CMS file (binary, or PEM `CMS`/`PKCS7`), or None when `data` is not one."""
    match = _PEM.match(data)
    if match is not None:
        try:
            der = base64.b64decode(re.sub(rb"\s+", b"", match.group(2)), validate=True)
        except (binascii.Error, ValueError):
            raise MalformedMessage("PEM CMS block is not valid base64") from None
        return der if _cms_kind(der) is not None else None
    if data[:1] == b"\x30" and _cms_kind(data) is not None:
        return data
    return None


def _cms_kind(data: bytes) -> str | None:
    try:
        return content_type_of(data)
    except CmsDecodeError:
        return None


def _layer(data: bytes) -> _Layer:
    der = bare_cms(data)
    if der is not None:
        return _Layer(_cms_kind(der), der, None)
    entity = parse_entity(data)
    content_type = entity.content_type()
    if content_type in _PKCS7_MIME:
        smime_type = (entity.param("smime-type") or "").lower()
        body = decode_body(entity)
        kind = _SMIME_TYPES.get(smime_type) or _cms_kind(body)
        if kind == "signed_data" or kind in _ENCRYPTED:
            return _Layer(kind, body, entity)
        raise MalformedMessage(f"application/pkcs7-mime smime-type {smime_type!r} is not supported here")
    if content_type == "multipart/signed":
        # Encrypt-then-sign with a clear signature: the encrypted entity is the first part.
        first = parse_entity(multipart_parts(entity)[0])
        if first.content_type() in _PKCS7_MIME:
            inner = _layer(render_entity(first.headers, first.body))
            if inner.kind in _ENCRYPTED:
                return _Layer(inner.kind, inner.der, entity)
    return _Layer(None, b"", entity)


def _layer_or_raw(data: bytes) -> _Layer:
    """A decrypted content's layer; content that is neither CMS nor MIME is returned as it is."""
    try:
        return _layer(data)
    except MalformedMessage:
        return _Layer(None, b"", None)


def _decrypt(
    der: bytes,
    recipients: Sequence[tuple[x509.Certificate, RecipientKey]],
    allowed_ciphers: frozenset[ContentCipher],
) -> bytes:
    for certificate, decrypter in recipients:
        try:
            return decrypt_cms(
                der, recipient_certificate=certificate, decrypter=decrypter, allowed_ciphers=allowed_ciphers
            )
        except DecryptionFailed:
            continue
    raise DecryptionFailed("message is not encrypted to any key given")


def _signed_content(der: bytes) -> bytes:
    try:
        return encapsulated_content(der) or b""
    except CmsDecodeError as error:
        raise MalformedMessage(f"signed layer is not a valid CMS SignedData: {error}") from None


def _wraps_encryption(content: bytes) -> bool:
    try:
        return _layer(content).kind in _ENCRYPTED
    except MalformedMessage:
        return False


def _not_encrypted(layer: _Layer) -> str:
    if layer.entity is not None and layer.kind is None:
        content_type = layer.entity.content_type()
        return f"Content-Type {content_type!r} is not application/pkcs7-mime: the message is not encrypted"
    return "the CMS content is signed-data, not enveloped-data: the message is not encrypted"


def _readable(layer: _Layer, data: bytes, outer: tuple[HeaderField, ...] | None) -> bytes:
    """The innermost content, under the outer message's fields when there were any."""
    if layer.kind == "signed_data" and layer.entity is None:
        # A bare signed-data left at the bottom: give it MIME clothes so that it can be verified.
        content_type = 'application/pkcs7-mime; smime-type=signed-data; name="smime.p7m"'
        headers = (
            header_field("Content-Type", content_type),
            header_field("Content-Transfer-Encoding", "base64"),
        )
        entity = Entity(headers, base64_body(layer.der))
    elif layer.entity is not None and outer is not None:
        entity = layer.entity
    else:
        return data
    return render_entity(
        (
            *(outer or ()),
            header_field("MIME-Version", "1.0"),
            *(h for h in entity.headers if h.name.lower() != "mime-version"),
        ),
        entity.body,
    )
