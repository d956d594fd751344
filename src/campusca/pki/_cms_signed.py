"""CMS SignedData (RFC 5652 §5): build, verify, and the degenerate certs-only form."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from types import MappingProxyType

from asn1crypto import cms, core
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from campusca.pki import _der as der
from campusca.pki import _strict_der as strict
from campusca.pki._cms_der import (
    DIGEST_OID_BY_NAME,
    DIGEST_OIDS,
    decoding,
    digest,
    hash_for,
    identifies,
    load_content_info,
    octets,
    set_encodings,
)
from campusca.pki._cms_types import SignedMessage
from campusca.pki.errors import CmsDecodeError, CmsSignatureInvalid, CmsUnsupportedAlgorithm
from campusca.pki.signing import Signer, sign_digest_args

DATA = "1.2.840.113549.1.7.1"
SIGNED_DATA = "1.2.840.113549.1.7.2"
_RSA_ENCRYPTION = "1.2.840.113549.1.1.1"  # as signatureAlgorithm: what OpenSSL and asn1crypto write
_CONTENT_TYPE, _MESSAGE_DIGEST, _SIGNING_TIME = (
    "1.2.840.113549.1.9.3",
    "1.2.840.113549.1.9.4",
    "1.2.840.113549.1.9.5",
)
_SIGNED_DATA_OID = der.oid(SIGNED_DATA)
_SIGNED_DATA_TAGS = (0x02, 0x31, 0x30, 0x31)  # version, digestAlgorithms, encapContentInfo … signerInfos
_RSA_SIGNATURES = {
    "1.2.840.113549.1.1.1",  # rsaEncryption, as OpenSSL writes it
    "1.2.840.113549.1.1.5",
    "1.2.840.113549.1.1.11",
    "1.2.840.113549.1.1.12",
    "1.2.840.113549.1.1.13",
}
_ECDSA_SIGNATURES = {
    "1.2.840.10045.2.1",  # id-ecPublicKey, written by some signers instead of ecdsa-with-SHAx
    "1.2.840.10045.4.1",
    "1.2.840.10045.4.3.2",
    "1.2.840.10045.4.3.3",
    "1.2.840.10045.4.3.4",
}
_ECDSA_BY_DIGEST = {
    "sha1": "1.2.840.10045.4.1",
    "sha256": "1.2.840.10045.4.3.2",
    "sha384": "1.2.840.10045.4.3.3",
    "sha512": "1.2.840.10045.4.3.4",
}


def build_signed_data(
    content: bytes | None,
    *,
    signer: Signer,
    signer_certificate: x509.Certificate,
    digest_algorithm: str = "sha256",
    extra_signed_attributes: Sequence[cms.CMSAttribute | bytes] = (),
    certificates: Sequence[x509.Certificate] = (),
    detached: bool = False,
    content_type: str = DATA,
    signing_time: datetime | None = None,
) -> bytes:
    """Sign `content` and return a DER ContentInfo(SignedData) with one SignerInfo.

    Signed attributes are contentType, messageDigest, signingTime (when given) and the extras
    (asn1crypto attributes, or DER-encoded Attributes as `der.attribute` writes them).
    A None `content` is signed as the empty string and carried as an absent eContent.
    """
    hash_algorithm = hash_for(digest_algorithm)
    public_key = signer.public_key()
    if _spki(public_key) != _spki(signer_certificate.public_key()):
        raise ValueError("signer_certificate public key must match the signer's key")
    attributes = _signed_attributes(
        content, digest_algorithm, content_type, signing_time, extra_signed_attributes
    )
    signature = signer.sign(attributes, *sign_digest_args(public_key, hash_algorithm))
    # NULL parameters, as asn1crypto and OpenSSL write them for the SHA family (RFC 5754 §2 allows both).
    digest_identifier = der.algorithm(DIGEST_OID_BY_NAME[digest_algorithm], der.NULL)
    signer_info = der.sequence(
        der.integer(1),
        der.issuer_and_serial(signer_certificate),
        digest_identifier,
        der.implicit(0, attributes, constructed=True),
        _signature_algorithm(public_key, digest_algorithm),
        der.octet_string(signature),
    )
    encap = der.oid(content_type)
    if content is not None and not detached:
        encap += der.explicit(0, der.octet_string(content))
    signed = der.sequence(
        # RFC 5652 §5.1: version 3 when the eContentType is not id-data.
        der.integer(1 if content_type == DATA else 3),
        der.set_of(digest_identifier),
        der.sequence(encap),
        _certificate_set([signer_certificate, *certificates]),
        der.set_of(signer_info),
    )
    return der.sequence(der.oid(SIGNED_DATA), der.explicit(0, signed))


def _spki(public_key: object) -> bytes:
    if not isinstance(public_key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        raise TypeError("signer key must be RSA or EC")
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _signature_algorithm(public_key: object, digest_algorithm: str) -> bytes:
    if isinstance(public_key, rsa.RSAPublicKey):
        return der.algorithm(_RSA_ENCRYPTION, der.NULL)
    return der.algorithm(_ECDSA_BY_DIGEST[digest_algorithm])


def _signed_attributes(
    content: bytes | None,
    digest_algorithm: str,
    content_type: str,
    signing_time: datetime | None,
    extra: Sequence[cms.CMSAttribute | bytes],
) -> bytes:
    """The DER SET OF signed attributes, as the signature covers it (tag 0x31, RFC 5652 §5.4)."""
    encoded = [a if isinstance(a, bytes) else a.dump() for a in extra]
    own = {der.oid(_CONTENT_TYPE), der.oid(_MESSAGE_DIGEST), der.oid(_SIGNING_TIME)}
    for attribute in encoded:
        start, _ = der.read_tlv(attribute, 0)
        if attribute[start : der.read_tlv(attribute, start)[1]] in own:
            raise ValueError(
                "extra_signed_attributes must not repeat contentType, messageDigest or signingTime"
            )
    attributes = [
        der.attribute(_CONTENT_TYPE, der.oid(content_type)),
        der.attribute(_MESSAGE_DIGEST, der.octet_string(digest(digest_algorithm, content or b""))),
    ]
    if signing_time is not None:
        attributes.append(der.attribute(_SIGNING_TIME, der.time(signing_time)))
    return der.set_of(*attributes, *encoded)


def _certificate_set(certificates: Sequence[x509.Certificate], number: int = 0) -> bytes:
    """[0] IMPLICIT CertificateSet in the caller's order, duplicates left out.

    Not sorted as DER would sort a SET OF: SCEP clients read the RA certificate first, and iOS and
    micromdm take the first certificate of a CertRep as the one issued to them.
    """
    seen: set[bytes] = set()
    encoded = []
    for certificate in certificates:
        certificate_der = certificate.public_bytes(serialization.Encoding.DER)
        if certificate_der not in seen:
            seen.add(certificate_der)
            encoded.append(certificate_der)
    return der.tlv(0xA0 | number, *encoded)


def build_certs_only(
    certificates: Sequence[x509.Certificate], crls: Sequence[x509.CertificateRevocationList] = ()
) -> bytes:
    """Return a degenerate SignedData (no signers, no content) carrying certificates and CRLs in order."""
    parts = [der.integer(1), der.EMPTY_SET, der.sequence(der.oid(DATA)), _certificate_set(certificates)]
    if crls:
        parts.append(der.tlv(0xA1, *(crl.public_bytes(serialization.Encoding.DER) for crl in crls)))
    parts.append(der.EMPTY_SET)
    return der.sequence(der.oid(SIGNED_DATA), der.explicit(0, der.sequence(*parts)))


def parse_certs_only(
    der: bytes,
) -> tuple[tuple[x509.Certificate, ...], tuple[x509.CertificateRevocationList, ...]]:
    """Return the certificates and CRLs of a SignedData, in their encoded order, ignoring any signers."""
    signed = load_content_info(der, expected=("signed_data",))["content"]
    return _certificates(signed), _crls(signed)


def _certificates(signed: cms.SignedData) -> tuple[x509.Certificate, ...]:
    with decoding("SignedData certificates"):
        return tuple(
            x509.load_der_x509_certificate(choice.chosen.dump())
            for choice in signed["certificates"]
            if choice.name == "certificate"
        )


def _crls(signed: cms.SignedData) -> tuple[x509.CertificateRevocationList, ...]:
    with decoding("SignedData crls"):
        return tuple(
            x509.load_der_x509_crl(choice.chosen.dump()) for choice in signed["crls"] if choice.name == "crl"
        )


def encapsulated_content(data: bytes) -> bytes | None:
    """The eContent of a SignedData (BER or DER) without checking its signature, None when detached.

    For callers that only need to look inside (S/MIME layers around encrypted content); trust and
    integrity come from `parse_signed_data`.
    """
    signed = load_content_info(data, expected=("signed_data",))["content"]
    with decoding("SignedData"):
        encap = signed["encap_content_info"]["content"]
        return None if isinstance(encap, core.Void) else octets(encap)


def parse_signed_data(
    data: bytes,
    *,
    detached_content: bytes | None = None,
    extra_certificates: Sequence[x509.Certificate] = (),
) -> SignedMessage:
    """Parse a SignedData (BER or DER) and verify its single signer's signature.

    The signer certificate is looked up in the SignedData's own certificates, then in
    `extra_certificates` (for signers who leave theirs out, `openssl cms -nocerts`); the chain
    is not validated. Raises CmsDecodeError, CmsSignatureInvalid or CmsUnsupportedAlgorithm.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError("data must be bytes")
    fast = _parse_strict_der(bytes(data), detached_content, tuple(extra_certificates))
    if fast is not None:
        return fast
    return _parse_general(data, detached_content, extra_certificates)


def _parse_general(
    data: bytes, detached_content: bytes | None, extra_certificates: Sequence[x509.Certificate]
) -> SignedMessage:
    """parse_signed_data for any BER, through asn1crypto; every refusal is decided here."""
    signed = load_content_info(data, expected=("signed_data",))["content"]
    with decoding("SignedData"):
        encap = signed["encap_content_info"]
        content_type = encap["content_type"].dotted
        embedded = None if isinstance(encap["content"], core.Void) else octets(encap["content"])
        signer_infos = list(signed["signer_infos"])
    if embedded is not None and detached_content is not None:
        raise CmsDecodeError("detached_content must not be given when SignedData carries its eContent")
    content = embedded if embedded is not None else detached_content
    if len(signer_infos) != 1:
        raise CmsDecodeError(f"SignedData signerInfos must hold exactly one signer, not {len(signer_infos)}")
    certificates = _certificates(signed)
    signer_info = signer_infos[0]
    with decoding("SignerInfo"):
        signer_certificate = _find_signer(signer_info["sid"], (*certificates, *extra_certificates))
        digest_name = DIGEST_OIDS.get(signer_info["digest_algorithm"]["algorithm"].dotted)
        if digest_name is None:
            raise CmsUnsupportedAlgorithm("SignerInfo digestAlgorithm is not supported")
        attributes = _attributes(signer_info["signed_attrs"])
        signed_bytes = _verified_input(signer_info, attributes, content or b"", content_type, digest_name)
        _verify(
            signer_certificate,
            signer_info["signature_algorithm"]["algorithm"].dotted,
            signer_info["signature"].native,
            signed_bytes,
            digest_name,
        )
        signing_time = attributes[_SIGNING_TIME][0].native if _SIGNING_TIME in attributes else None
        encoded = {oid: tuple(value.dump() for value in values) for oid, values in attributes.items()}
    return SignedMessage(
        content=content,
        content_type=content_type,
        signer_certificate=signer_certificate,
        certificates=certificates,
        crls=_crls(signed),
        signed_attributes=MappingProxyType(encoded),
        digest_algorithm=digest_name,
        signing_time=signing_time,
    )


def _parse_strict_der(
    data: bytes, detached_content: bytes | None, extra_certificates: tuple[x509.Certificate, ...]
) -> SignedMessage | None:
    """parse_signed_data for the usual message, plain DER with the usual fields, without asn1crypto.

    None for anything else and for anything that does not check out (a signature included): the
    general parser then parses it again and decides, so both give the same result for any input
    (tests/unit/pki/test_cms_strict_der.py). Only the signer's own attribute bytes are tried.
    """
    try:
        fields = strict.inside(data, strict.content_info(data, _SIGNED_DATA_OID))
        if len(fields) not in (4, 5) or tuple(fields[i].tag for i in (0, 1, 2, -1)) != _SIGNED_DATA_TAGS:
            return None
        if len(fields) == 5 and fields[3].tag != 0xA0:  # CRLs [1] and the like go the general way
            return None
        encap = strict.inside(data, fields[2])
        if not 1 <= len(encap) <= 2:
            return None
        content_type = strict.oid_of(data, encap[0])
        embedded = None
        if len(encap) == 2:
            if encap[1].tag != 0xA0:
                return None
            embedded = strict.contents(data, strict.only(data, encap[1], 0x04))
        if embedded is not None and detached_content is not None:
            return None
        content = embedded if embedded is not None else detached_content
        certificates = _strict_certificates(data, fields[3]) if len(fields) == 5 else ()
        signer_infos = strict.inside(data, fields[-1])
        if len(signer_infos) != 1 or signer_infos[0].tag != 0x30:
            return None
        signer_info = strict.inside(data, signer_infos[0])
        if len(signer_info) == 7 and signer_info[6].tag == 0xA1:  # unsignedAttrs: not read
            signer_info = signer_info[:6]
        _, sid, digest_identifier, attribute_set, signature_algorithm, signature = strict.shaped(
            signer_info, 0x02, 0x30, 0x30, 0xA0, 0x30, 0x04
        )
        signer_certificate = _strict_signer(strict.whole(data, sid), (*certificates, *extra_certificates))
        digest_name = DIGEST_OIDS.get(_strict_algorithm(data, digest_identifier))
        attributes = _strict_attributes(data, attribute_set)
        if signer_certificate is None or digest_name is None or not attributes:
            return None
        if attributes.get(_CONTENT_TYPE) != (strict.whole(data, encap[0]),):
            return None
        if attributes.get(_MESSAGE_DIGEST) != (der.octet_string(digest(digest_name, content or b"")),):
            return None
        signing_time = _strict_time(attributes.get(_SIGNING_TIME))
        algorithm = _strict_algorithm(data, signature_algorithm)
        signed_bytes = b"\x31" + data[attribute_set.head + 1 : attribute_set.end]  # retagged (RFC 5652 §5.4)
        _verify(signer_certificate, algorithm, strict.contents(data, signature), [signed_bytes], digest_name)
    except Exception:  # noqa: BLE001 - never a verdict here: the general parser decides, errors included
        return None
    return SignedMessage(
        content=content,
        content_type=content_type,
        signer_certificate=signer_certificate,
        certificates=certificates,
        crls=(),
        signed_attributes=MappingProxyType(attributes),
        digest_algorithm=digest_name,
        signing_time=signing_time,
    )


def _strict_certificates(data: bytes, certificate_set: strict.Tlv) -> tuple[x509.Certificate, ...]:
    choices = strict.inside(data, certificate_set)
    if any(choice.tag != 0x30 for choice in choices):  # attribute and other certificates: general way
        raise strict.NotStrictDer
    return tuple(x509.load_der_x509_certificate(strict.whole(data, choice)) for choice in choices)


def _strict_signer(sid: bytes, certificates: tuple[x509.Certificate, ...]) -> x509.Certificate | None:
    """The first certificate whose own IssuerAndSerialNumber bytes are `sid`.

    None if an earlier certificate has the sid's serial: the general parser's X.520 comparison of
    the issuer might pick that one, so it decides.
    """
    serials = []
    for certificate in certificates:
        if der.issuer_and_serial(certificate) == sid:
            if any(serial == certificate.serial_number for serial in serials):
                return None
            return certificate
        serials.append(certificate.serial_number)
    return None


def _strict_algorithm(data: bytes, identifier: strict.Tlv) -> str:
    """The OID of an AlgorithmIdentifier (its parameters, if any, are not read: nor are they generally)."""
    fields = strict.inside(data, identifier)
    if not 1 <= len(fields) <= 2:
        raise strict.NotStrictDer
    return strict.oid_of(data, fields[0])


# The outer tag asn1crypto requires of each value of the attributes it types (cms.CMSAttribute), beyond
# the three checked by value; it refuses any other, so the fast path does too. None: a CHOICE, read
# the general way. tests/unit/pki/test_cms_strict_der.py holds this equal to asn1crypto's table.
_TYPED_ATTRIBUTE_TAGS: dict[str, int | None] = {
    "1.2.840.113549.1.9.6": 0x30,  # counterSignature
    "1.2.840.113549.1.9.15": 0x30,  # smimeCapabilities
    "1.2.840.113549.1.9.16.2.11": None,  # encryptionKeyPreference (RFC 8551 §2.5.3)
    "1.2.840.113549.1.9.16.2.14": 0x30,  # signatureTimeStampToken
    "1.2.840.113549.1.9.52": 0x30,  # CMSAlgorithmProtection
    "1.3.6.1.4.1.311.2.4.1": 0x30,  # Microsoft's nested signature
    "1.3.6.1.4.1.311.3.3.1": 0x30,  # Microsoft's time-stamp token
}


def _strict_attributes(data: bytes, attribute_set: strict.Tlv) -> dict[str, tuple[bytes, ...]]:
    """Each signed attribute's values as DER TLVs, by type; a repeated type is the general way's error."""
    attributes: dict[str, tuple[bytes, ...]] = {}
    for attribute in strict.inside(data, attribute_set):
        if attribute.tag != 0x30:
            raise strict.NotStrictDer
        kind, values = strict.shaped(strict.inside(data, attribute), 0x06, 0x31)
        oid = strict.oid_of(data, kind)
        if oid in attributes:
            raise strict.NotStrictDer
        members = strict.inside(data, values)
        if oid in _TYPED_ATTRIBUTE_TAGS and any(m.tag != _TYPED_ATTRIBUTE_TAGS[oid] for m in members):
            raise strict.NotStrictDer
        attributes[oid] = tuple(strict.whole(data, member) for member in members)
    return attributes


def _strict_time(values: tuple[bytes, ...] | None) -> datetime | None:
    if values is None:
        return None
    if len(values) != 1 or values[0][0] not in (0x17, 0x18):  # UTCTime, GeneralizedTime
        raise strict.NotStrictDer
    moment: datetime = core.load(values[0], strict=True).native
    return moment


def _find_signer(sid: cms.SignerIdentifier, certificates: tuple[x509.Certificate, ...]) -> x509.Certificate:
    for certificate in certificates:
        if identifies(sid, certificate):
            return certificate
    raise CmsSignatureInvalid("SignerInfo sid matches no certificate in the SignedData")


def _attributes(signed_attrs: cms.CMSAttributes) -> dict[str, tuple[core.Asn1Value, ...]]:
    result: dict[str, tuple[core.Asn1Value, ...]] = {}
    if isinstance(signed_attrs, core.Void):
        return result
    for attribute in signed_attrs:
        oid = attribute["type"].dotted
        if oid in result:
            raise CmsDecodeError(f"signedAttrs must not repeat attribute {oid}")
        result[oid] = tuple(attribute["values"])
    return result


def _verified_input(
    signer_info: cms.SignerInfo,
    attributes: dict[str, tuple[core.Asn1Value, ...]],
    content: bytes,
    content_type: str,
    digest_name: str,
) -> Iterable[bytes]:
    """Return the candidate byte strings the signature covers, after checking the digest attributes."""
    if not attributes:
        return [content]
    # RFC 5652 §5.3: with signedAttrs present, contentType and messageDigest are mandatory.
    if len(attributes.get(_CONTENT_TYPE, ())) != 1 or len(attributes.get(_MESSAGE_DIGEST, ())) != 1:
        raise CmsDecodeError("signedAttrs must hold one contentType and one messageDigest")
    if attributes[_CONTENT_TYPE][0].dotted != content_type:
        raise CmsSignatureInvalid("signed contentType attribute differs from the eContentType")
    if attributes[_MESSAGE_DIGEST][0].native != digest(digest_name, content):
        raise CmsSignatureInvalid("messageDigest attribute does not match the content")
    return set_encodings(signer_info["signed_attrs"])


def _verify(
    certificate: x509.Certificate, algorithm: str, signature: bytes, candidates: Iterable[bytes], name: str
) -> None:
    key = certificate.public_key()
    hash_algorithm = hash_for(name)
    for data in candidates:
        try:
            if isinstance(key, rsa.RSAPublicKey) and algorithm in _RSA_SIGNATURES:
                key.verify(signature, data, padding.PKCS1v15(), hash_algorithm)
            elif isinstance(key, ec.EllipticCurvePublicKey) and algorithm in _ECDSA_SIGNATURES:
                key.verify(signature, data, ec.ECDSA(hash_algorithm))
            else:
                raise CmsUnsupportedAlgorithm(f"SignerInfo signatureAlgorithm {algorithm} is not supported")
            return
        except InvalidSignature:
            continue
    raise CmsSignatureInvalid("SignerInfo signature does not verify with the signer certificate")
