"""Demo data for `campusca init --demo`: Example University, its departments, a few people, escrow on.

`add_demo_escrow` turns key escrow on for the organisation (simple mode, one approval) with Rita as its
recovery agent, so the demo can show a recovery: Mary asks for hers, Rita approves, Mary releases.
The test suite's template CA uses `add_demo_data` alone (escrow off), and turns escrow on where a test
needs it.
"""

from __future__ import annotations

from campusca.services.authority import Authority
from campusca.services.people import registry
from campusca.services.smime import escrow_policy

DEMO_ORG = "Example University"
DEMO_DOMAIN = "example.edu"
DEMO_PASSWORD = "campusca-demo"  # noqa: S105 - printed to the newcomer on purpose; demo only
DEMO_AGENT = "rita"
DEMO_PEOPLE = (
    ("admin", "Ada Admin", "Computing Services", ("admin",)),
    ("alice", "Alice Archer", "Physics", ()),
    ("bob", "Bob Baker", "Physics", ()),
    ("mary", "Mary Miller", "Law", ()),
    ("rita", "Rita Recovery", "Computing Services", ("recovery-agent", "helpdesk")),
    ("larry", "Larry Legal", "Law", ("legal-officer",)),
)


def add_demo_data(authority: Authority, *, actor: str = "cli:demo") -> list[str]:
    """Create the demo institution and people (each with the demo password); returns the usernames."""
    with authority.db.write() as session:
        registry.add_organisation(authority, session, name=DEMO_ORG, domain=DEMO_DOMAIN, actor=actor)
        for dept in sorted({p[2] for p in DEMO_PEOPLE}):
            registry.add_department(authority, session, name=dept, org_name=DEMO_ORG, actor=actor)
        for username, name, dept, roles in DEMO_PEOPLE:
            registry.add_person(
                authority,
                session,
                username=username,
                email=f"{username}@{DEMO_DOMAIN}",
                dept_name=dept,
                name=name,
                roles=roles,
                actor=actor,
            )
            registry.set_password(authority, session, username, DEMO_PASSWORD, actor=actor)
    return [p[0] for p in DEMO_PEOPLE]


def add_demo_escrow(authority: Authority, *, actor: str = "cli:demo") -> str:
    """Escrow on for the demo organisation (simple mode, 1 approval), Rita its agent; returns the scope."""
    with authority.db.write() as session:
        escrow_policy.add_agent(authority, session, username=DEMO_AGENT, org_name=DEMO_ORG, actor=actor)
        scope = escrow_policy.set_policy(
            authority, session, org_name=DEMO_ORG, enabled=True, mode="simple", approvals=1, actor=actor
        )
        return escrow_policy.escrow_scope_view(session, scope).scope
