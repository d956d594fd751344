"""Each organisation's passcode policy for enrolled devices (com.apple.mobiledevice.passwordpolicy)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy.orm import Session

from campusca.db.ota import DevicePolicy
from campusca.services import audit
from campusca.services.authority import Authority
from campusca.services.errors import InvalidInput
from campusca.services.people.registry import get_organisation

# Apple's schema ranges (mdm/profiles/com.apple.mobiledevice.passwordpolicy.yaml).
_RANGES = {
    "min_length": (0, 16),
    "max_inactivity_minutes": (0, 15),
    "max_failed_attempts": (2, 11),
    "max_pin_age_days": (0, 730),
    "pin_history": (1, 50),
}


@dataclass(frozen=True, slots=True)
class PasscodePolicy:
    """What the final profile enforces; the defaults apply to organisations that set nothing."""

    force_pin: bool = True
    min_length: int = 6
    require_alphanumeric: bool = False
    max_inactivity_minutes: int | None = None
    max_failed_attempts: int | None = None
    max_pin_age_days: int | None = None
    pin_history: int | None = None

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def policy_for(session: Session, organisation_id: int) -> PasscodePolicy:
    row = session.get(DevicePolicy, organisation_id)
    if row is None:
        return PasscodePolicy()
    return PasscodePolicy(
        force_pin=row.force_pin,
        min_length=row.min_length,
        require_alphanumeric=row.require_alphanumeric,
        max_inactivity_minutes=row.max_inactivity_minutes,
        max_failed_attempts=row.max_failed_attempts,
        max_pin_age_days=row.max_pin_age_days,
        pin_history=row.pin_history,
    )


def passcode_policy_of(authority: Authority, organisation: str) -> PasscodePolicy:
    """The passcode policy an organisation's enrolled devices get (a read transaction of its own)."""
    with authority.db.read() as session:
        return policy_for(session, get_organisation(session, organisation).id)


def set_passcode_policy(
    authority: Authority, *, organisation: str, actor: str, **changes: object
) -> PasscodePolicy:
    """Change some fields of an organisation's passcode policy (the rest keep their values); committed on return."""
    with authority.db.write() as session:
        return _set_policy(authority, session, organisation=organisation, actor=actor, changes=changes)


def _set_policy(
    authority: Authority, session: Session, *, organisation: str, actor: str, changes: dict[str, object]
) -> PasscodePolicy:
    org = get_organisation(session, organisation)
    current = policy_for(session, org.id).to_json()
    unknown = set(changes) - set(current)
    if unknown:
        raise InvalidInput(f"passcode policy has no field {sorted(unknown)[0]!r}")
    updated = {**current, **{k: v for k, v in changes.items() if v is not None}}
    for field, (low, high) in _RANGES.items():
        value = updated[field]
        if value is not None and not (isinstance(value, int) and low <= value <= high):
            raise InvalidInput(f"{field} must be between {low} and {high}; got {value!r}")
    row = session.get(DevicePolicy, org.id) or DevicePolicy(organisation_id=org.id)
    for key, value in updated.items():
        setattr(row, key, value)
    row.updated_at = authority.now()
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="device_policy.updated",
        target=f"organisation:{org.name}",
        details=updated,
        at=authority.now(),
    )
    return PasscodePolicy(**updated)  # type: ignore[arg-type]
