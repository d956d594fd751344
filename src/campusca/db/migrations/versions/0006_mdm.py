"""Certificate-only MDM: push certificate, per-device check-in state, command queue, renewals (issue 11)

Revision ID: 0006_mdm
Revises: 0005_login_throttle
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_mdm"
down_revision = "0005_login_throttle"
branch_labels = None
depends_on = None

_WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "mdm_push_certificates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=255), nullable=False),
        sa.Column("certificate_der", sa.LargeBinary(), nullable=False),
        sa.Column("key_label", sa.String(length=64), nullable=False),
        sa.Column("not_after", _WHEN, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("imported_at", _WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "mdm_devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=255), nullable=False),
        sa.Column("enrolled", sa.Boolean(), nullable=False),
        sa.Column("identity_serial_hex", sa.String(length=40), nullable=True),
        sa.Column("push_token_hex", sa.String(length=256), nullable=True),
        sa.Column("push_magic", sa.String(length=128), nullable=True),
        sa.Column("authenticated_at", _WHEN, nullable=True),
        sa.Column("last_checkin_at", _WHEN, nullable=True),
        sa.Column("checked_out_at", _WHEN, nullable=True),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("device_id"),
    )
    op.create_table(
        "mdm_renewals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("open_device_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("old_serial_hex", sa.String(length=40), nullable=False),
        sa.Column("new_serial_hex", sa.String(length=40), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("push_status", sa.String(length=200), nullable=True),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("pushed_at", _WHEN, nullable=True),
        sa.Column("finished_at", _WHEN, nullable=True),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("open_device_id"),
    )
    with op.batch_alter_table("mdm_renewals", schema=None) as batch_op:
        batch_op.create_index("ix_mdm_renewals_device_id", ["device_id"], unique=False)
    op.create_table(
        "mdm_commands",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("command_uuid", sa.String(length=64), nullable=False),
        sa.Column("request_type", sa.String(length=64), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("not_now_count", sa.Integer(), nullable=False),
        sa.Column("renewal_id", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("sent_at", _WHEN, nullable=True),
        sa.Column("answered_at", _WHEN, nullable=True),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["renewal_id"], ["mdm_renewals.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("command_uuid"),
    )
    with op.batch_alter_table("mdm_commands", schema=None) as batch_op:
        batch_op.create_index("ix_mdm_commands_device_id", ["device_id"], unique=False)
        batch_op.create_index("ix_mdm_commands_renewal_id", ["renewal_id"], unique=False)
        batch_op.create_index("ix_mdm_commands_device_status", ["device_id", "status"], unique=False)


def downgrade() -> None:
    op.drop_table("mdm_commands")
    op.drop_table("mdm_renewals")
    op.drop_table("mdm_devices")
    op.drop_table("mdm_push_certificates")
