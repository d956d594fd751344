"""The SCEP server's use cases (RFC 8894): challenges, PKIOperation, renewal, pending approval."""

from __future__ import annotations

from campusca.services.scep import challenges, enrollments, pkioperation, renewal_auth
from campusca.services.scep.enrollments import (
    AlgorithmRefused,
    ChallengeView,
    ScepAnswer,
    ScepAnswerKind,
    ScepEnrollmentView,
    ScepRa,
    answer_pki_message,
    approve_pending,
    ca_certificates,
    challenge_views,
    create_challenge,
    enrollment_view,
    enrollments_for_device,
    list_enrollments,
    next_ca_certificates,
    ra_identity,
    reject_pending,
)

__all__ = [
    "AlgorithmRefused",
    "ChallengeView",
    "ScepAnswer",
    "ScepAnswerKind",
    "ScepEnrollmentView",
    "ScepRa",
    "answer_pki_message",
    "approve_pending",
    "ca_certificates",
    "challenge_views",
    "challenges",
    "create_challenge",
    "enrollment_view",
    "enrollments",
    "enrollments_for_device",
    "list_enrollments",
    "next_ca_certificates",
    "pkioperation",
    "ra_identity",
    "reject_pending",
    "renewal_auth",
]
