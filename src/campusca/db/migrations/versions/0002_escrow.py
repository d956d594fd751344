"""escrow domains, domain keys, agents, key custody, recovery requests

Revision ID: 0002_escrow
Revises: 0001_core
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_escrow"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def _ts(name: str, *, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "escrow_domains",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        _ts("created_at"),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["department_id"], ["departments.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("organisation_id"),
        sa.UniqueConstraint("department_id"),
    )
    op.create_table(
        "escrow_domain_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("domain_id", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("public_key_der", sa.LargeBinary(), nullable=False),
        sa.Column("public_key_sha256", sa.String(length=64), nullable=False),
        sa.Column("key_label", sa.String(length=64), nullable=True),
        sa.Column("encrypted_domain_key", sa.LargeBinary(), nullable=True),
        sa.Column("threshold", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        _ts("created_at"),
        _ts("retired_at", nullable=True),
        sa.ForeignKeyConstraint(["domain_id"], ["escrow_domains.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_escrow_domain_keys_domain_id", "escrow_domain_keys", ["domain_id"])
    op.create_table(
        "escrow_agents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("domain_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("sealed_share", sa.LargeBinary(), nullable=True),
        sa.Column("share_key_id", sa.Integer(), nullable=True),
        _ts("added_at"),
        sa.ForeignKeyConstraint(["domain_id"], ["escrow_domains.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["share_key_id"], ["escrow_domain_keys.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("domain_id", "person_id"),
    )
    op.create_index("ix_escrow_agents_domain_id", "escrow_agents", ["domain_id"])
    op.create_table(
        "key_custody",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("certificate_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("escrowed", sa.Boolean(), nullable=False),
        sa.Column("key_source", sa.String(length=16), nullable=False),
        sa.Column("domain_id", sa.Integer(), nullable=True),
        sa.Column("domain_key_id", sa.Integer(), nullable=True),
        sa.Column("owner", sa.String(length=128), nullable=True),
        sa.Column("archive_record", sa.LargeBinary(), nullable=True),
        _ts("created_at"),
        sa.ForeignKeyConstraint(["certificate_id"], ["certificates.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["domain_id"], ["escrow_domains.id"]),
        sa.ForeignKeyConstraint(["domain_key_id"], ["escrow_domain_keys.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("certificate_id"),
    )
    op.create_index("ix_key_custody_person_id", "key_custody", ["person_id"])
    op.create_table(
        "recovery_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("domain_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("case_ref", sa.String(length=128), nullable=True),
        sa.Column("confidential", sa.Boolean(), nullable=False),
        sa.Column("requester", sa.String(length=200), nullable=False),
        sa.Column("requester_person_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("approvals_required", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("handover_public_key", sa.LargeBinary(), nullable=True),
        sa.Column("handover_sealed_key", sa.LargeBinary(), nullable=True),
        sa.Column("deferred", sa.Boolean(), nullable=False),
        _ts("created_at"),
        _ts("expires_at"),
        _ts("released_at", nullable=True),
        _ts("closed_at", nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["domain_id"], ["escrow_domains.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["requester_person_id"], ["people.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_recovery_requests_person_id", "recovery_requests", ["person_id"])
    op.create_index("ix_recovery_requests_status", "recovery_requests", ["status"])
    op.create_table(
        "recovery_request_certificates",
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("certificate_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["recovery_requests.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["certificate_id"], ["certificates.id"]),
        sa.PrimaryKeyConstraint("request_id", "certificate_id"),
    )
    op.create_table(
        "recovery_approvals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("agent_person_id", sa.Integer(), nullable=False),
        sa.Column("handed_over_share", sa.LargeBinary(), nullable=True),
        _ts("approved_at"),
        sa.ForeignKeyConstraint(["request_id"], ["recovery_requests.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["agent_person_id"], ["people.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id", "agent_person_id"),
    )
    op.create_index("ix_recovery_approvals_request_id", "recovery_approvals", ["request_id"])


def downgrade() -> None:
    op.drop_index("ix_recovery_approvals_request_id", "recovery_approvals")
    op.drop_table("recovery_approvals")
    op.drop_table("recovery_request_certificates")
    op.drop_index("ix_recovery_requests_status", "recovery_requests")
    op.drop_index("ix_recovery_requests_person_id", "recovery_requests")
    op.drop_table("recovery_requests")
    op.drop_index("ix_key_custody_person_id", "key_custody")
    op.drop_table("key_custody")
    op.drop_index("ix_escrow_agents_domain_id", "escrow_agents")
    op.drop_table("escrow_agents")
    op.drop_index("ix_escrow_domain_keys_domain_id", "escrow_domain_keys")
    op.drop_table("escrow_domain_keys")
    op.drop_table("escrow_domains")
