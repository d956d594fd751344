"""Helpers for the S/MIME, escrow and recovery tests: turn escrow on, add agents, issue, write mail."""

from __future__ import annotations

from collections.abc import Sequence

from campusca.services.authority import Authority
from campusca.services.people.registry import add_person
from campusca.services.smime import escrow_policy
from campusca.services.smime.issue import SmimeBundle, issue_smime

ORG = "Example University"
PASSWORD = "one-time-pass"
AGENT_PASSPHRASES = {
    "rita": "rita's long passphrase",
    "quentin": "quentin's passphrase",
    "victor": "victor guards the third share",
}


def add_agents(authority: Authority, names: Sequence[str] = ("quentin", "victor")) -> None:
    """Create further people with the recovery-agent role (rita exists in the demo data)."""
    with authority.db.write() as session:
        for name in names:
            add_person(
                authority,
                session,
                username=name,
                email=f"{name}@example.edu",
                dept_name="Computing Services",
                roles=("recovery-agent",),
                actor="test",
            )


def enable_escrow(
    authority: Authority,
    *,
    dept: str | None = None,
    mode: str = "simple",
    approvals: int = 1,
    agents: Sequence[str] = ("rita",),
) -> dict[str, object]:
    """Turn escrow on for the organisation (or a department) with these agents."""
    org = None if dept else ORG
    with authority.db.write() as session:
        for agent in agents:
            escrow_policy.add_agent(
                authority, session, username=agent, org_name=org, dept_name=dept, actor="test"
            )
    passphrases = {a: AGENT_PASSPHRASES[a] for a in agents}
    with authority.db.write() as session:
        scope = escrow_policy.set_policy(
            authority,
            session,
            org_name=org,
            dept_name=dept,
            enabled=True,
            mode=mode,
            approvals=approvals,
            passphrases=passphrases,
            actor="test",
        )
        return escrow_policy.escrow_scope_view(session, scope).to_json()


def issue(authority: Authority, username: str, **options: object) -> SmimeBundle:
    with authority.db.write() as session:
        return issue_smime(authority, session, username=username, actor="test", password=PASSWORD, **options)  # type: ignore[arg-type]


def mail(
    sender: str = "bob", recipient: str = "mary", body: str = "Hello Mary,\r\nthe minutes are attached.\r\n"
) -> bytes:
    return (
        f"From: {sender.title()} <{sender}@example.edu>\r\nTo: {recipient.title()} <{recipient}@example.edu>\r\n"
        f"Subject: minutes\r\nDate: Fri, 27 Nov 2026 09:00:00 +0000\r\n\r\n{body}"
    ).encode()
