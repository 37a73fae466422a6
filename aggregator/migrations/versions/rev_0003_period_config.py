"""The period config fixed at open: delta, mechanism, design, tables, bounds, k (issue 12).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 11:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

COLUMNS = (
    ("delta", sa.Float()),
    ("mechanism", sa.String(length=32)),
    ("design", sa.String(length=64)),
    ("tables", sa.JSON()),
    ("bounds", sa.JSON()),
    ("k", sa.Integer()),
    ("opened_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    # Nullable: a period opened before this revision has no fixed config; the
    # aggregator says so instead of inventing one after the fact.
    with op.batch_alter_table("periods") as batch:
        for name, type_ in COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("periods") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
