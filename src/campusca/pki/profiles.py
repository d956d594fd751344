"""Certificate profiles as data: what each kind of certificate campusca issues contains.

A profile decides key usage, extended key usage, validity, policies and where the subject
alternative names come from. A CSR's requested extensions are never copied; the profile rules.
S/MIME profiles follow the CA/B Forum S/MIME Baseline Requirements, mailbox-validated strict.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from cryptography.x509.oid import ExtendedKeyUsageOID, ObjectIdentifier

from campusca.pki.errors import ProfileError
from campusca.pki.oids import PolicyOID


class SanSource(StrEnum):
    """Where a subject alternative name comes from."""

    PERSON_EMAIL = "person-email"  # rfc822Name: the person's verified mailbox
    CSR_DNS = "csr-dns"  # dNSName values the requester asked for (server certificates)
    DEVICE_URN = "device-urn"  # URI urn:uuid/udid of an enrolled device


class SubjectSource(StrEnum):
    """How the subject distinguished name is formed."""

    MAILBOX = "mailbox"  # CN = the person's e-mail address (SBR strict: no other attributes)
    PERSON = "person"  # CN = the person's name, O = organisation, OU = department
    CSR_COMMON_NAME = "csr-cn"  # CN taken from the CSR (servers, devices), O = organisation


KEY_USAGE_NAMES = frozenset(
    {
        "digital_signature",
        "content_commitment",
        "key_encipherment",
        "data_encipherment",
        "key_agreement",
        "key_cert_sign",
        "crl_sign",
    }
)


@dataclass(frozen=True, slots=True)
class Profile:
    """One kind of end-entity certificate."""

    name: str
    description: str
    key_usage_rsa: frozenset[str]
    key_usage_ec: frozenset[str]
    extended_key_usage: tuple[ObjectIdentifier, ...]
    validity_days: int
    subject: SubjectSource
    san_sources: tuple[SanSource, ...] = ()
    policies: tuple[ObjectIdentifier, ...] = ()
    ocsp_no_check: bool = False
    # Whether people may hold several valid certificates of this profile at once.
    escrowable: bool = False
    # The CA (by slug) that issues this profile: S/MIME from the dedicated S/MIME CA (S/MIME BR §7.1.2.2),
    # everything else from the device/server issuing CA.
    issuer_ca: str = "issuing"

    def __post_init__(self) -> None:
        unknown = (self.key_usage_rsa | self.key_usage_ec) - KEY_USAGE_NAMES
        if unknown:
            raise ProfileError(f"profile {self.name!r} names unknown key usages {sorted(unknown)}")


_EMAIL = ExtendedKeyUsageOID.EMAIL_PROTECTION
SMIME_CA = "smime"
# What the S/MIME subordinate CA certificate carries: the one EKU and every policy its profiles issue under.
SMIME_CA_EXTENDED_KEY_USAGE = (_EMAIL,)
SMIME_CA_POLICIES = (PolicyOID.SMIME_MAILBOX_VALIDATED_STRICT,)

PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile(
            name="smime-signing",
            description="S/MIME signing (SBR mailbox-validated strict); the key is never escrowed",
            key_usage_rsa=frozenset({"digital_signature", "content_commitment"}),
            key_usage_ec=frozenset({"digital_signature", "content_commitment"}),
            extended_key_usage=(_EMAIL,),
            validity_days=730,
            subject=SubjectSource.MAILBOX,
            san_sources=(SanSource.PERSON_EMAIL,),
            policies=(PolicyOID.SMIME_MAILBOX_VALIDATED_STRICT,),
            issuer_ca=SMIME_CA,
        ),
        Profile(
            name="smime-encryption",
            description="S/MIME encryption (SBR mailbox-validated strict); key escrowed where policy says",
            key_usage_rsa=frozenset({"key_encipherment"}),
            key_usage_ec=frozenset({"key_agreement"}),
            extended_key_usage=(_EMAIL,),
            validity_days=730,
            subject=SubjectSource.MAILBOX,
            san_sources=(SanSource.PERSON_EMAIL,),
            policies=(PolicyOID.SMIME_MAILBOX_VALIDATED_STRICT,),
            escrowable=True,
            issuer_ca=SMIME_CA,
        ),
        Profile(
            name="device",
            description="Device TLS client authentication (VPN, Wi-Fi / EAP-TLS)",
            key_usage_rsa=frozenset({"digital_signature", "key_encipherment"}),
            key_usage_ec=frozenset({"digital_signature"}),
            extended_key_usage=(ExtendedKeyUsageOID.CLIENT_AUTH,),
            validity_days=365,
            subject=SubjectSource.CSR_COMMON_NAME,
            san_sources=(SanSource.PERSON_EMAIL, SanSource.DEVICE_URN),
        ),
        Profile(
            name="server",
            description="TLS server (e.g. the VPN gateway)",
            key_usage_rsa=frozenset({"digital_signature", "key_encipherment"}),
            key_usage_ec=frozenset({"digital_signature"}),
            extended_key_usage=(ExtendedKeyUsageOID.SERVER_AUTH,),
            validity_days=397,
            subject=SubjectSource.CSR_COMMON_NAME,
            san_sources=(SanSource.CSR_DNS,),
        ),
        Profile(
            name="ra",
            description="SCEP registration authority: signs CertReps, decrypts requests (RSA only)",
            key_usage_rsa=frozenset({"digital_signature", "key_encipherment"}),
            key_usage_ec=frozenset({"digital_signature"}),
            extended_key_usage=(),
            validity_days=1095,
            subject=SubjectSource.CSR_COMMON_NAME,
        ),
        Profile(
            name="ocsp",
            description="OCSP responder (RFC 6960 delegated responder, id-pkix-ocsp-nocheck)",
            key_usage_rsa=frozenset({"digital_signature"}),
            key_usage_ec=frozenset({"digital_signature"}),
            extended_key_usage=(ExtendedKeyUsageOID.OCSP_SIGNING,),
            validity_days=365,
            subject=SubjectSource.CSR_COMMON_NAME,
            ocsp_no_check=True,
        ),
        Profile(
            name="profile-signing",
            description="Signs Apple configuration profiles",
            key_usage_rsa=frozenset({"digital_signature"}),
            key_usage_ec=frozenset({"digital_signature"}),
            extended_key_usage=(ExtendedKeyUsageOID.CODE_SIGNING,),
            validity_days=730,
            subject=SubjectSource.CSR_COMMON_NAME,
        ),
    )
}


def get_profile(name: str) -> Profile:
    """Look a profile up by name."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ProfileError(f"profile must be one of {', '.join(sorted(PROFILES))}; got {name!r}") from None
