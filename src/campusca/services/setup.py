"""Setting up a CA from nothing: data directory, master key, database, root and issuing CA, RA and OCSP."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from campusca.config import Settings
from campusca.db import Database
from campusca.db.models import CertificateAuthority, ServiceIdentity
from campusca.keys import KeyType, create_master_key_file
from campusca.pki.certificates import PublicationUrls, build_intermediate_ca, build_root_ca
from campusca.services import audit
from campusca.services.authority import ISSUING_CA, ROOT_CA, Authority, open_authority
from campusca.services.ca.crls import publish_crl
from campusca.services.ca.issuance import BACKDATE, issue_certificate
from campusca.services.errors import Conflict

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
    now = authority.now() - BACKDATE
    root_key = authority.keys.generate("root-ca", root_type)
    root = build_root_ca(
        key=root_key, subject=_ca_name(org_name, "Root CA"), not_before=now, validity_days=ROOT_VALIDITY_DAYS
    )
    issuing_key = authority.keys.generate("issuing-ca", key_type)
    issuing = build_intermediate_ca(
        public_key=issuing_key.public_key(),
        subject=_ca_name(org_name, "Issuing CA"),
        issuer_certificate=root,
        issuer_key=root_key,
        # The root answers no OCSP: relying parties check the issuing CA against the root's CRL.
        issuer_urls=PublicationUrls.for_ca(settings.public_url, ROOT_CA, ocsp=False),
        not_before=now,
        validity_days=ISSUING_VALIDITY_DAYS,
    )
    with authority.db.write() as session:
        root_row = CertificateAuthority(
            slug=ROOT_CA, kind="root", certificate_der=_der(root), key_label="root-ca"
        )
        session.add(root_row)
        session.flush()
        session.add(
            CertificateAuthority(
                slug=ISSUING_CA,
                kind="issuing",
                parent_id=root_row.id,
                certificate_der=_der(issuing),
                key_label="issuing-ca",
            )
        )
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="ca.initialised",
            target=f"ca:{ROOT_CA}",
            details={
                "root": root.subject.rfc4514_string(),
                "issuing": issuing.subject.rfc4514_string(),
                "key_type": key_type.value,
            },
            at=authority.now(),
        )
    identities = {}
    for purpose, label, service_key_type, cn in (
        # SCEP clients (Apple, OpenSSL) need an RSA RA that can both sign and decrypt.
        ("ra", "scep-ra", KeyType.RSA_2048, "SCEP RA"),
        (
            "ocsp",
            "ocsp-responder",
            KeyType.RSA_2048 if key_type.is_rsa else KeyType.EC_P256,
            "OCSP Responder",
        ),
        # Apple configuration profiles are signed by a certificate of our own so iOS shows them verified.
        (
            "profile-signing",
            "profile-signer",
            KeyType.RSA_2048 if key_type.is_rsa else KeyType.EC_P256,
            "Profile Signing",
        ),
    ):
        identities[purpose] = create_service_identity(
            authority, purpose, label, service_key_type, _ca_name(org_name, cn), actor
        )
    with authority.db.write() as session:
        for slug in (ROOT_CA, ISSUING_CA):
            publish_crl(authority, session, authority.ca(slug), actor=actor)
    return authority, InitResult(settings.home, root, issuing, identities["ra"], identities["ocsp"])


def create_service_identity(
    authority: Authority, purpose: str, label: str, key_type: KeyType, subject: x509.Name, actor: str
) -> x509.Certificate:
    """Generate a key in the backend and issue the CA's own service certificate for it."""
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
        )
        session.add(
            ServiceIdentity(
                purpose=purpose,
                ca_id=authority.ca(ISSUING_CA).id,
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
