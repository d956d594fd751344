"""Delta CRLs (one row per CA) and a covering index of revoked certificates for CRL generation

Revision ID: 0006_delta_crl
Revises: 0005_login_throttle
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_delta_crl"
down_revision = "0005_login_throttle"
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
    op.drop_table("delta_crl_state")
