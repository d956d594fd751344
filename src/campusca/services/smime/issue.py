"""S/MIME certificates for a person: a signing and an encryption certificate, the latter escrowed by policy.

Signing keys are never escrowed (non-repudiation). With escrow on, campusca generates the encryption key,
archives it, and checks it against the issued certificate before the PKCS#12 is released, all in the
caller's transaction. With escrow off the person may send CSRs; keys campusca generates are handed over
in the PKCS#12 and dropped, and a custody record says that no copy is held (DESIGN §5, SBR §4.12.1).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from sqlalchemy import select
from sqlalchemy.orm import Session

from campusca.db.escrow import EscrowDomain, KeyCustody
from campusca.db.models import Certificate, Person
from campusca.identity.passphrases import judge_passphrase
from campusca.keys import KeyType, generate_private_key
from campusca.pki.certificates import openssl_serial
from campusca.pki.crl import RevocationReason
from campusca.pki.csr import load_csr
from campusca.pki.errors import CsrInvalid
from campusca.pki.pkcs12 import export_pkcs12
from campusca.services import audit
from campusca.services.authority import Authority
from campusca.services.ca.issuance import IssuedCertificate, issue_certificate
from campusca.services.ca.revocation import revoke_certificate
from campusca.services.errors import InvalidInput, PolicyViolation
from campusca.services.people.registry import get_person
from campusca.services.smime.escrow_keys import active_key, archive_key
from campusca.services.smime.escrow_policy import EffectivePolicy, effective_policy, find_domain

SIGNING = "smime-signing"
ENCRYPTION = "smime-encryption"
SMIME_PROFILES = (SIGNING, ENCRYPTION)
SMIME_KEY_TYPES = tuple(KeyType)
# RFC 5753/8551 S/MIME agreement over these curves is what openssl, NSS and Outlook all do.
EC_CURVES = (ec.SECP256R1, ec.SECP384R1)

SmimePrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True, slots=True)
class IssuedKeyPair:
    issued: IssuedCertificate
    key: SmimePrivateKey | None  # None when the public key came from a CSR


@dataclass(frozen=True, slots=True)
class SmimeBundle:
    """What `smime issue` hands to the person: certificates, PKCS#12 file(s), and whether escrow holds a copy."""

    username: str
    email: str
    signing: IssuedCertificate
    encryption: IssuedCertificate
    escrowed: bool
    escrow_scope: str | None
    escrow_mode: str | None
    password: str
    password_generated: bool
    legacy: bool
    pkcs12: bytes | None
    pkcs12_signing: bytes | None
    pkcs12_encryption: bytes | None

    def notice(self) -> str:
        """The sentence that tells the person what happens to their decryption key."""
        if self.escrowed:
            return (
                f"your encryption key is escrowed by {self.escrow_scope} ({self.escrow_mode} mode): "
                "it can be recovered if you lose it, and only through an approved recovery"
            )
        return (
            "your encryption key is NOT escrowed: campusca keeps no copy, so mail encrypted to it "
            "cannot be recovered if you lose the key"
        )

    def to_json(self) -> dict[str, object]:
        return {
            "username": self.username,
            "email": self.email,
            "signing": _cert_json(self.signing),
            "encryption": _cert_json(self.encryption),
            "escrowed": self.escrowed,
            "escrow_scope": self.escrow_scope,
            "escrow_mode": self.escrow_mode,
            "notice": self.notice(),
            "pkcs12_format": "legacy (3DES, SHA-1 MAC)"
            if self.legacy
            else "modern (PBES2 AES-256, SHA-256 MAC)",
        }


def _cert_json(issued: IssuedCertificate) -> dict[str, object]:
    return {"serial": openssl_serial(issued.serial), "profile": issued.profile, "pem": issued.pem.decode()}


def smime_key_type(authority: Authority) -> KeyType:
    """The configured `smime_key_type`: RSA (key transport) or EC P-256/P-384 (key agreement, RFC 5753)."""
    setting = authority.settings.smime_key_type
    try:
        return KeyType(setting)
    except ValueError:
        names = ", ".join(k.value for k in KeyType)
        raise PolicyViolation(f"smime_key_type must be one of {names}; got {setting!r}") from None


def generate_smime_key(authority: Authority) -> SmimePrivateKey:
    """A fresh key of the configured `smime_key_type`, in memory (escrowed or handed over, then dropped)."""
    key = generate_private_key(smime_key_type(authority))
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):  # pragma: no cover - KeyType
        raise PolicyViolation("smime_key_type must name an RSA or EC key")
    return key


def check_export_password(password: str, *, owner: str) -> None:
    """A PKCS#12 password chosen by a person must pass the passphrase policy: the file is attacked offline."""
    verdict = judge_passphrase(password, what="PKCS#12 password", related=(owner,))
    if not verdict.accepted:
        raise InvalidInput(verdict.refusal or "PKCS#12 password is too weak")


def issue_smime(
    authority: Authority,
    session: Session,
    *,
    username: str,
    actor: str,
    password: str | None = None,
    legacy: bool = False,
    split: bool = False,
    signing_csr: bytes | None = None,
    encryption_csr: bytes | None = None,
    generated_keys: Mapping[str, SmimePrivateKey] | None = None,
) -> SmimeBundle:
    """Issue a person's S/MIME signing and encryption certificates in the caller's transaction.

    `generated_keys` (by profile) are keys made before the transaction began, so that the write lock
    is not held during RSA key generation (hundreds of milliseconds); missing ones are made here.

    Earlier valid S/MIME certificates of the person are revoked as superseded, so the directory shows
    one current pair. The PKCS#12 holds every key campusca generated (signing first); `split` also
    makes one file per key, for clients that import a single key per file (gpgsm 2.2).
    """
    if password is not None:
        check_export_password(password, owner=username)
    person = get_person(session, username)
    policy = effective_policy(person.department)
    domain = find_domain(session, policy) if policy.enabled else None
    if policy.enabled:
        if encryption_csr is not None:
            raise PolicyViolation(
                f"escrow is on for {policy.scope}: campusca generates the encryption key so that it can "
                "be archived; send only a signing CSR"
            )
        if domain is None or active_key(domain) is None:
            raise PolicyViolation(
                f"escrow is on for {policy.scope} but its escrow domain has no key yet; "
                "quorum mode needs its recovery agents first"
            )
    supersede_smime_certificates(authority, session, person, actor=actor)
    made = generated_keys or {}
    signing = issue_one(
        authority, session, person, SIGNING, signing_csr, actor, {"escrowed": False}, made.get(SIGNING)
    )
    details = {"escrowed": policy.enabled, "escrow_scope": policy.scope if policy.enabled else None}
    encryption = issue_one(
        authority, session, person, ENCRYPTION, encryption_csr, actor, details, made.get(ENCRYPTION)
    )
    _record_custody(authority, session, person, encryption, policy, domain, actor)
    chosen = password or secrets.token_urlsafe(12)
    pairs = [(p.key, p.issued.certificate) for p in (signing, encryption) if p.key is not None]
    chain = authority.chain_of(signing.issued.certificate)

    def export(selected: list[tuple[SmimePrivateKey, x509.Certificate]]) -> bytes | None:
        if not selected:
            return None
        (key, certificate), *rest = selected
        return export_pkcs12(
            key=key,
            certificate=certificate,
            chain=chain,
            password=chosen.encode(),
            legacy=legacy,
            friendly_name=person.email.encode(),
            extra=rest,
        )

    return SmimeBundle(
        username=person.username,
        email=person.email,
        signing=signing.issued,
        encryption=encryption.issued,
        escrowed=policy.enabled,
        escrow_scope=policy.scope if policy.enabled else None,
        escrow_mode=policy.mode if policy.enabled else None,
        password=chosen,
        password_generated=password is None,
        legacy=legacy,
        pkcs12=export(pairs),
        pkcs12_signing=export(pairs[:1]) if split and signing.key is not None else None,
        pkcs12_encryption=export(pairs[-1:]) if split and encryption.key is not None else None,
    )


def issue_smime_bundle(
    authority: Authority,
    *,
    username: str,
    actor: str,
    password: str | None = None,
    legacy: bool = False,
    split: bool = False,
    signing_csr: bytes | None = None,
    encryption_csr: bytes | None = None,
) -> SmimeBundle:
    """Issue a person's S/MIME pair in one transaction of its own, committed when this returns.

    Both certificates, the escrow archive record (or the no-copy custody record), the superseding
    revocations and their audit records commit together or not at all: a bundle handed to the person
    always has its escrowed key behind it. The keys campusca generates are made before the transaction.
    """
    generated_keys = {
        profile: generate_smime_key(authority)
        for profile, csr in ((SIGNING, signing_csr), (ENCRYPTION, encryption_csr))
        if csr is None
    }
    with authority.db.write() as session:
        return issue_smime(
            authority,
            session,
            username=username,
            actor=actor,
            password=password,
            legacy=legacy,
            split=split,
            signing_csr=signing_csr,
            encryption_csr=encryption_csr,
            generated_keys=generated_keys,
        )


def issue_one(
    authority: Authority,
    session: Session,
    person: Person,
    profile: str,
    csr_bytes: bytes | None,
    actor: str,
    details: dict[str, object],
    generated_key: SmimePrivateKey | None = None,
) -> IssuedKeyPair:
    """Issue one S/MIME certificate for a CSR's key or a generated one, in the caller's transaction."""
    key: SmimePrivateKey | None = None
    csr: x509.CertificateSigningRequest | None = None
    if csr_bytes is not None:
        try:
            csr = load_csr(csr_bytes)
        except CsrInvalid as error:
            raise InvalidInput(f"{profile} CSR: {error}") from None
        public_key: CertificatePublicKeyTypes = csr.public_key()
        if profile == ENCRYPTION:
            check_encryption_key(public_key)
    else:
        key = generated_key or generate_smime_key(authority)
        public_key = key.public_key()
    source = "csr" if csr is not None else "generated"
    issued = issue_certificate(
        authority,
        session,
        profile_name=profile,
        public_key=public_key,
        actor=actor,
        person=person,
        csr=csr,
        audit_details={"key_source": source, **details},
    )
    if key is not None:
        check_generated_key(key, issued.certificate)
    return IssuedKeyPair(issued, key)


def issue_escrowed_encryption(
    authority: Authority, session: Session, person: Person, *, actor: str, details: dict[str, object]
) -> IssuedKeyPair:
    """Issue a new encryption certificate with a freshly generated, archived key (the re-key after a recovery)."""
    policy = effective_policy(person.department)
    domain = find_domain(session, policy) if policy.enabled else None
    if domain is None or active_key(domain) is None:
        raise PolicyViolation(f"escrow is off for {policy.scope}; no escrowed key can be issued")
    pair = issue_one(authority, session, person, ENCRYPTION, None, actor, {"escrowed": True, **details})
    _record_custody(authority, session, person, pair, policy, domain, actor)
    return pair


def _record_custody(
    authority: Authority,
    session: Session,
    person: Person,
    encryption: IssuedKeyPair,
    policy: EffectivePolicy,
    domain: EscrowDomain | None,
    actor: str,
) -> KeyCustody:
    if policy.enabled and domain is not None and encryption.key is not None:
        der = encryption.key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return archive_key(
            authority,
            session,
            person=person,
            certificate_id=encryption.issued.id,
            certificate=encryption.issued.certificate,
            private_key_der=der,
            domain=domain,
            actor=actor,
        )
    source = "generated" if encryption.key is not None else "csr"
    custody = KeyCustody(
        certificate_id=encryption.issued.id,
        person_id=person.id,
        escrowed=False,
        key_source=source,
        created_at=authority.now(),
    )
    session.add(custody)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="escrow.no_copy_held",
        target=f"certificate:{encryption.issued.serial_hex}",
        details={
            "person": person.username,
            "key_source": source,
            "why": f"escrow is off for {policy.scope}",
        },
        at=authority.now(),
    )
    return custody


def supersede_smime_certificates(
    authority: Authority, session: Session, person: Person, *, actor: str
) -> list[int]:
    """Revoke (superseded) the person's valid S/MIME certificates before a new pair is issued."""
    now = authority.now()
    rows = session.execute(
        select(Certificate).where(
            Certificate.person_id == person.id,
            Certificate.profile.in_(SMIME_PROFILES),
            Certificate.revoked_at.is_(None),
            Certificate.not_after > now,
        )
    ).scalars()
    serials = [int(row.serial_hex, 16) for row in rows]
    for serial in serials:
        revoke_certificate(
            authority,
            session,
            serial=serial,
            reason=RevocationReason.SUPERSEDED,
            actor=actor,
            audit_details={"why": "a new S/MIME certificate pair was issued"},
        )
    return serials


def check_encryption_key(public_key: CertificatePublicKeyTypes) -> None:
    """An encryption key must be RSA (key transport) or EC on P-256/P-384 (ECDH key agreement, RFC 5753)."""
    if isinstance(public_key, rsa.RSAPublicKey):
        return
    if isinstance(public_key, ec.EllipticCurvePublicKey) and isinstance(public_key.curve, EC_CURVES):
        return
    raise InvalidInput("smime-encryption CSR must carry an RSA key or an EC key on P-256 or P-384")


def check_generated_key(key: SmimePrivateKey, certificate: x509.Certificate) -> None:
    """Refuse to release a key that does not belong to its certificate."""
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    ours = key.public_key().public_bytes(serialization.Encoding.DER, spki)
    if ours != certificate.public_key().public_bytes(serialization.Encoding.DER, spki):
        raise PolicyViolation("generated key does not match the issued certificate; nothing was issued")
