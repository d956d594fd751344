"""Certificate, SCEP and passcode payloads (Apple device-management schemas com.apple.security.*, passcode).

Each builder returns one payload dictionary ready for `configuration_profile`. Inputs are checked against
the same ranges Apple's YAML schemas declare, so a profile that builds is a profile iOS accepts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from campusca.apple.errors import PayloadInvalid
from campusca.apple.types import Payload, PlistValue, check_identifier, check_int_range, payload_header

# Short names the SCEP payload's Subject understands; anything else goes as a dotted OID.
_SUBJECT_SHORT_NAMES = {
    NameOID.COUNTRY_NAME: "C",
    NameOID.LOCALITY_NAME: "L",
    NameOID.STATE_OR_PROVINCE_NAME: "ST",
    NameOID.ORGANIZATION_NAME: "O",
    NameOID.ORGANIZATIONAL_UNIT_NAME: "OU",
    NameOID.COMMON_NAME: "CN",
}
_SUBJECT_TYPE = re.compile(r"^(C|L|ST|O|OU|CN|[0-2](\.[0-9]+)+)$")
_SAN_KEYS = frozenset({"rfc822Name", "dNSName", "uniformResourceIdentifier", "ntPrincipalName"})
_KEY_SIZES = (2048, 4096)  # the schema also allows 1024, which no CA should issue today
_KEY_USAGES = (1, 4, 5)  # 1 digitalSignature, 4 keyEncipherment, 5 both


def root_certificate_payload(
    cert: x509.Certificate,
    *,
    identifier: str,
    display_name: str | None = None,
    payload_uuid: str | None = None,
) -> Payload:
    """Return a `com.apple.security.root` payload carrying a self-signed CA certificate (DER)."""
    return _certificate_payload("com.apple.security.root", cert, identifier, display_name, payload_uuid)


def pkcs1_certificate_payload(
    cert: x509.Certificate,
    *,
    identifier: str,
    display_name: str | None = None,
    payload_uuid: str | None = None,
) -> Payload:
    """Return a `com.apple.security.pkcs1` payload carrying a certificate without key (DER)."""
    return _certificate_payload("com.apple.security.pkcs1", cert, identifier, display_name, payload_uuid)


def certificate_payloads(
    certificates: Sequence[x509.Certificate], *, identifier_prefix: str
) -> list[Payload]:
    """Return one payload per CA certificate: `root` for self-issued ones, `pkcs1` for intermediates.

    Identifiers are `<prefix>.ca.<n>`; iOS keeps CA certificates from GetCACert nowhere, so a profile
    must ship the chain itself (research §1.3).
    """
    check_identifier(identifier_prefix, field="identifier_prefix")
    payloads: list[Payload] = []
    for index, cert in enumerate(certificates, start=1):
        identifier = f"{identifier_prefix}.ca.{index}"
        if cert.issuer == cert.subject:
            payloads.append(root_certificate_payload(cert, identifier=identifier))
        else:
            payloads.append(pkcs1_certificate_payload(cert, identifier=identifier))
    return payloads


def _certificate_payload(
    payload_type: str,
    cert: x509.Certificate,
    identifier: str,
    display_name: str | None,
    payload_uuid: str | None,
) -> Payload:
    if not isinstance(cert, x509.Certificate):
        raise TypeError("cert must be a cryptography x509.Certificate")
    name = display_name if display_name is not None else _common_name(cert) or "Certificate"
    payload = payload_header(
        payload_type, identifier=identifier, display_name=name, payload_uuid=payload_uuid
    )
    payload["PayloadCertificateFileName"] = _file_name(name)
    payload["PayloadContent"] = cert.public_bytes(Encoding.DER)
    return payload


def _common_name(cert: x509.Certificate) -> str | None:
    values = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else None


def _file_name(name: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "certificate"
    return f"{stem}.cer"


def subject_from_name(name: x509.Name) -> list[list[list[str]]]:
    """Return `name` in the SCEP payload's Subject form: a list of RDNs, each a list of [type, value] pairs.

    `[[["C","US"]],[["O","Example"]],[["CN","dev"]]]`: three levels of nesting, which iOS needs exactly
    (micromdm/micromdm#40). Order is the DER order, most significant RDN first.
    """
    subject: list[list[list[str]]] = []
    for rdn in name.rdns:
        pairs: list[list[str]] = []
        for attribute in rdn:
            if not isinstance(attribute.value, str):
                raise PayloadInvalid(f"subject attribute {attribute.oid.dotted_string} must be a string")
            pairs.append(
                [_SUBJECT_SHORT_NAMES.get(attribute.oid, attribute.oid.dotted_string), attribute.value]
            )
        subject.append(pairs)
    return subject


def _check_subject(subject: Sequence[Sequence[Sequence[str]]]) -> list[PlistValue]:
    if isinstance(subject, str) or not subject:
        raise PayloadInvalid("subject must be a non-empty list of RDNs, each a list of [type, value] pairs")
    rdns: list[PlistValue] = []
    for rdn in subject:
        if isinstance(rdn, str) or not rdn:
            raise PayloadInvalid("subject RDN must be a non-empty list of [type, value] pairs")
        pairs: list[PlistValue] = []
        for pair in rdn:
            if isinstance(pair, str) or len(pair) != 2 or not all(isinstance(p, str) for p in pair):
                raise PayloadInvalid("subject attribute must be a [type, value] pair of two strings")
            if not _SUBJECT_TYPE.match(pair[0]):
                raise PayloadInvalid("subject attribute type must be C, L, ST, O, OU, CN or a dotted OID")
            pairs.append([pair[0], pair[1]])
        rdns.append(pairs)
    return rdns


def scep_payload(
    *,
    identifier: str,
    url: str,
    subject: Sequence[Sequence[Sequence[str]]],
    challenge: str,
    name: str | None = None,
    key_size: int = 2048,
    key_usage: int = 5,
    retries: int = 3,
    retry_delay: int = 10,
    ca_fingerprint: bytes | None = None,
    subject_alt_names: Mapping[str, str] | None = None,
    display_name: str | None = None,
    payload_uuid: str | None = None,
) -> Payload:
    """Return a `com.apple.security.scep` payload: the device makes an RSA key and enrols for it by SCEP.

    `challenge` is the one-time challengePassword; `name` is sent as GetCACert's `message` (CA-IDENT);
    `ca_fingerprint` is the MD5 (16 bytes) or SHA-1 (20 bytes) of the chain-top CA certificate's DER, the
    only lengths iOS accepts; `subject_alt_names` maps rfc822Name/dNSName/uniformResourceIdentifier/
    ntPrincipalName to one string each.
    """
    if not url.startswith(("https://", "http://")):
        raise PayloadInvalid("url must be an http:// or https:// URL")
    if not challenge:
        raise PayloadInvalid("challenge must not be empty (iOS would prompt the user for one)")
    if key_size not in _KEY_SIZES:
        raise PayloadInvalid("key_size must be 2048 or 4096")
    if key_usage not in _KEY_USAGES:
        raise PayloadInvalid("key_usage must be 1 (signing), 4 (encryption) or 5 (both)")
    content: Payload = {
        "URL": url,
        "Subject": _check_subject(subject),
        "Challenge": challenge,
        "Keysize": key_size,
        # Spelled with spaces as in Apple's schema; "KeyType"/"KeyUsage" are not schema keys (research §2.4).
        "Key Type": "RSA",
        "Key Usage": key_usage,
        "Retries": check_int_range(retries, field="retries", low=0, high=100),
        "RetryDelay": check_int_range(retry_delay, field="retry_delay", low=0, high=3600),
    }
    if name is not None:
        content["Name"] = name
    if ca_fingerprint is not None:
        if not isinstance(ca_fingerprint, bytes) or len(ca_fingerprint) not in (16, 20):
            raise PayloadInvalid("ca_fingerprint must be an MD5 (16 bytes) or SHA-1 (20 bytes) digest")
        content["CAFingerprint"] = ca_fingerprint
    if subject_alt_names:
        unknown = sorted(set(subject_alt_names) - _SAN_KEYS)
        if unknown:
            raise PayloadInvalid(
                f"subject_alt_names key {unknown[0]!r} is not one Apple's SCEP payload knows"
            )
        if not all(isinstance(v, str) and v for v in subject_alt_names.values()):
            raise PayloadInvalid("subject_alt_names values must be non-empty strings")
        content["SubjectAltName"] = dict(subject_alt_names)
    payload = payload_header(
        "com.apple.security.scep",
        identifier=identifier,
        display_name=display_name if display_name is not None else "Device certificate (SCEP)",
        payload_uuid=payload_uuid,
    )
    payload["PayloadContent"] = content
    return payload


def passcode_policy_payload(
    *,
    identifier: str,
    force_pin: bool = True,
    min_length: int = 6,
    require_alphanumeric: bool = False,
    allow_simple: bool | None = None,
    min_complex_chars: int | None = None,
    max_inactivity_minutes: int | None = None,
    max_failed_attempts: int | None = None,
    max_pin_age_days: int | None = None,
    pin_history: int | None = None,
    max_grace_period_minutes: int | None = None,
    display_name: str | None = None,
    payload_uuid: str | None = None,
) -> Payload:
    """Return a `com.apple.mobiledevice.passwordpolicy` payload; None leaves a setting to the device.

    Ranges are the schema's: min_length 0–16, max_inactivity_minutes 0–15, max_failed_attempts 2–11
    (iOS wipes the device after that many), max_pin_age_days 0–730, pin_history 1–50,
    min_complex_chars 0–4.
    """
    payload = payload_header(
        "com.apple.mobiledevice.passwordpolicy",
        identifier=identifier,
        display_name=display_name if display_name is not None else "Passcode policy",
        payload_uuid=payload_uuid,
    )
    payload["forcePIN"] = bool(force_pin)
    payload["minLength"] = check_int_range(min_length, field="min_length", low=0, high=16)
    payload["requireAlphanumeric"] = bool(require_alphanumeric)
    if allow_simple is not None:
        payload["allowSimple"] = bool(allow_simple)
    optional_ints = (
        ("minComplexChars", "min_complex_chars", min_complex_chars, 0, 4),
        ("maxInactivity", "max_inactivity_minutes", max_inactivity_minutes, 0, 15),
        ("maxFailedAttempts", "max_failed_attempts", max_failed_attempts, 2, 11),
        ("maxPINAgeInDays", "max_pin_age_days", max_pin_age_days, 0, 730),
        ("pinHistory", "pin_history", pin_history, 1, 50),
        ("maxGracePeriod", "max_grace_period_minutes", max_grace_period_minutes, 0, 240),
    )
    for key, field, value, low, high in optional_ints:
        if value is not None:
            payload[key] = check_int_range(value, field=field, low=low, high=high)
    return payload
