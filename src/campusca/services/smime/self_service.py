"""What the people's own S/MIME page needs before it issues: where the key would be escrowed, password strength.

`/my/smime` says before issuing whether the encryption key will be escrowed and by whom, and shows how
strong the chosen PKCS#12 password is (by the passphrase policy that `issue_smime_bundle` applies).
"""

from __future__ import annotations

from dataclasses import dataclass

from campusca.identity.passphrases import PassphraseVerdict, judge_passphrase
from campusca.services.authority import Authority
from campusca.services.people.registry import get_person
from campusca.services.smime.escrow_keys import active_key
from campusca.services.smime.escrow_policy import effective_policy, find_domain

_LABELS = ("very weak", "weak", "weak", "not strong enough", "strong")


@dataclass(frozen=True, slots=True)
class EscrowOutlook:
    """Whether a new encryption key of this person would be escrowed, by whom, and whether issuing can work."""

    escrowed: bool
    scope: str  # organisation:NAME or department:ORG/NAME (whose policy applies)
    mode: str | None  # simple | quorum, when escrowed
    agents: tuple[str, ...]
    ready: bool  # False: escrow is on but its domain has no key yet, so issuing is refused

    @property
    def holder(self) -> str:
        """The scope as people read it: "Example University" or "Example University / Law"."""
        return self.scope.split(":", 1)[1].replace("/", " / ")


@dataclass(frozen=True, slots=True)
class PasswordStrength:
    """A PKCS#12 password judged by the passphrase policy: accepted or why not, and a 0-4 meter."""

    accepted: bool
    refusal: str | None
    score: int

    @property
    def label(self) -> str:
        return _LABELS[max(0, min(self.score, 4))]


def escrow_outlook(authority: Authority, username: str) -> EscrowOutlook:
    """The escrow policy that applies to the person now (a read transaction of its own)."""
    with authority.db.read() as session:
        person = get_person(session, username)
        policy = effective_policy(person.department)
        domain = find_domain(session, policy) if policy.enabled else None
        return EscrowOutlook(
            escrowed=policy.enabled,
            scope=policy.scope,
            mode=policy.mode if policy.enabled else None,
            agents=tuple(a.person.username for a in domain.agents) if domain is not None else (),
            ready=not policy.enabled or (domain is not None and active_key(domain) is not None),
        )


def judge_pkcs12_password(authority: Authority, password: str, *, owner: str) -> PasswordStrength:
    """The verdict `issue_smime_bundle` and `release_lost_key` would give, with a strength meter."""
    verdict: PassphraseVerdict = judge_passphrase(password, what="PKCS#12 password", related=(owner,))
    return PasswordStrength(verdict.accepted, verdict.refusal, verdict.score)
