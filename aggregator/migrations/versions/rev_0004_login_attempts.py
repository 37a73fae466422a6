"""Failed logins per account and client address, shared by every worker (issue 14).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-14 10:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The login throttle kept its counts in each process's memory, so every worker
    # counted on its own; nothing is carried over (the counts were short-lived).
    op.create_table(
        "login_attempts",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("login_attempts") as batch:
        batch.create_index(batch.f("ix_login_attempts_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("login_attempts") as batch:
        batch.drop_index(batch.f("ix_login_attempts_expires_at"))
    op.drop_table("login_attempts")
