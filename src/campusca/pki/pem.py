"""Textual encodings of PKIX structures (RFC 7468), parsed the lax way §3 and §5.2 ask of parsers.

Tools write text around the encapsulation boundaries: NSS `certutil -R -a` puts a human-readable
summary before `-----BEGIN NEW CERTIFICATE REQUEST-----`, `openssl x509 -text` prints the decoded
certificate first, Windows `certreq` ends lines with CRLF. Everything outside a BEGIN/END pair is
skipped, whitespace inside the base64 is ignored, and the block whose label is wanted is picked
(the pre- and post-encapsulation labels must match).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from dataclasses import dataclass

from cryptography import x509

# RFC 7468 §7: "NEW CERTIFICATE REQUEST" is what Netscape/NSS and Windows certreq write.
CSR_LABELS = ("CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST")
CERTIFICATE_LABELS = ("CERTIFICATE", "X509 CERTIFICATE")  # §5.3: the second is a legacy label
PRIVATE_KEY_LABELS = ("PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY")

_BOUNDARY = re.compile(rb"-----BEGIN ([\x21-\x2c\x2e-\x7e](?:[- ]?[\x21-\x2c\x2e-\x7e])*)?-----")
_WHITESPACE = re.compile(rb"\s+")


@dataclass(frozen=True, slots=True)
class PemBlock:
    label: str
    der: bytes


def is_pem(data: bytes) -> bool:
    """Whether `data` holds an encapsulation boundary anywhere (rather than being DER)."""
    return b"-----BEGIN " in data


def pem_blocks(data: bytes) -> Iterator[PemBlock]:
    """Every well-formed block of `data` in order; text between blocks and broken blocks are skipped."""
    position = 0
    while (begin := _BOUNDARY.search(data, position)) is not None:
        label = (begin.group(1) or b"").decode("ascii")
        end_marker = b"-----END " + label.encode("ascii") + b"-----"
        end = data.find(end_marker, begin.end())
        restart = data.find(b"-----BEGIN ", begin.end())
        if end < 0 or 0 <= restart < end:  # unterminated: the next block starts before this one ends
            position = begin.end()
            continue
        position = end + len(end_marker)
        try:
            der = base64.b64decode(_WHITESPACE.sub(b"", data[begin.end() : end]), validate=True)
        except (binascii.Error, ValueError):
            continue
        if der:
            yield PemBlock(label, der)


def pem_der(data: bytes, labels: tuple[str, ...]) -> bytes | None:
    """The DER of the first block carrying one of `labels`, or None when there is none."""
    return next((block.der for block in pem_blocks(data) if block.label in labels), None)


def load_certificates(data: bytes) -> list[x509.Certificate]:
    """Every certificate of a PEM bundle (text around the blocks allowed), or of one DER certificate.

    Raises ValueError when nothing in `data` is a certificate.
    """
    if not is_pem(data):
        return [x509.load_der_x509_certificate(data)]
    certificates = [
        x509.load_der_x509_certificate(block.der)
        for block in pem_blocks(data)
        if block.label in CERTIFICATE_LABELS
    ]
    if not certificates:
        raise ValueError("no CERTIFICATE block in the PEM text")
    return certificates
