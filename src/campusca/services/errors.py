"""Domain errors raised by services; each protocol adapter maps them to its own answer.

ServiceError
 ├── InvalidInput       a value the caller gave breaks a rule (name the field)
 ├── NotFound           the named object does not exist
 ├── Conflict           the object exists already, or its state forbids the change
 ├── NotAuthorized      the caller may not do this
 ├── PolicyViolation    policy forbids it (profile, escrow, approvals)
 ├── ChallengeRejected  a one-time challenge or invitation is wrong, used or expired
 │    └── ChallengeSpent  it was valid once and is no more: used, withdrawn or expired
 └── EscrowDisabled     no copy of the key exists because escrow is off
"""

from __future__ import annotations

from campusca.errors import CampusCAError


class ServiceError(CampusCAError):
    """Base class of domain errors; `code` is the stable name the REST API returns."""

    code = "error"


class InvalidInput(ServiceError):
    code = "invalid_input"


class NotFound(ServiceError):
    code = "not_found"


class Conflict(ServiceError):
    code = "conflict"


class NotAuthorized(ServiceError):
    code = "not_authorized"


class PolicyViolation(ServiceError):
    code = "policy_violation"


class ChallengeRejected(ServiceError):
    code = "challenge_rejected"


class ChallengeSpent(ChallengeRejected):
    """A one-time link or challenge that existed but is used, withdrawn or expired: asking again helps."""

    code = "challenge_spent"


class EscrowDisabled(ServiceError):
    code = "escrow_disabled"
