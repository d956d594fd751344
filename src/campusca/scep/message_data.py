"""SCEP messageData codecs (RFC 8894 §3.3): IssuerAndSubject, IssuerAndSerialNumber, challengePassword."""

from __future__ import annotations

from asn1crypto import cms as asn1_cms
from asn1crypto import core
from asn1crypto import csr as asn1_csr
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import ObjectIdentifier

from campusca.scep.errors import ScepDecodeError
from campusca.scep.messages import IssuerAndSerial, IssuerAndSubject
from campusca.scep.oids import ScepOID

# String types a Name attribute value may have; the key is the universal tag number.
_NAME_STRING_TAGS = {
    t.value: t
    for t in (
        _ASN1Type.UTF8String,
        _ASN1Type.NumericString,
        _ASN1Type.PrintableString,
        _ASN1Type.T61String,
        _ASN1Type.IA5String,
        _ASN1Type.VisibleString,
        _ASN1Type.UniversalString,
        _ASN1Type.BMPString,
    )
}


class _IssuerAndSubject(core.Sequence):
    """IssuerAndSubject ::= SEQUENCE { issuer Name, subject Name } (RFC 8894 §3.3.3)."""

    _fields = [("issuer", asn1_x509.Name), ("subject", asn1_x509.Name)]


def _to_x509_name(name: asn1_x509.Name, field: str) -> x509.Name:
    """Convert an asn1crypto Name to a cryptography Name, keeping each value's string type."""
    rdns = []
    for rdn in name.chosen:
        attributes = []
        for type_and_value in rdn:
            oid = ObjectIdentifier(type_and_value["type"].dotted)
            value = core.load(type_and_value["value"].dump())
            name_type = _NAME_STRING_TAGS.get(value.tag) if value.class_ == 0 else None
            if name_type is None:
                # x500UniqueIdentifier (BIT STRING) is legal but never names a SCEP CA or device.
                raise ScepDecodeError(f"{field} name holds an attribute value that is not a string")
            attributes.append(x509.NameAttribute(oid, value.native, _type=name_type))
        if not attributes:
            raise ScepDecodeError(f"{field} name holds an empty relative distinguished name")
        rdns.append(x509.RelativeDistinguishedName(attributes))
    return x509.Name(rdns)


def _to_asn1_name(name: x509.Name) -> asn1_x509.Name:
    return asn1_x509.Name.load(name.public_bytes())


def decode_issuer_and_subject(data: bytes) -> IssuerAndSubject:
    """Parse the DER IssuerAndSubject of a CertPoll."""
    try:
        parsed = _IssuerAndSubject.load(data, strict=True)
        return IssuerAndSubject(
            issuer=_to_x509_name(parsed["issuer"], "issuer"),
            subject=_to_x509_name(parsed["subject"], "subject"),
        )
    except (ValueError, TypeError, KeyError) as exc:
        raise ScepDecodeError("CertPoll messageData must be a DER IssuerAndSubject") from exc


def encode_issuer_and_subject(value: IssuerAndSubject) -> bytes:
    """DER IssuerAndSubject, as a client sends it in CertPoll."""
    encoded = _IssuerAndSubject(
        {"issuer": _to_asn1_name(value.issuer), "subject": _to_asn1_name(value.subject)}
    )
    return bytes(encoded.dump())


def decode_issuer_and_serial(data: bytes) -> IssuerAndSerial:
    """Parse the DER IssuerAndSerialNumber of a GetCert or GetCRL."""
    try:
        parsed = asn1_cms.IssuerAndSerialNumber.load(data, strict=True)
        serial = parsed["serial_number"].native
        issuer = _to_x509_name(parsed["issuer"], "issuer")
    except (ValueError, TypeError, KeyError) as exc:
        raise ScepDecodeError("messageData must be a DER IssuerAndSerialNumber") from exc
    if not isinstance(serial, int) or serial < 0:
        raise ScepDecodeError("serial number must be a non-negative integer")
    return IssuerAndSerial(issuer=issuer, serial_number=serial)


def encode_issuer_and_serial(value: IssuerAndSerial) -> bytes:
    """DER IssuerAndSerialNumber, as a client sends it in GetCert and GetCRL."""
    encoded = asn1_cms.IssuerAndSerialNumber(
        {"issuer": _to_asn1_name(value.issuer), "serial_number": value.serial_number}
    )
    return bytes(encoded.dump())


def read_challenge_password(csr_der: bytes) -> str | None:
    """The PKCS#9 challengePassword of a PKCS#10 request, or None when it has none.

    Apple writes PrintableString when it can and UTF8String otherwise; other clients use
    IA5String or BMPString, so every DirectoryString choice is read.
    """
    try:
        info = asn1_csr.CertificationRequest.load(csr_der)["certification_request_info"]
        found = [a for a in info["attributes"] if a["type"].dotted == ScepOID.CHALLENGE_PASSWORD]
        if not found:
            return None
        if len(found) != 1 or len(found[0]["values"]) != 1:
            raise ScepDecodeError("challengePassword attribute must have exactly one value")
        return str(found[0]["values"][0].chosen.native)
    except (ValueError, TypeError, KeyError) as exc:  # UnicodeDecodeError is a ValueError
        raise ScepDecodeError("challengePassword attribute must be a DirectoryString") from exc
