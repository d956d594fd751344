"""Demo data for `campusca init --demo`: Example University, two departments, a few people."""

from __future__ import annotations

from campusca.services.authority import Authority
from campusca.services.people import registry

DEMO_ORG = "Example University"
DEMO_DOMAIN = "example.edu"
DEMO_PASSWORD = "campusca-demo"  # noqa: S105 - printed to the newcomer on purpose; demo only
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
