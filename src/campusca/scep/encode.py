"""SCEP CertRep encoder (RFC 8894 §3.3.2): SUCCESS, FAILURE and PENDING replies signed by the RA/CA."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime

from cryptography import x509

from campusca.pki import cms
from campusca.pki.signing import Signer
from campusca.scep._attributes import octets_attribute, printable_attribute, utf8_attribute
from campusca.scep.messages import FailInfo, MessageType, PkiMessage, PkiStatus, ReplyTarget
from campusca.scep.oids import ScepOID

NONCE_BYTES = 16


def build_cert_rep_success(
    request: PkiMessage,
    *,
    issued: Sequence[x509.Certificate],
    signer_certificate: x509.Certificate,
    signer: Signer,
    crls: Sequence[x509.CertificateRevocationList] = (),
    signing_time: datetime | None = None,
) -> bytes:
    """A SUCCESS CertRep carrying `issued` (the issued certificate first, then its chain) and `crls`.

    The certs-only reply is enveloped to the request's signer certificate with the request's
    own content cipher and key transport (RFC 8894 §3.3.2: clients expect what they sent, and
    iOS and micromdm take the first certificate as theirs). A GetCRL reply passes the CRL in
    `crls` and may leave `issued` empty.
    """
    if not issued and not crls:
        raise ValueError("issued must hold a certificate, or crls a CRL")
    degenerate = cms.build_certs_only(issued, crls)
    envelope = cms.build_enveloped_data(
        degenerate,
        [request.signer_certificate],
        cipher=request.content_cipher,
        key_transport=request.key_transport,
    )
    return _build_cert_rep(
        request,
        PkiStatus.SUCCESS,
        envelope,
        signer_certificate=signer_certificate,
        signer=signer,
        signing_time=signing_time,
    )


def build_cert_rep_failure(
    request: ReplyTarget,
    fail_info: FailInfo,
    text: str = "",
    *,
    signer_certificate: x509.Certificate,
    signer: Signer,
    signing_time: datetime | None = None,
) -> bytes:
    """A FAILURE CertRep with `fail_info` and, when `text` is given, a failInfoText (RFC 8894 §3.2.1.4).

    `request` may be a `PkiMessage` or the `RequestHeader` carried by a `ScepRequestError`. The
    text is sent to the client: keep it free of secrets.
    """
    extra = [printable_attribute(ScepOID.FAIL_INFO, str(int(fail_info)))]
    if text:
        extra.append(utf8_attribute(ScepOID.FAIL_INFO_TEXT, text))
    return _build_cert_rep(
        request,
        PkiStatus.FAILURE,
        None,
        signer_certificate=signer_certificate,
        signer=signer,
        signing_time=signing_time,
        extra=extra,
    )


def build_cert_rep_pending(
    request: ReplyTarget,
    *,
    signer_certificate: x509.Certificate,
    signer: Signer,
    signing_time: datetime | None = None,
) -> bytes:
    """A PENDING CertRep: the client polls later with CertPoll and the same transactionID (§3.3.3)."""
    return _build_cert_rep(
        request,
        PkiStatus.PENDING,
        None,
        signer_certificate=signer_certificate,
        signer=signer,
        signing_time=signing_time,
    )


def _build_cert_rep(
    request: ReplyTarget,
    status: PkiStatus,
    envelope: bytes | None,
    *,
    signer_certificate: x509.Certificate,
    signer: Signer,
    signing_time: datetime | None,
    extra: Sequence[bytes] = (),
) -> bytes:
    """Sign the reply, mirroring the request's digest; FAILURE and PENDING carry no eContent."""
    attributes = [
        printable_attribute(ScepOID.MESSAGE_TYPE, str(int(MessageType.CERT_REP))),
        printable_attribute(ScepOID.PKI_STATUS, status.value),
        printable_attribute(ScepOID.TRANSACTION_ID, request.transaction_id),
        # A fresh server nonce (RFC 8894 §3.2.1.5); certmonger checks recipientNonce = its nonce.
        octets_attribute(ScepOID.SENDER_NONCE, secrets.token_bytes(NONCE_BYTES)),
        octets_attribute(ScepOID.RECIPIENT_NONCE, request.sender_nonce),
        *extra,
    ]
    return cms.build_signed_data(
        envelope,
        signer=signer,
        signer_certificate=signer_certificate,
        digest_algorithm=request.digest_algorithm,
        extra_signed_attributes=attributes,
        signing_time=signing_time,
    )
