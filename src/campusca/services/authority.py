"""The running CA: settings, database, key backend, clock, and the loaded CA material."""

from __future__ import annotations

import threading
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

ISSUING_CA = "issuing"
ROOT_CA = "root"


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
    _identities: dict[str, LoadedIdentity] = field(default_factory=dict)
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

    def chain(self) -> list[x509.Certificate]:
        """Issuing CA first, then its issuers up to the root."""
        return [self.ca(ISSUING_CA).certificate, self.ca(ROOT_CA).certificate]

    def identity(self, purpose: str) -> LoadedIdentity:
        """The active service certificate for a purpose (ra, ocsp, profile-signing)."""
        with self._lock:
            cached = self._identities.get(purpose)
        if cached is not None:
            return cached
        with self.db.read() as session:
            row = session.execute(
                select(ServiceIdentity)
                .where(ServiceIdentity.purpose == purpose, ServiceIdentity.active.is_(True))
                .order_by(ServiceIdentity.id.desc())
            ).scalar()
            if row is None:
                raise NotFound(f"no {purpose} certificate; run 'campusca init' first")
            loaded = LoadedIdentity(
                purpose=purpose,
                ca_id=row.ca_id,
                certificate=x509.load_der_x509_certificate(row.certificate_der),
                key=self.keys.signer(row.key_label),
            )
        with self._lock:
            self._identities[purpose] = loaded
        return loaded

    def forget_cached_material(self) -> None:
        with self._lock:
            self._cas.clear()
            self._identities.clear()


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
