"""Releasing an approved recovery, once: a lost-key PKCS#12, or a legal decryption; then revoke and re-key.

Lost key: one transaction recovers every archived decryption key of the person (the history, so older
mail stays readable), revokes the covered certificates (keyCompromise; the CRL is re-signed), issues a new
encryption certificate with a new escrowed key, and builds a one-time PKCS#12 holding the new key first
and the history after it. The signing key was lost too but is never escrowed: with `reissue_signing` the
signing certificate is replaced in the same transaction (its new key goes into the file); without it
the answer names the signing certificates still valid, so adapters can offer `smime reissue-signing`. Legal: the submitted messages are decrypted server-side (the key never leaves),
then revocation, re-key and notice follow at once, or, for a confidential case, at `close-case`.
The person is notified after the commit; the notice and its outcome are audited too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from sqlalchemy.orm import Session

from campusca.db.escrow import KeyCustody, RecoveryRequest
from campusca.escrow import EscrowDomainKey, ShareMismatch, WrongPassphrase
from campusca.escrow.handover import open_handover_key, take_over_share
from campusca.notify import EmailMessage, NotifyError
from campusca.pki.certificates import openssl_serial
from campusca.pki.crl import RevocationReason
from campusca.pki.pkcs12 import export_pkcs12
from campusca.pki.signing import RsaDecrypter
from campusca.services import audit
from campusca.services.authority import Authority
from campusca.services.ca.revocation import revoke_certificate
from campusca.services.errors import Conflict, InvalidInput, NotAuthorized, PolicyViolation
from campusca.services.notifications import make_email_sender
from campusca.services.people.registry import get_person
from campusca.services.smime.escrow_keys import (
    QUORUM,
    active_key,
    combine_domain_key,
    domain_decrypter,
    recover_key,
)
from campusca.services.smime.issue import (
    IssuedKeyPair,
    SmimePrivateKey,
    check_export_password,
    generate_smime_key,
    issue_escrowed_encryption,
)
from campusca.services.smime.messages import KeyPair, check_size, decrypt_with
from campusca.services.smime.recovery import (
    APPROVED,
    CLOSED,
    LEGAL,
    LOST_KEY,
    PENDING,
    RELEASED,
    RecoveryView,
    escrowed_custody,
    expire_due,
    forget_handover,
    has_role,
    load_request,
    view,
)
from campusca.services.smime.signing_reissue import reissue_signing_in, valid_signing_serials
from campusca.smime import SmimeError

MAX_LEGAL_MESSAGES = 500


@dataclass(frozen=True, slots=True)
class LostKeyRelease:
    request: RecoveryView
    pkcs12: bytes
    new_serial: str | None  # None when the person is deactivated (no re-key)
    revoked: tuple[str, ...]
    history: tuple[str, ...]  # serials of every recovered key in the file, oldest first
    new_signing_serial: str | None = None  # set when the signing certificate was re-issued
    revoked_signing: tuple[str, ...] = ()  # the signing certificates that re-issue replaced
    signing_still_valid: tuple[str, ...] = ()  # not re-issued: offer it, the person lost that key too


@dataclass(frozen=True, slots=True)
class LegalRelease:
    request: RecoveryView
    plaintexts: tuple[bytes, ...]
    revoked: tuple[str, ...]
    new_serial: str | None  # None while a confidential case defers the re-key


@dataclass(frozen=True, slots=True)
class _Rekey:
    revoked: tuple[str, ...]
    new_serial: str | None  # None when the person is deactivated: nobody to re-key
    new_key: SmimePrivateKey | None
    new_certificate: x509.Certificate | None


def release_lost_key(
    authority: Authority,
    *,
    request_id: int,
    password: str,
    actor: str,
    releaser: str | None = None,
    release_code: str | None = None,
    legacy: bool = False,
    reissue_signing: bool = False,
) -> LostKeyRelease:
    """Release a lost-key recovery once: a PKCS#12 with the new key and the whole key history.

    With `reissue_signing` the person's signing certificate is replaced too and its new key added.
    """
    check_export_password(password, owner="")
    expire_due(authority)
    signing_key = generate_smime_key(authority) if reissue_signing else None  # before the write lock
    with authority.db.write() as session:
        request = _releasable(session, request_id, LOST_KEY, releaser)
        decrypter = _domain_decrypter(authority, request, release_code)
        history = [
            (c, recover_key(c, decrypter))
            for c in escrowed_custody(session, request.person, request.domain_id)
        ]
        rekey = _revoke_and_rekey(authority, session, request, actor)
        pairs = [(k, x509.load_der_x509_certificate(c.certificate.der)) for c, k in reversed(history)]
        if rekey.new_key is not None and rekey.new_certificate is not None:
            pairs.insert(0, (rekey.new_key, rekey.new_certificate))
        usable = [(k, c) for k, c in pairs if isinstance(k, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)]
        if not usable:
            raise PolicyViolation("no RSA or EC decryption key was recovered")
        signing = _signing(authority, session, request, signing_key, actor)
        if signing.pair is not None and signing_key is not None:
            usable.insert(1, (signing_key, signing.pair.issued.certificate))
        # The newest key comes first: clients that read one key from a file take the current one.
        (main_key, main_certificate), *older = usable
        pkcs12 = export_pkcs12(
            key=main_key,
            certificate=main_certificate,
            chain=authority.chain_of(main_certificate),
            password=password.encode(),
            legacy=legacy,
            friendly_name=request.person.email.encode(),
            extra=older,
        )
        serials = tuple(_serial(c) for c, _ in history)
        new_signing = openssl_serial(signing.pair.issued.serial) if signing.pair is not None else None
        _mark_released(
            authority,
            session,
            request,
            actor,
            {"history": list(serials), "new": rekey.new_serial, "new_signing": new_signing},
        )
        result = LostKeyRelease(
            view(request),
            pkcs12,
            rekey.new_serial,
            rekey.revoked,
            serials,
            new_signing_serial=new_signing,
            revoked_signing=signing.revoked,
            signing_still_valid=signing.still_valid,
        )
    _notify(authority, request_id, _lost_key_notice(result), actor)
    return result


def release_legal(
    authority: Authority,
    *,
    request_id: int,
    messages: Sequence[bytes],
    actor: str,
    releaser: str | None = None,
    release_code: str | None = None,
) -> LegalRelease:
    """Decrypt a legal case's messages with the archived keys, once; revoke and re-key unless confidential."""
    if not messages:
        raise InvalidInput("a legal release needs at least one message to decrypt")
    if len(messages) > MAX_LEGAL_MESSAGES:
        raise InvalidInput(f"a legal release takes at most {MAX_LEGAL_MESSAGES} messages")
    expire_due(authority)
    with authority.db.write() as session:
        request = _releasable(session, request_id, LEGAL, releaser)
        decrypter = _domain_decrypter(authority, request, release_code)
        pairs = [_pair(c, decrypter) for c in _covered(session, request)]
        plaintexts = []
        for number, message in enumerate(messages, start=1):
            try:
                plaintexts.append(decrypt_with(check_size(message), pairs))
            except (SmimeError, InvalidInput) as error:
                raise InvalidInput(f"message {number}: {error}; nothing was released") from None
        rekey = None if request.confidential else _revoke_and_rekey(authority, session, request, actor)
        request.deferred = request.confidential
        details: dict[str, object] = {"messages": len(messages), "case": request.case_ref}
        if request.confidential:
            details["deferred"] = ["revocation", "re-key", "notice"]
        _mark_released(authority, session, request, actor, details)
        result = LegalRelease(
            view(request),
            tuple(plaintexts),
            rekey.revoked if rekey else (),
            rekey.new_serial if rekey else None,
        )
    if rekey is not None:
        _notify(authority, request_id, _legal_notice(result.request, rekey), actor)
    return result


def close_case(
    authority: Authority, *, request_id: int, actor: str, closer: str | None = None
) -> LegalRelease:
    """Close a released legal case; a confidential one now gets its deferred revocation, re-key and notice."""
    with authority.db.write() as session:
        request = load_request(session, request_id)
        if request.reason != LEGAL:
            raise Conflict(f"recovery request {request_id} is not a legal case")
        if request.status != RELEASED:
            raise Conflict(
                f"recovery request {request_id} is {request.status}; only a released case can be closed"
            )
        _check_releaser(session, request, closer)
        rekey = _revoke_and_rekey(authority, session, request, actor) if request.deferred else None
        was_deferred, request.deferred = request.deferred, False
        request.status, request.closed_at = CLOSED, authority.now()
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="recovery.case_closed",
            target=f"recovery:{request.id}",
            details={"case": request.case_ref, "deferred_actions_done": was_deferred},
            at=authority.now(),
        )
        result = LegalRelease(
            view(request), (), rekey.revoked if rekey else (), rekey.new_serial if rekey else None
        )
    if rekey is not None:
        _notify(authority, request_id, _legal_notice(result.request, rekey), actor)
    return result


@dataclass(frozen=True, slots=True)
class _Signing:
    pair: IssuedKeyPair | None
    revoked: tuple[str, ...]
    still_valid: tuple[str, ...]


def _signing(
    authority: Authority,
    session: Session,
    request: RecoveryRequest,
    key: SmimePrivateKey | None,
    actor: str,
) -> _Signing:
    """Re-issue the signing certificate when asked (and the person is active); else name the ones still valid."""
    person = request.person
    if key is None or not person.active:
        valid = tuple(openssl_serial(s) for s in valid_signing_serials(session, person, authority.now()))
        return _Signing(None, (), valid)
    pair, revoked = reissue_signing_in(
        authority, session, person, key=key, actor=actor, details={"recovery_request": request.id}
    )
    return _Signing(pair, revoked, ())


def _releasable(session: Session, request_id: int, reason: str, releaser: str | None) -> RecoveryRequest:
    request = load_request(session, request_id)
    if request.reason != reason:
        raise Conflict(f"recovery request {request_id} is a {request.reason} request, not {reason}")
    if request.status == PENDING:
        raise PolicyViolation(
            f"recovery request {request_id} has {len(request.approvals)} of "
            f"{request.approvals_required} approvals; nothing was released"
        )
    if request.status != APPROVED:
        raise Conflict(f"recovery request {request_id} is {request.status}; a request can be released once")
    _check_releaser(session, request, releaser)
    return request


def _check_releaser(session: Session, request: RecoveryRequest, releaser: str | None) -> None:
    """The requester (or, for a lost key, the person) releases; None is the trusted operator."""
    if releaser is None:
        return
    person = get_person(session, releaser)
    allowed = {request.requester_person_id}
    if request.reason == LOST_KEY:
        allowed.add(request.person_id)
    if person.id not in allowed and not has_role(person, "admin"):
        raise NotAuthorized(f"only the requester can release recovery request {request.id}")


def _domain_decrypter(
    authority: Authority, request: RecoveryRequest, release_code: str | None
) -> RsaDecrypter:
    key_row = active_key(request.domain)
    if key_row is None:
        raise PolicyViolation(f"escrow domain {request.domain.scope} has no key")
    if key_row.mode != QUORUM:
        return domain_decrypter(authority, key_row)
    if not release_code:
        raise InvalidInput("a quorum-mode release needs the release code that was shown to the requester")
    if request.handover_sealed_key is None:
        raise Conflict(f"recovery request {request.id} holds no handed-over shares")
    try:
        handover = open_handover_key(request.handover_sealed_key, release_code)
        shares = [
            take_over_share(
                a.handed_over_share, decrypter=handover, request_id=request.id, agent_id=a.agent.username
            )
            for a in request.approvals
            if a.handed_over_share is not None
        ]
    except WrongPassphrase:
        raise NotAuthorized("release code is wrong; nothing was released") from None
    except ShareMismatch as error:
        raise PolicyViolation(f"handed-over shares cannot be used: {error}") from None
    return EscrowDomainKey(combine_domain_key(key_row, shares)).decrypter()


def _covered(session: Session, request: RecoveryRequest) -> list[KeyCustody]:
    """The archived keys of the certificates the request names."""
    by_certificate = {
        c.certificate_id: c for c in escrowed_custody(session, request.person, request.domain_id)
    }
    return [
        by_certificate[i.certificate_id] for i in request.certificates if i.certificate_id in by_certificate
    ]


def _pair(custody: KeyCustody, decrypter: RsaDecrypter) -> KeyPair:
    key = recover_key(custody, decrypter)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise PolicyViolation("archived key is neither an RSA nor an EC key")
    return KeyPair(key, x509.load_der_x509_certificate(custody.certificate.der))


def _serial(custody: KeyCustody) -> str:
    return openssl_serial(int(custody.certificate.serial_hex, 16))


def _revoke_and_rekey(authority: Authority, session: Session, request: RecoveryRequest, actor: str) -> _Rekey:
    now = authority.now()
    revoked = []
    for item in request.certificates:
        row = item.certificate
        if row.revoked_at is None and row.not_after > now:
            serial = int(row.serial_hex, 16)
            revoke_certificate(
                authority,
                session,
                serial=serial,
                reason=RevocationReason.KEY_COMPROMISE,
                actor=actor,
                audit_details={
                    "recovery_request": request.id,
                    "why": f"key released by a {request.reason} recovery",
                },
            )
            revoked.append(openssl_serial(serial))
    if not request.person.active:
        # A person who left: the keys still open the archive, but there is nobody to issue a certificate to.
        audit.record(
            session,
            actor=actor,
            action="recovery.rekey_skipped",
            target=f"recovery:{request.id}",
            details={"person": request.person.username, "why": "person is deactivated"},
            at=now,
        )
        return _Rekey(tuple(revoked), None, None, None)
    pair = issue_escrowed_encryption(
        authority, session, request.person, actor=actor, details={"recovery_request": request.id}
    )
    return _Rekey(tuple(revoked), openssl_serial(pair.issued.serial), pair.key, pair.issued.certificate)


def _mark_released(
    authority: Authority, session: Session, request: RecoveryRequest, actor: str, details: dict[str, object]
) -> None:
    request.status, request.released_at = RELEASED, authority.now()
    forget_handover(request)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="recovery.released",
        target=f"recovery:{request.id}",
        details={"reason": request.reason, "person": request.person.username, **details},
        at=authority.now(),
    )


def _lost_key_notice(result: LostKeyRelease) -> EmailMessage:
    request = result.request
    body = (
        f"Hello {request.person},\n\nyour S/MIME decryption keys were recovered (recovery request {request.id}).\n"
        f"The encryption certificate(s) {', '.join(result.revoked) or '(none still valid)'} are now revoked, "
        f"and a new encryption certificate {result.new_serial or '(none: account deactivated)'} was issued "
        "for you. The recovery file holds "
        "the new key and all your earlier decryption keys, so older mail stays readable; its password "
        "reaches you separately.\n"
    )
    if result.new_signing_serial is not None:
        body += f"Your signing certificate was replaced too: {result.new_signing_serial} (its key is in the file).\n"
    elif result.signing_still_valid:
        body += (
            f"Your signing certificate {', '.join(result.signing_still_valid)} is still valid. If you lost its "
            "key too, ask the help desk to re-issue it.\n"
        )
    return EmailMessage(to=request.email, subject="Your S/MIME encryption key was recovered", body=body)


def _legal_notice(request: RecoveryView, rekey: _Rekey) -> EmailMessage:
    body = (
        f"Hello {request.person},\n\nyour escrowed S/MIME decryption key was used under a legal recovery "
        f"(request {request.id}). Your encryption certificate(s) {', '.join(rekey.revoked) or '(none)'} are "
        f"revoked and certificate {rekey.new_serial or '(none: account deactivated)'} replaces them; its key "
        "is held in escrow. Ask the help "
        "desk for a key recovery to install it together with your earlier keys, or issue yourself a new pair.\n"
    )
    return EmailMessage(
        to=request.email, subject="Your S/MIME encryption certificate was replaced", body=body
    )


def _notify(authority: Authority, request_id: int, message: EmailMessage, actor: str) -> None:
    """Send the person's notice after the commit, and audit whether it went out."""
    try:
        make_email_sender(authority.settings).send_email(message)
        action, details = "recovery.notified", {"to": message.to, "subject": message.subject}
    except NotifyError as error:
        action, details = "recovery.notify_failed", {"to": message.to, "error": str(error)[:200]}
    with authority.db.write() as session:
        audit.record(
            session,
            actor=actor,
            action=action,
            target=f"recovery:{request_id}",
            details=details,
            at=authority.now(),
        )
