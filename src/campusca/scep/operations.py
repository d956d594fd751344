"""SCEP answers outside PKIOperation and the GET `message` parameter (RFC 8894 §3.5, §4.1, §4.6)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import unquote

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from campusca.pki import cms
from campusca.pki.signing import Signer
from campusca.scep.errors import ScepDecodeError
from campusca.scep.messages import ContentType


def build_get_ca_caps(*, sha1: bool, renewal: bool = True, next_ca: bool = False) -> str:
    """The GetCACaps body: one keyword per line, LF-terminated, in the case RFC 8894 §3.5.2 gives.

    iOS tests exact, case-sensitive membership of `POSTPKIOperation`, `AES`, `DES3` and the
    `SHA-*` words and ignores `SCEPStandard`, so every word it needs is listed explicitly.
    """
    words = ["POSTPKIOperation", "SHA-256", "SHA-512", "AES", "DES3"]
    if renewal:
        words.append("Renewal")
    words.append("SCEPStandard")
    if sha1:
        words.append("SHA-1")
    if next_ca:
        words.append("GetNextCACert")
    return "".join(f"{word}\n" for word in words)


def build_get_ca_cert(
    ra_certificate: x509.Certificate | None, ca_certificates: Sequence[x509.Certificate]
) -> tuple[bytes, ContentType]:
    """The GetCACert body and its Content-Type (RFC 8894 §4.2.1).

    With an RA: a certs-only SignedData holding the RA first, then the CA certificates
    (`application/x-x509-ca-ra-cert`). Without one: the single CA certificate in DER
    (`application/x-x509-ca-cert`), which clients then use as recipient and CertRep signer.
    """
    if ra_certificate is None:
        if len(ca_certificates) != 1:
            raise ValueError("ca_certificates must hold exactly one certificate when there is no RA")
        return ca_certificates[0].public_bytes(Encoding.DER), ContentType.CA_CERT
    if not ca_certificates:
        raise ValueError("ca_certificates must hold the CA certificate that issued the RA")
    return cms.build_certs_only([ra_certificate, *ca_certificates]), ContentType.CA_RA_CERT


def build_get_next_ca_cert(
    next_certificates: Sequence[x509.Certificate],
    *,
    signer_certificate: x509.Certificate,
    signer: Signer,
    digest_algorithm: str = "sha256",
    signing_time: datetime | None = None,
) -> tuple[bytes, ContentType]:
    """The GetNextCACert body: SignedData by the *current* CA/RA over a certs-only message (§4.7.1).

    `next_certificates` are the rollover CA certificate and any new RA certificates.
    """
    if not next_certificates:
        raise ValueError("next_certificates must hold the rollover CA certificate")
    inner = cms.build_certs_only(next_certificates)
    signed = cms.build_signed_data(
        inner,
        signer=signer,
        signer_certificate=signer_certificate,
        digest_algorithm=digest_algorithm,
        signing_time=signing_time,
    )
    return signed, ContentType.NEXT_CA_CERT


def decode_message_param(raw_query_value: str) -> bytes:
    """Decode the GET `message` parameter of PKIOperation to the DER pkiMessage.

    Give it the *raw* query value. It is percent-decoded with `unquote`, never with form
    rules: Apple clients leave `+` and `/` unescaped (step-ca notes the same). A space can
    only be a `+` that something upstream form-decoded, so it becomes `+` again. sscep and
    Cisco wrap the base64 with newlines, which are dropped, and micromdm's scepclient before
    2.3 sent the URL-safe alphabet, which is accepted too.
    """
    text = unquote(raw_query_value).replace(" ", "+")
    text = "".join(text.split())
    try:
        data = text.encode("ascii")
    except UnicodeEncodeError as exc:
        raise ScepDecodeError("message parameter must be base64") from exc
    data = data.replace(b"-", b"+").replace(b"_", b"/")
    stripped = data.rstrip(b"=")
    if not stripped:
        raise ScepDecodeError("message parameter must not be empty")
    try:  # validate=True refuses any byte outside the alphabet; padding is restored first
        return base64.b64decode(stripped + b"=" * (-len(stripped) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ScepDecodeError("message parameter must be base64") from exc
