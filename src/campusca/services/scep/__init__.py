"""The SCEP server's use cases (RFC 8894): challenges, PKIOperation, renewal, pending approval.

Adapters call `answer_pki_message`, `issue_challenge`, `list_challenges`, `list_enrollments`,
`approve_pending`, `reject_pending` and the RA/CA certificate look-ups with the `Authority`; each runs
in a transaction of its own. `create_challenge`, `challenge_views` and `enrollments_for_device` take
the caller's session, for other services composing one transaction.
"""

from __future__ import annotations

from campusca.services.scep import challenges, enrollments, pkcsreq, pkioperation, renewal_auth
from campusca.services.scep.answers import AlgorithmRefused, ScepAnswer, ScepAnswerKind
from campusca.services.scep.challenges import (
    ChallengeView,
    NewChallenge,
    challenge_views,
    create_challenge,
    issue_challenge,
    list_challenges,
)
from campusca.services.scep.enrollments import (
    ScepEnrollmentView,
    ScepRa,
    approve_pending,
    ca_certificates,
    enrollment_view,
    enrollments_for_device,
    list_enrollments,
    next_ca_certificates,
    ra_identity,
    reject_pending,
)
from campusca.services.scep.pkioperation import answer_pki_message

__all__ = [
    "AlgorithmRefused",
    "ChallengeView",
    "NewChallenge",
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
    "issue_challenge",
    "list_challenges",
    "list_enrollments",
    "next_ca_certificates",
    "pkcsreq",
    "pkioperation",
    "ra_identity",
    "reject_pending",
    "renewal_auth",
]
