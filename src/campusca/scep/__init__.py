"""SCEP codec (RFC 8894): parse pkiMessages, build CertReps and the GetCACaps/GetCACert bodies; no I/O."""

from __future__ import annotations

from campusca.scep.decode import parse_pki_message, parse_request_header
from campusca.scep.encode import build_cert_rep_failure, build_cert_rep_pending, build_cert_rep_success
from campusca.scep.errors import ScepDecodeError, ScepError, ScepRequestError
from campusca.scep.message_data import (
    decode_issuer_and_serial,
    decode_issuer_and_subject,
    encode_issuer_and_serial,
    encode_issuer_and_subject,
    read_challenge_password,
)
from campusca.scep.messages import (
    ContentType,
    FailInfo,
    IssuerAndSerial,
    IssuerAndSubject,
    MessageType,
    PkiMessage,
    PkiStatus,
    ReplyTarget,
    RequestHeader,
)
from campusca.scep.oids import ScepOID
from campusca.scep.operations import (
    build_get_ca_caps,
    build_get_ca_cert,
    build_get_next_ca_cert,
    decode_message_param,
)

__all__ = [
    "ContentType",
    "FailInfo",
    "IssuerAndSerial",
    "IssuerAndSubject",
    "MessageType",
    "PkiMessage",
    "PkiStatus",
    "ReplyTarget",
    "RequestHeader",
    "ScepDecodeError",
    "ScepError",
    "ScepOID",
    "ScepRequestError",
    "build_cert_rep_failure",
    "build_cert_rep_pending",
    "build_cert_rep_success",
    "build_get_ca_caps",
    "build_get_ca_cert",
    "build_get_next_ca_cert",
    "decode_issuer_and_serial",
    "decode_issuer_and_subject",
    "decode_message_param",
    "encode_issuer_and_serial",
    "encode_issuer_and_subject",
    "parse_pki_message",
    "parse_request_header",
    "read_challenge_password",
]
