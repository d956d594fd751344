"""CMS SignedData (RFC 5652 §5): build, verify, and the degenerate certs-only form."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from types import MappingProxyType

from asn1crypto import algos, cms, core
from asn1crypto import crl as asn1_crl
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from campusca.pki._cms_der import (
    DIGEST_OIDS,
    decoding,
    digest,
    hash_for,
    identifies,
    issuer_and_serial,
    load_content_info,
    octets,
    set_encodings,
    to_asn1_certificate,
)
from campusca.pki._cms_types import SignedMessage
from campusca.pki.errors import CmsDecodeError, CmsSignatureInvalid, CmsUnsupportedAlgorithm
from campusca.pki.signing import Signer, sign_digest_args

DATA = "1.2.840.113549.1.7.1"
_CONTENT_TYPE, _MESSAGE_DIGEST, _SIGNING_TIME = (
    "1.2.840.113549.1.9.3",
    "1.2.840.113549.1.9.4",
    "1.2.840.113549.1.9.5",
)
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
    "sha1": "sha1_ecdsa",
    "sha256": "sha256_ecdsa",
    "sha384": "sha384_ecdsa",
    "sha512": "sha512_ecdsa",
}


class _OrderedCertificateSet(cms.CertificateSet):  # type: ignore[misc]
    """A CertificateSet that keeps the caller's order (SCEP clients read the RA certificate first)."""

    def _set_contents(self, force: bool = False) -> None:
        self._contents = b"".join(child.dump(force=force) for child in self)
        self._header = None
        self._trailer = b""


class _OrderedCrlSet(cms.RevocationInfoChoices):  # type: ignore[misc]
    """A RevocationInfoChoices that keeps the caller's order."""

    def _set_contents(self, force: bool = False) -> None:
        self._contents = b"".join(child.dump(force=force) for child in self)
        self._header = None
        self._trailer = b""


def build_signed_data(
    content: bytes | None,
    *,
    signer: Signer,
    signer_certificate: x509.Certificate,
    digest_algorithm: str = "sha256",
    extra_signed_attributes: Sequence[cms.CMSAttribute] = (),
    certificates: Sequence[x509.Certificate] = (),
    detached: bool = False,
    content_type: str = DATA,
    signing_time: datetime | None = None,
) -> bytes:
    """Sign `content` and return a DER ContentInfo(SignedData) with one SignerInfo.

    Signed attributes are contentType, messageDigest, signingTime (when given) and the extras.
    A None `content` is signed as the empty string and carried as an absent eContent.
    """
    hash_algorithm = hash_for(digest_algorithm)
    public_key = signer.public_key()
    if _spki(public_key) != _spki(signer_certificate.public_key()):
        raise ValueError("signer_certificate public key must match the signer's key")
    attributes = _signed_attributes(
        content, digest_algorithm, content_type, signing_time, extra_signed_attributes
    )
    signature = signer.sign(attributes.dump(), *sign_digest_args(public_key, hash_algorithm))
    signer_info = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                name="issuer_and_serial_number", value=issuer_and_serial(signer_certificate)
            ),
            "digest_algorithm": {"algorithm": digest_algorithm},
            "signed_attrs": attributes,
            "signature_algorithm": _signature_algorithm(public_key, digest_algorithm),
            "signature": signature,
        }
    )
    encap: dict[str, object] = {"content_type": content_type}
    if content is not None and not detached:
        encap["content"] = content
    signed = cms.SignedData(
        {
            # RFC 5652 §5.1: version 3 when the eContentType is not id-data.
            "version": "v1" if content_type == DATA else "v3",
            "digest_algorithms": [{"algorithm": digest_algorithm}],
            "encap_content_info": encap,
            "certificates": _certificate_set([signer_certificate, *certificates]),
            "signer_infos": [signer_info],
        }
    )
    der: bytes = cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump()
    return der


def _spki(public_key: object) -> bytes:
    if not isinstance(public_key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        raise TypeError("signer key must be RSA or EC")
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _signature_algorithm(public_key: object, digest_algorithm: str) -> algos.SignedDigestAlgorithm:
    if isinstance(public_key, rsa.RSAPublicKey):
        return algos.SignedDigestAlgorithm({"algorithm": "rsassa_pkcs1v15", "parameters": core.Null()})
    return algos.SignedDigestAlgorithm({"algorithm": _ECDSA_BY_DIGEST[digest_algorithm]})


def _signed_attributes(
    content: bytes | None,
    digest_algorithm: str,
    content_type: str,
    signing_time: datetime | None,
    extra: Sequence[cms.CMSAttribute],
) -> cms.CMSAttributes:
    own = {_CONTENT_TYPE, _MESSAGE_DIGEST, _SIGNING_TIME}
    for attribute in extra:
        if attribute["type"].dotted in own:
            raise ValueError(f"extra_signed_attributes must not repeat {attribute['type'].native}")
    attributes = [
        cms.CMSAttribute({"type": "content_type", "values": [content_type]}),
        cms.CMSAttribute({"type": "message_digest", "values": [digest(digest_algorithm, content or b"")]}),
    ]
    if signing_time is not None:
        if signing_time.tzinfo is None:
            raise ValueError("signing_time must be timezone-aware")
        # RFC 5652 §11.3: UTCTime for 1950–2049, GeneralizedTime otherwise.
        choice = "utc_time" if 1950 <= signing_time.year < 2050 else "generalized_time"
        attributes.append(
            cms.CMSAttribute({"type": "signing_time", "values": [cms.Time(name=choice, value=signing_time)]})
        )
    return cms.CMSAttributes([*attributes, *extra])


def _certificate_set(certificates: Sequence[x509.Certificate]) -> _OrderedCertificateSet:
    seen: set[bytes] = set()
    choices = []
    for certificate in certificates:
        der = certificate.public_bytes(serialization.Encoding.DER)
        if der not in seen:
            seen.add(der)
            choices.append(cms.CertificateChoices(name="certificate", value=to_asn1_certificate(certificate)))
    return _OrderedCertificateSet(choices)


def build_certs_only(
    certificates: Sequence[x509.Certificate], crls: Sequence[x509.CertificateRevocationList] = ()
) -> bytes:
    """Return a degenerate SignedData (no signers, no content) carrying certificates and CRLs in order."""
    signed: dict[str, object] = {
        "version": "v1",
        "digest_algorithms": [],
        "encap_content_info": {"content_type": "data"},
        "certificates": _certificate_set(certificates),
        "signer_infos": [],
    }
    if crls:
        signed["crls"] = _OrderedCrlSet(
            [
                cms.RevocationInfoChoice(
                    name="crl",
                    value=asn1_crl.CertificateList.load(c.public_bytes(serialization.Encoding.DER)),
                )
                for c in crls
            ]
        )
    der: bytes = cms.ContentInfo({"content_type": "signed_data", "content": cms.SignedData(signed)}).dump()
    return der


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
        _verify(signer_certificate, signer_info, signed_bytes, digest_name)
        signing_time = attributes[_SIGNING_TIME][0].native if _SIGNING_TIME in attributes else None
    return SignedMessage(
        content=content,
        content_type=content_type,
        signer_certificate=signer_certificate,
        certificates=certificates,
        crls=_crls(signed),
        signed_attributes=MappingProxyType(attributes),
        digest_algorithm=digest_name,
        signing_time=signing_time,
    )


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
) -> list[bytes]:
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
    certificate: x509.Certificate, signer_info: cms.SignerInfo, candidates: list[bytes], name: str
) -> None:
    key = certificate.public_key()
    algorithm = signer_info["signature_algorithm"]["algorithm"].dotted
    signature = signer_info["signature"].native
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
