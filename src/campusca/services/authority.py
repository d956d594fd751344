"""The running CA: settings, database, key backend, clock, and the loaded CA material."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from sqlalchemy import select

from campusca.config import Settings
from campusca.db import Database
from campusca.db.models import CertificateAuthority, ServiceIdentity
from campusca.keys import KeyBackend, SoftwareKeyBackend, read_master_key
from campusca.pki.certificates import PublicationUrls
from campusca.services.errors import InvalidInput, NotFound

ISSUING_CA = "issuing"  # devices, servers and the CA's own service certificates
ROOT_CA = "root"
SMIME_CA = "smime"  # S/MIME only (S/MIME BR §7.1.2.2); installs from before it have none until `ca add-smime`
# How long a process believes that a CA does not exist before it looks again (a CA added by the CLI
# while `serve` runs is used from then on without a restart).
_MISSING_CA_RECHECK_SECONDS = 60.0


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class LoadedCA:
    """A CA certificate with the handle of its key and where it publishes."""

    id: int
    slug: str
    kind: str
    certificate: x509.Certificate
    key: CertificateIssuerPrivateKeyTypes
    urls: PublicationUrls  # the URLs put into certificates this CA issues


@dataclass(frozen=True, slots=True)
class LoadedIdentity:
    purpose: str
    ca_id: int
    certificate: x509.Certificate
    key: CertificateIssuerPrivateKeyTypes


@dataclass
class Authority:
    """Everything a service needs; one per process, passed explicitly (never a global)."""

    settings: Settings
    db: Database
    keys: KeyBackend
    clock: Callable[[], datetime] = system_clock
    _cas: dict[str, LoadedCA] = field(default_factory=dict)
    _identities: dict[tuple[str, str], LoadedIdentity] = field(default_factory=dict)
    _missing_cas: dict[str, float] = field(default_factory=dict)
    # This serve process's pre-produced OCSP answers (`ca.preproduced.serving_answers`); None elsewhere.
    ocsp_answers: object | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def now(self) -> datetime:
        return self.clock()

    def urls_for(self, ca_slug: str) -> PublicationUrls:
        return PublicationUrls.for_ca(self.settings.effective_revocation_url, ca_slug)

    def ca(self, slug: str = ISSUING_CA) -> LoadedCA:
        """The CA with this slug, loaded once per process (CA certificates do not change)."""
        with self._lock:
            cached = self._cas.get(slug)
        if cached is not None:
            return cached
        with self.db.read() as session:
            row = session.execute(
                select(CertificateAuthority).where(CertificateAuthority.slug == slug)
            ).scalar()
            if row is None:
                raise NotFound(f"no CA named {slug!r}; run 'campusca init' first")
            loaded = LoadedCA(
                id=row.id,
                slug=row.slug,
                kind=row.kind,
                certificate=x509.load_der_x509_certificate(row.certificate_der),
                key=self.keys.signer(row.key_label),
                urls=self.urls_for(row.slug),
            )
        with self._lock:
            self._cas[slug] = loaded
        return loaded

    def has_ca(self, slug: str) -> bool:
        """Whether a CA with this slug exists (a negative answer is remembered for a minute)."""
        with self._lock:
            if slug in self._cas:
                return True
            checked = self._missing_cas.get(slug)
        if checked is not None and time.monotonic() - checked < _MISSING_CA_RECHECK_SECONDS:
            return False
        if slug in self.ca_slugs():
            return True
        with self._lock:
            self._missing_cas[slug] = time.monotonic()
        return False

    def issuing_ca(self, slug: str) -> LoadedCA:
        """The CA that issues under `slug`: the S/MIME CA where it exists, else the issuing CA (older installs)."""
        return self.ca(slug if slug == ISSUING_CA or self.has_ca(slug) else ISSUING_CA)

    def issuer_of(self, certificate: x509.Certificate) -> LoadedCA:
        """The CA of ours whose subject is the certificate's issuer (loaded CAs first: no read on hot paths)."""
        with self._lock:
            loaded_cas = list(self._cas.values())
        for loaded in loaded_cas:
            if loaded.certificate.subject == certificate.issuer:
                return loaded
        for slug in self.ca_slugs():
            loaded = self.ca(slug)
            if loaded.certificate.subject == certificate.issuer:
                return loaded
        raise NotFound(f"no CA here named {certificate.issuer.rfc4514_string()!r}")

    def ca_by_id(self, ca_id: int) -> LoadedCA:
        for slug in self.ca_slugs():
            loaded = self.ca(slug)
            if loaded.id == ca_id:
                return loaded
        raise NotFound(f"no CA with id {ca_id}")

    def ca_slugs(self) -> list[str]:
        with self.db.read() as session:
            return list(
                session.execute(select(CertificateAuthority.slug).order_by(CertificateAuthority.id)).scalars()
            )

    def chain(self, slug: str = ISSUING_CA) -> list[x509.Certificate]:
        """The CA `slug` first, then its issuers up to the root (every CA here sits right below the root)."""
        ca = self.ca(slug)
        return [ca.certificate] if ca.kind == "root" else [ca.certificate, self.ca(ROOT_CA).certificate]

    def all_ca_certificates(self) -> list[x509.Certificate]:
        """Every CA certificate here, the subordinate CAs first and the root last."""
        slugs = self.ca_slugs()
        return [self.ca(s).certificate for s in slugs if s != ROOT_CA] + [self.ca(ROOT_CA).certificate]

    def chain_of(self, certificate: x509.Certificate) -> list[x509.Certificate]:
        """The CA certificates above a certificate we issued, its issuer first."""
        return self.chain(self.issuer_of(certificate).slug)

    def identity(self, purpose: str, ca_slug: str = ISSUING_CA) -> LoadedIdentity:
        """The active service certificate for a purpose (ra, ocsp, profile-signing) issued by CA `ca_slug`."""
        with self._lock:
            cached = self._identities.get((purpose, ca_slug))
        if cached is not None:
            return cached
        ca_id = self.ca(ca_slug).id
        with self.db.read() as session:
            row = session.execute(
                select(ServiceIdentity)
                .where(
                    ServiceIdentity.purpose == purpose,
                    ServiceIdentity.ca_id == ca_id,
                    ServiceIdentity.active.is_(True),
                )
                .order_by(ServiceIdentity.id.desc())
            ).scalar()
            if row is None:
                raise NotFound(f"no {purpose} certificate for CA {ca_slug!r}; run 'campusca init' first")
            loaded = LoadedIdentity(
                purpose=purpose,
                ca_id=row.ca_id,
                certificate=x509.load_der_x509_certificate(row.certificate_der),
                key=self.keys.signer(row.key_label),
            )
        with self._lock:
            self._identities[(purpose, ca_slug)] = loaded
        return loaded

    def load_signing_keys(self) -> None:
        """Decrypt now every key this process may sign with: each CA's and each active service identity's.

        A software key's decryption runs scrypt, which takes 32 MB for a moment; done at a worker's start,
        when it holds least, that moment is not added to its peak under load (docs/architecture.md).
        """
        for slug in self.ca_slugs():
            self.ca(slug)
        with self.db.read() as session:
            labels = session.execute(
                select(ServiceIdentity.key_label).where(ServiceIdentity.active.is_(True)).distinct()
            ).scalars()
            for label in list(labels):
                self.keys.signer(label)

    def forget_cached_material(self) -> None:
        with self._lock:
            self._cas.clear()
            self._identities.clear()
            self._missing_cas.clear()


def open_authority(settings: Settings, *, clock: Callable[[], datetime] = system_clock) -> Authority:
    """Connect to the database and the key backend named by the settings."""
    # Enough connections for every write slot plus the reads beside them (the thread pool has 40).
    db = Database(settings.effective_database_url, pool_size=settings.write_concurrency + 32)
    keys = make_key_backend(settings)
    return Authority(settings=settings, db=db, keys=keys, clock=clock)


def make_key_backend(settings: Settings) -> KeyBackend:
    if settings.key_backend == "software":
        return SoftwareKeyBackend(
            settings.keys_dir, read_master_key(settings.master_key, settings.master_key_file)
        )
    if settings.key_backend == "pkcs11":
        from campusca.keys.pkcs11 import Pkcs11KeyBackend  # python-pkcs11 is an optional extra

        if not (settings.pkcs11_module and settings.pkcs11_token_label and settings.pkcs11_pin):
            raise InvalidInput(
                "the pkcs11 key backend needs CAMPUSCA_PKCS11_MODULE, CAMPUSCA_PKCS11_TOKEN_LABEL and CAMPUSCA_PKCS11_PIN"
            )
        return Pkcs11KeyBackend(
            module=settings.pkcs11_module, token_label=settings.pkcs11_token_label, pin=settings.pkcs11_pin
        )
    raise InvalidInput(f"key backend must be 'software' or 'pkcs11'; got {settings.key_backend!r}")
