"""Setting up a CA from nothing (data directory, master key, database, root, issuing and S/MIME CAs, RA, OCSP),
and adding the S/MIME CA to an install made before it existed."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from campusca.config import Settings
from campusca.db import Database
from campusca.db.models import CertificateAuthority, ServiceIdentity
from campusca.keys import KeyType, create_master_key_file
from campusca.pki.certificates import PublicationUrls, build_intermediate_ca, build_root_ca
from campusca.pki.profiles import SMIME_CA_EXTENDED_KEY_USAGE, SMIME_CA_POLICIES
from campusca.services import audit
from campusca.services.authority import ISSUING_CA, ROOT_CA, SMIME_CA, Authority, open_authority
from campusca.services.ca.authorities import record_all_ca_certificates
from campusca.services.ca.crls import publish_crl
from campusca.services.ca.issuance import BACKDATE, issue_certificate
from campusca.services.errors import Conflict, InvalidInput

# What each subordinate CA is called and may issue (S/MIME BR §7.1.2.2: EKU and policies on the S/MIME CA).
_SUBORDINATES: dict[str, tuple[str, tuple[x509.ObjectIdentifier, ...], tuple[x509.ObjectIdentifier, ...]]] = {
    ISSUING_CA: ("Issuing CA", (), ()),
    SMIME_CA: ("S/MIME CA", SMIME_CA_EXTENDED_KEY_USAGE, SMIME_CA_POLICIES),
}
ROOT_VALIDITY_DAYS = 20 * 365
ISSUING_VALIDITY_DAYS = 10 * 365
_ROOT_KEY = {KeyType.RSA_2048: KeyType.RSA_4096, KeyType.RSA_3072: KeyType.RSA_4096}


@dataclass(frozen=True, slots=True)
class InitResult:
    home: Path
    root: x509.Certificate
    issuing: x509.Certificate
    ra: x509.Certificate
    ocsp: x509.Certificate
    smime: x509.Certificate


def prepare_home(settings: Settings) -> None:
    """Create the data directory (0700) and, unless the master key comes from the environment, its key file."""
    settings.home.mkdir(parents=True, exist_ok=True)
    os.chmod(settings.home, 0o700)
    # An HSM holds the keys itself: no master key is made for it.
    if (
        settings.key_backend == "software"
        and not settings.master_key
        and not settings.master_key_file.exists()
    ):
        create_master_key_file(settings.master_key_file)


def is_initialised(db: Database) -> bool:
    with db.read() as session:
        return session.execute(select(CertificateAuthority.id)).first() is not None


def initialise(
    settings: Settings, *, org_name: str, key_type: KeyType = KeyType.RSA_3072, actor: str = "cli"
) -> tuple[Authority, InitResult]:
    """Create everything a fresh CA needs; refuses when a CA already exists here."""
    prepare_home(settings)
    authority = open_authority(settings)
    authority.db.upgrade()
    if is_initialised(authority.db):
        raise Conflict(f"a CA already exists in {settings.home}; refusing to overwrite it")
    root_type = _ROOT_KEY.get(key_type, key_type)
    root_key = authority.keys.generate("root-ca", root_type)
    root = build_root_ca(
        key=root_key,
        subject=_ca_name(org_name, "Root CA"),
        not_before=authority.now() - BACKDATE,
        validity_days=ROOT_VALIDITY_DAYS,
    )
    with authority.db.write() as session:
        session.add(
            CertificateAuthority(slug=ROOT_CA, kind="root", certificate_der=_der(root), key_label="root-ca")
        )
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="ca.initialised",
            target=f"ca:{ROOT_CA}",
            details={"root": root.subject.rfc4514_string(), "key_type": key_type.value},
            at=authority.now(),
        )
    issuing = create_subordinate_ca(authority, ISSUING_CA, org_name=org_name, key_type=key_type, actor=actor)
    identities = {}
    for purpose, label, service_key_type, cn in (
        # SCEP clients (Apple, OpenSSL) need an RSA RA that can both sign and decrypt.
        ("ra", "scep-ra", KeyType.RSA_2048, "SCEP RA"),
        ("ocsp", "ocsp-responder", _service_key_type(key_type), "OCSP Responder"),
        # Apple configuration profiles are signed by a certificate of our own so iOS shows them verified.
        ("profile-signing", "profile-signer", _service_key_type(key_type), "Profile Signing"),
    ):
        identities[purpose] = create_service_identity(
            authority, purpose, label, service_key_type, _ca_name(org_name, cn), actor
        )
    smime = add_smime_ca(authority, key_type=key_type, actor=actor)
    with authority.db.write() as session:
        for slug in (ROOT_CA, ISSUING_CA):
            publish_crl(authority, session, authority.ca(slug), actor=actor)
    return authority, InitResult(settings.home, root, issuing, identities["ra"], identities["ocsp"], smime)


def create_subordinate_ca(
    authority: Authority, slug: str, *, org_name: str, key_type: KeyType, actor: str
) -> x509.Certificate:
    """A new CA right below the root, recorded as a CA and as a certificate the root issued (so it can be revoked)."""
    role, extended_key_usage, policies = _SUBORDINATES[slug]
    root = authority.ca(ROOT_CA)
    key = authority.keys.generate(f"{slug}-ca", key_type)
    certificate = build_intermediate_ca(
        public_key=key.public_key(),
        subject=_ca_name(org_name, role),
        issuer_certificate=root.certificate,
        issuer_key=root.key,
        # The root answers no OCSP: relying parties check an issuing CA against the root's CRL.
        issuer_urls=PublicationUrls.for_ca(authority.settings.effective_revocation_url, ROOT_CA, ocsp=False),
        not_before=authority.now() - BACKDATE,
        validity_days=ISSUING_VALIDITY_DAYS,
        extended_key_usage=extended_key_usage,
        policies=policies,
    )
    with authority.db.write() as session:
        row = CertificateAuthority(
            slug=slug,
            kind="issuing",
            parent_id=root.id,
            certificate_der=_der(certificate),
            key_label=f"{slug}-ca",
        )
        session.add(row)
        session.flush()
        record_all_ca_certificates(authority, session, actor=actor)
        audit.record(
            session,
            actor=actor,
            action="ca.created",
            target=f"ca:{slug}",
            details={"subject": certificate.subject.rfc4514_string(), "key_type": key_type.value},
            at=authority.now(),
        )
    return certificate


def add_smime_ca(authority: Authority, *, key_type: KeyType | None = None, actor: str) -> x509.Certificate:
    """Add the dedicated S/MIME CA (and its OCSP responder) to an install; S/MIME profiles issue from it at once.

    Its key type defaults to the issuing CA's, its name to the root's organisation.
    """
    if authority.has_ca(SMIME_CA):
        raise Conflict(f"CA {SMIME_CA!r} already exists")
    issuing = authority.ca(ISSUING_CA).certificate
    chosen = key_type or key_type_of(issuing.public_key())
    org_values = issuing.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    org_name = str(org_values[0].value) if org_values else "campusca"
    certificate = create_subordinate_ca(authority, SMIME_CA, org_name=org_name, key_type=chosen, actor=actor)
    authority.forget_cached_material()
    create_service_identity(
        authority,
        "ocsp",
        f"ocsp-responder-{SMIME_CA}",
        _service_key_type(chosen),
        _ca_name(org_name, "S/MIME OCSP Responder"),
        actor,
        ca_slug=SMIME_CA,
    )
    with authority.db.write() as session:
        publish_crl(authority, session, authority.ca(SMIME_CA), actor=actor)
    return certificate


def key_type_of(public_key: object) -> KeyType:
    """The KeyType of an existing RSA or EC public key (to give a new CA the issuing CA's kind of key)."""
    if isinstance(public_key, rsa.RSAPublicKey):
        return KeyType(f"rsa-{public_key.key_size}")
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return KeyType.EC_P384 if public_key.curve.key_size >= 384 else KeyType.EC_P256
    raise InvalidInput("the issuing CA key must be RSA or EC")


def _service_key_type(key_type: KeyType) -> KeyType:
    return KeyType.RSA_2048 if key_type.is_rsa else KeyType.EC_P256


def create_service_identity(
    authority: Authority,
    purpose: str,
    label: str,
    key_type: KeyType,
    subject: x509.Name,
    actor: str,
    *,
    ca_slug: str = ISSUING_CA,
) -> x509.Certificate:
    """Generate a key in the backend and issue the CA's own service certificate for it, by CA `ca_slug`."""
    key = authority.keys.generate(label, key_type)
    with authority.db.write() as session:
        issued = issue_certificate(
            authority,
            session,
            profile_name=purpose,
            public_key=key.public_key(),
            subject=subject,
            actor=actor,
            not_after=authority.now() + timedelta(days=365 * (3 if purpose == "ra" else 1)),
            ca_slug=ca_slug,
        )
        session.add(
            ServiceIdentity(
                purpose=purpose,
                ca_id=authority.ca(ca_slug).id,
                certificate_der=_der(issued.certificate),
                key_label=label,
            )
        )
    return issued.certificate


def _ca_name(org_name: str, role: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org_name[:64]),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{org_name} {role}"[:64]),
        ]
    )


def _der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)
