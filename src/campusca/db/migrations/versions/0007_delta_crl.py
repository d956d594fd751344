"""Delta CRLs (one row per CA), full CRLs in 1 MiB chunks, and a covering index of revoked certificates

Revision ID: 0007_delta_crl
Revises: 0006_mdm
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_delta_crl"
down_revision = "0006_mdm"
branch_labels = None
depends_on = None

_REVOKED = sa.text("revoked_at IS NOT NULL")


def upgrade() -> None:
    op.create_table(
        "delta_crl_state",
        sa.Column("ca_id", sa.Integer(), nullable=False),
        sa.Column("crl_number", sa.BigInteger(), nullable=False),
        sa.Column("base_crl_number", sa.BigInteger(), nullable=False),
        sa.Column("this_update", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_update", sa.DateTime(timezone=True), nullable=False),
        sa.Column("der", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["ca_id"], ["certificate_authorities.id"]),
        sa.PrimaryKeyConstraint("ca_id"),
    )
    # A full CRL of a million entries is 55 MB: written and read a chunk at a time (crl_state.der is b"").
    op.create_table(
        "crl_chunks",
        sa.Column("ca_id", sa.Integer(), nullable=False),
        sa.Column("crl_number", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["ca_id"], ["certificate_authorities.id"]),
        sa.PrimaryKeyConstraint("ca_id", "crl_number", "seq"),
    )
    # Partial and covering: CRL generation reads only this index, never the certificate rows (and DER).
    op.create_index(
        "ix_certificates_revoked",
        "certificates",
        ["ca_id", "revoked_at", "not_after", "serial_hex", "revocation_reason"],
        unique=False,
        sqlite_where=_REVOKED,
        postgresql_where=_REVOKED,
    )


def downgrade() -> None:
    op.drop_index("ix_certificates_revoked", table_name="certificates")
    op.drop_table("crl_chunks")
    op.drop_table("delta_crl_state")
