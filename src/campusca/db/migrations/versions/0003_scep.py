"""SCEP server: one-time challenges and enrollment transactions

Revision ID: 0003_scep
Revises: 0001_core
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_scep"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scep_challenges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("device_ref", sa.String(length=200), nullable=True),
        sa.Column("expected_subject", sa.String(length=1024), nullable=True),
        sa.Column("expected_san", sa.String(length=512), nullable=True),
        sa.Column("profile", sa.String(length=32), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("consumed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("secret_hash"),
    )
    with op.batch_alter_table("scep_challenges", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scep_challenges_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_scep_challenges_device_ref"), ["device_ref"], unique=False)
        batch_op.create_index(batch_op.f("ix_scep_challenges_expires_at"), ["expires_at"], unique=False)

    op.create_table(
        "scep_enrollments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("transaction_id", sa.String(length=255), nullable=False),
        sa.Column("requester_key_sha256", sa.String(length=64), nullable=False),
        sa.Column("signer_fingerprint_sha256", sa.String(length=64), nullable=False),
        sa.Column("message_type", sa.Integer(), nullable=False),
        sa.Column("csr_der", sa.LargeBinary(), nullable=False),
        sa.Column("csr_sha256", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("device_ref", sa.String(length=200), nullable=True),
        sa.Column("profile", sa.String(length=32), nullable=False),
        sa.Column("challenge_id", sa.Integer(), nullable=True),
        sa.Column("renewed_certificate_id", sa.Integer(), nullable=True),
        sa.Column("certificate_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=256), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["challenge_id"], ["scep_challenges.id"]),
        sa.ForeignKeyConstraint(["renewed_certificate_id"], ["certificates.id"]),
        sa.ForeignKeyConstraint(["certificate_id"], ["certificates.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("scep_enrollments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_scep_enrollments_transaction_id"), ["transaction_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_scep_enrollments_requester_key_sha256"), ["requester_key_sha256"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_scep_enrollments_device_ref"), ["device_ref"], unique=False)
        batch_op.create_index(batch_op.f("ix_scep_enrollments_status"), ["status"], unique=False)


def downgrade() -> None:
    op.drop_table("scep_enrollments")
    op.drop_table("scep_challenges")
