"""Escrow domain keys and the archive of encryption keys: create, split, combine, re-wrap, archive, recover.

Simple mode keeps a domain's RSA key in the key backend (`authority.keys`); quorum mode generates it in
memory, splits its encryption key M-of-N among the domain's recovery agents with each share sealed under
the agent's passphrase, and forgets it (DESIGN §5). Archive records are AES-256-GCM under a fresh data key
bound to issuer, serial, owner and certificate, the data key wrapped to the domain's public key.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Mapping
from typing import cast

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from campusca import escrow
from campusca.db.escrow import EscrowAgent, EscrowDomain, EscrowDomainKeyRow, KeyCustody
from campusca.db.models import Person
from campusca.identity.passphrases import judge_passphrase
from campusca.keys import KeyType
from campusca.pki.signing import RsaDecrypter
from campusca.services import audit
from campusca.services.authority import Authority
from campusca.services.erasure import erase_after_commit
from campusca.services.errors import InvalidInput, PolicyViolation

SIMPLE = "simple"
QUORUM = "quorum"
MODES = (SIMPLE, QUORUM)


def active_key(domain: EscrowDomain) -> EscrowDomainKeyRow | None:
    return next((k for k in domain.keys if k.active), None)


def rsa_key_size(setting: str, what: str) -> int:
    try:
        key_type = KeyType(setting)
    except ValueError:
        raise PolicyViolation(f"{what} must be rsa-2048, rsa-3072 or rsa-4096; got {setting!r}") from None
    if not key_type.is_rsa:
        raise PolicyViolation(f"{what} must be an RSA key type (RSA key transport); got {setting!r}")
    return int(key_type.value.split("-")[1])


def _spki(public_key: rsa.RSAPublicKey) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def wrap_algorithm(authority: Authority, row: EscrowDomainKeyRow) -> escrow.KeyWrapAlgorithm:
    """RSA-OAEP-SHA256, except for a simple-mode key in an HSM: SoftHSM2 does OAEP only with SHA-1 (docs/escrow.md)."""
    if row.mode == SIMPLE and authority.keys.name == "pkcs11":
        return escrow.KeyWrapAlgorithm.RSA_OAEP_SHA1
    return escrow.KeyWrapAlgorithm.RSA_OAEP_SHA256


def domain_public_key(row: EscrowDomainKeyRow) -> rsa.RSAPublicKey:
    key = serialization.load_der_public_key(row.public_key_der)
    if not isinstance(key, rsa.RSAPublicKey):
        raise PolicyViolation("escrow domain key must be RSA")
    return key


def create_domain_key(
    authority: Authority,
    session: Session,
    domain: EscrowDomain,
    *,
    mode: str,
    threshold: int,
    passphrases: Mapping[str, str],
    actor: str,
) -> EscrowDomainKeyRow:
    """Create and activate a new key generation for the domain (simple: in the key backend; quorum: split)."""
    bits = rsa_key_size(authority.settings.escrow_domain_key_type, "escrow_domain_key_type")
    now = authority.now()
    generated: escrow.EscrowDomainKey | None = None
    label: str | None = None
    if mode == QUORUM:
        check_quorum(domain, threshold, passphrases, need_all=True)
        generated = escrow.EscrowDomainKey.generate(key_size=bits)
        public_key = generated.public_key()
    else:
        label = f"escrow-{domain.id}-{secrets.token_hex(6)}"
        # The key backend keeps the private key (encrypted at rest, or in an HSM); we keep its label.
        backend_public = authority.keys.generate(label, KeyType(f"rsa-{bits}")).public_key()
        if not isinstance(backend_public, rsa.RSAPublicKey):
            raise PolicyViolation("escrow domain key must be RSA")
        public_key = backend_public
    public_der = _spki(public_key)
    row = EscrowDomainKeyRow(
        domain=domain,
        mode=mode,
        key_label=label,
        public_key_der=public_der,
        public_key_sha256=hashlib.sha256(public_der).hexdigest(),
        active=True,
        created_at=now,
    )
    session.add(row)
    session.flush()
    if generated is not None:
        split_into_shares(session, domain, row, generated.private_key_der, threshold, passphrases)
    audit.record(
        session,
        actor=actor,
        action="escrow.domain_key_created",
        target=f"escrow:{domain.scope}",
        details={"mode": mode, "threshold": row.threshold, "public_key_sha256": row.public_key_sha256},
        at=now,
    )
    return row


def check_quorum(
    domain: EscrowDomain, threshold: int, passphrases: Mapping[str, str], *, need_all: bool
) -> None:
    agents = [a.person.username for a in domain.agents]
    if len(agents) < threshold:
        raise PolicyViolation(
            f"quorum mode with {threshold} approvals needs at least {threshold} recovery agents in "
            f"{domain.scope}; it has {len(agents)} (add recovery agents first)"
        )
    unknown = sorted(set(passphrases) - set(agents))
    if unknown:
        raise InvalidInput(
            f"passphrases were given for people who are not agents of {domain.scope}: {', '.join(unknown)}"
        )
    missing = [a for a in agents if not passphrases.get(a)]
    if need_all and missing:
        raise InvalidInput(
            f"splitting the escrow key of {domain.scope} needs the passphrase of every agent; missing: {', '.join(missing)}"
        )
    if need_all:  # shares are about to be sealed: each passphrase is what guards its share offline
        for agent in agents:
            check_agent_passphrase(agent, passphrases[agent])


def check_agent_passphrase(agent: str, passphrase: str) -> None:
    """A recovery agent's share passphrase must pass the passphrase policy (the sealed share sits in the DB)."""
    verdict = judge_passphrase(passphrase, what=f"passphrase of recovery agent {agent!r}", related=(agent,))
    if not verdict.accepted:
        raise InvalidInput(verdict.refusal or f"passphrase of recovery agent {agent!r} is too weak")


def split_into_shares(
    session: Session,
    domain: EscrowDomain,
    row: EscrowDomainKeyRow,
    private_key_der: bytes,
    threshold: int,
    passphrases: Mapping[str, str],
) -> None:
    """Split the domain key M-of-N among all the domain's agents; every agent needs a passphrase."""
    check_quorum(domain, threshold, passphrases, need_all=True)
    agents = [(a.person.username, passphrases[a.person.username]) for a in domain.agents]
    try:
        setup = escrow.split_domain_key(private_key_der, agents=agents, threshold=threshold)
    except escrow.InvalidParameter as error:
        raise InvalidInput(str(error)) from None
    row.encrypted_domain_key, row.threshold = setup.encrypted_domain_key, threshold
    for agent in domain.agents:
        agent.sealed_share = setup.sealed_shares[agent.person.username]
        agent.share_key_id = row.id
    session.flush()
    # A re-split overwrites the old shares and sealed key, which together still rebuild the domain key.
    erase_after_commit(session)


def unseal_agent_share(agent: EscrowAgent, row: EscrowDomainKeyRow, passphrase: str) -> escrow.Share:
    """The agent's share of the key generation `row`, unsealed with their passphrase."""
    if agent.sealed_share is None or agent.share_key_id != row.id:
        raise PolicyViolation(
            f"recovery agent {agent.person.username!r} holds no share of the current escrow key"
        )
    try:
        return escrow.unseal_share(agent.sealed_share, passphrase, agent.person.username)
    except escrow.WrongPassphrase:
        raise InvalidInput(f"passphrase of recovery agent {agent.person.username!r} is wrong") from None
    except (escrow.ShareMismatch, escrow.DecodeError):
        raise PolicyViolation(
            f"stored share of recovery agent {agent.person.username!r} is damaged"
        ) from None


def combine_domain_key(row: EscrowDomainKeyRow, shares: Iterable[escrow.Share]) -> bytes:
    """Rebuild a quorum domain key (PKCS#8 DER) from unsealed shares."""
    if row.encrypted_domain_key is None:
        raise PolicyViolation("escrow domain key is not split among agents")
    try:
        return escrow.combine_shares(shares, row.encrypted_domain_key)
    except escrow.NotEnoughShares as error:
        raise PolicyViolation(f"not enough recovery agents took part: {error}") from None
    except (escrow.ShareMismatch, escrow.DomainKeyIntegrityError, escrow.DecodeError) as error:
        raise PolicyViolation(f"escrow domain key cannot be rebuilt: {error}") from None


def combine_with_passphrases(
    domain: EscrowDomain, row: EscrowDomainKeyRow, passphrases: Mapping[str, str]
) -> bytes:
    shares = [
        unseal_agent_share(a, row, passphrases[a.person.username])
        for a in domain.agents
        if passphrases.get(a.person.username) and a.share_key_id == row.id
    ]
    return combine_domain_key(row, shares)


def domain_decrypter(
    authority: Authority, row: EscrowDomainKeyRow, *, quorum_key_der: bytes | None = None
) -> RsaDecrypter:
    """The decrypter of a key generation: the backend key (simple) or the rebuilt quorum key."""
    if row.mode == SIMPLE and row.key_label is not None:
        return cast(RsaDecrypter, authority.keys.signer(row.key_label))
    if quorum_key_der is None:
        raise PolicyViolation("the escrow key of a quorum domain needs its recovery agents")
    return escrow.EscrowDomainKey(quorum_key_der).decrypter()


def archive_key(
    authority: Authority,
    session: Session,
    *,
    person: Person,
    certificate_id: int,
    certificate: x509.Certificate,
    private_key_der: bytes,
    domain: EscrowDomain,
    actor: str,
) -> KeyCustody:
    """Archive an encryption key for its certificate after checking that they belong together."""
    row = active_key(domain)
    if row is None:
        raise PolicyViolation(
            f"escrow domain {domain.scope} has no key yet; set its policy again once it has agents"
        )
    try:
        escrow.check_key_matches_certificate(private_key_der, certificate)
    except escrow.KeyMismatch:
        raise PolicyViolation(
            "generated key does not match the issued certificate; nothing was issued"
        ) from None
    binding = escrow.ArchiveBinding.for_certificate(certificate, owner=person.username)
    record = escrow.archive_private_key(
        private_key_der,
        domain_public_key=domain_public_key(row),
        binding=binding,
        key_wrap_algorithm=wrap_algorithm(authority, row),
    )
    custody = KeyCustody(
        certificate_id=certificate_id,
        person_id=person.id,
        escrowed=True,
        key_source="generated",
        domain_id=domain.id,
        domain_key_id=row.id,
        owner=person.username,
        archive_record=record.to_bytes(),
        created_at=authority.now(),
    )
    session.add(custody)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="escrow.key_archived",
        target=f"certificate:{certificate.serial_number:x}",
        details={"person": person.username, "domain": domain.scope, "domain_key": row.public_key_sha256},
        at=authority.now(),
    )
    return custody


def recover_key(custody: KeyCustody, decrypter: RsaDecrypter) -> PrivateKeyTypes:
    """Decrypt an archive record and check the key against its certificate before anyone sees it."""
    certificate = x509.load_der_x509_certificate(custody.certificate.der)
    serial = f"{certificate.serial_number:x}"
    if custody.archive_record is None or custody.owner is None:
        raise PolicyViolation(f"no copy of the key of certificate {serial} is held")
    binding = escrow.ArchiveBinding.for_certificate(certificate, owner=custody.owner)
    try:
        record = escrow.ArchiveRecord.from_bytes(custody.archive_record)
        der = escrow.recover_private_key(record, domain_decrypter=decrypter, binding=binding)
        escrow.check_key_matches_certificate(der, certificate)
    except (escrow.ArchiveIntegrityError, escrow.DecodeError, escrow.KeyMismatch):
        raise PolicyViolation(
            f"archive record of certificate {serial} failed authentication (tampered or wrong domain key)"
        ) from None
    return serialization.load_der_private_key(der, password=None)


def rewrap_records(
    authority: Authority,
    session: Session,
    old: EscrowDomainKeyRow,
    old_decrypter: RsaDecrypter,
    new: EscrowDomainKeyRow,
) -> int:
    """Re-encrypt every archive record of key generation `old` to `new`; returns how many."""
    new_public = domain_public_key(new)
    rows = list(session.execute(select(KeyCustody).where(KeyCustody.domain_key_id == old.id)).scalars())
    for custody in rows:
        key = recover_key(custody, old_decrypter)
        der = key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        certificate = x509.load_der_x509_certificate(custody.certificate.der)
        binding = escrow.ArchiveBinding.for_certificate(certificate, owner=custody.owner or "")
        custody.archive_record = escrow.archive_private_key(
            der,
            domain_public_key=new_public,
            binding=binding,
            key_wrap_algorithm=wrap_algorithm(authority, new),
        ).to_bytes()
        custody.domain_key_id = new.id
    session.flush()
    return len(rows)


def destroy_retired_generation(
    authority: Authority, session: Session, domain: EscrowDomain, old: EscrowDomainKeyRow, *, actor: str
) -> None:
    """Destroy a key generation whose records were all re-wrapped: nothing that opens them is kept.

    Simple mode: the backend key is destroyed once this transaction commits (a rollback keeps it, with
    the records it still opens). Quorum mode: the sealed domain key and the agents' shares of it are
    erased now. Older retired simple keys whose destruction failed earlier are tried again.
    """
    left = session.execute(
        select(func.count(KeyCustody.id)).where(KeyCustody.domain_key_id == old.id)
    ).scalar_one()
    if left:
        raise PolicyViolation(f"{left} archive records still use the old escrow key; it was kept")
    old.encrypted_domain_key = None
    for agent in domain.agents:
        if agent.share_key_id == old.id:
            agent.sealed_share, agent.share_key_id = None, None
    session.flush()
    labels = [k.key_label for k in domain.keys if not k.active and k.key_label is not None]
    erase_after_commit(session, backend=authority.keys, key_labels=labels)
    audit.record(
        session,
        actor=actor,
        action="escrow.domain_key_destroyed",
        target=f"escrow:{domain.scope}",
        details={"mode": old.mode, "public_key_sha256": old.public_key_sha256},
        at=authority.now(),
    )
