"""SCEP wire codes and message values (RFC 8894 §3.2.1, §3.3, §4; IANA "SCEP" registry)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from cryptography import x509

from campusca.pki.cms import ContentCipher, KeyTransport


class MessageType(enum.IntEnum):
    """messageType attribute values (RFC 8894 §3.2.1.2); sent as a decimal PrintableString."""

    CERT_REP = 3
    RENEWAL_REQ = 17
    PKCS_REQ = 19
    CERT_POLL = 20
    GET_CERT = 21
    GET_CRL = 22


class PkiStatus(enum.StrEnum):
    """pkiStatus attribute values (RFC 8894 §3.2.1.3); sent as a PrintableString."""

    SUCCESS = "0"
    FAILURE = "2"
    PENDING = "3"


class FailInfo(enum.IntEnum):
    """failInfo attribute values (RFC 8894 §3.2.1.4); sent as a decimal PrintableString."""

    BAD_ALG = 0
    BAD_MESSAGE_CHECK = 1
    BAD_REQUEST = 2
    BAD_TIME = 3
    BAD_CERT_ID = 4


class ContentType(enum.StrEnum):
    """HTTP Content-Type of each SCEP answer, exactly as RFC 8894 §4 spells it (iOS compares bytes)."""

    CA_CERT = "application/x-x509-ca-cert"
    CA_RA_CERT = "application/x-x509-ca-ra-cert"
    NEXT_CA_CERT = "application/x-x509-next-ca-cert"
    PKI_MESSAGE = "application/x-pki-message"
    CA_CAPS = "text/plain"


@dataclass(frozen=True, slots=True)
class IssuerAndSerial:
    """IssuerAndSerialNumber, the messageData of GetCert and GetCRL (RFC 8894 §3.3.4, §3.3.5)."""

    issuer: x509.Name
    serial_number: int


@dataclass(frozen=True, slots=True)
class IssuerAndSubject:
    """IssuerAndSubject, the messageData of CertPoll (RFC 8894 §3.3.3)."""

    issuer: x509.Name
    subject: x509.Name


class ReplyTarget(Protocol):
    """What a CertRep needs from the request it answers: a `PkiMessage` or a `RequestHeader`."""

    @property
    def transaction_id(self) -> str: ...

    @property
    def sender_nonce(self) -> bytes: ...

    @property
    def signer_certificate(self) -> x509.Certificate: ...

    @property
    def digest_algorithm(self) -> str: ...


@dataclass(frozen=True, slots=True)
class RequestHeader:
    """The authenticated outer layer of a pkiMessage: enough to sign a CertRep FAILURE.

    `message_type` is None when the client sent a value this codec does not know.
    """

    message_type: MessageType | None
    transaction_id: str
    sender_nonce: bytes
    signer_certificate: x509.Certificate
    digest_algorithm: str
    signing_time: datetime | None
    raw: bytes


@dataclass(frozen=True, slots=True)
class PkiMessage:
    """A decoded SCEP request whose signature verified and whose envelope was decrypted.

    Exactly one of `csr` (PKCSReq, RenewalReq), `issuer_and_subject` (CertPoll) and
    `issuer_and_serial` (GetCert, GetCRL) is set. The signer certificate is *not* validated:
    for PKCSReq it is the client's transient self-signed certificate, for RenewalReq the
    certificate being renewed, which the service must check itself.
    """

    message_type: MessageType
    transaction_id: str
    sender_nonce: bytes
    signer_certificate: x509.Certificate
    digest_algorithm: str
    signing_time: datetime | None
    content_cipher: ContentCipher
    key_transport: KeyTransport
    csr: x509.CertificateSigningRequest | None
    challenge_password: str | None
    issuer_and_subject: IssuerAndSubject | None
    issuer_and_serial: IssuerAndSerial | None
    raw: bytes

    @property
    def header(self) -> RequestHeader:
        """The outer layer alone, as carried by `ScepRequestError`."""
        return RequestHeader(
            message_type=self.message_type,
            transaction_id=self.transaction_id,
            sender_nonce=self.sender_nonce,
            signer_certificate=self.signer_certificate,
            digest_algorithm=self.digest_algorithm,
            signing_time=self.signing_time,
            raw=self.raw,
        )
