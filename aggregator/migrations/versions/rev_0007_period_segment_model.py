"""The segment model release a period names in its config (issue 16, ADR 0030).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 19:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

COLUMNS = (
    ("segment_model", sa.String(length=64)),
    ("segment_model_digest", sa.String(length=64)),
)


def upgrade() -> None:
    # Nullable: a period opened before this revision named no model; its config
    # cannot be served as publiek/3 (an agent needs the model it must use), and
    # the aggregator says so instead of naming one after the fact.
    with op.batch_alter_table("periods") as batch:
        for name, type_ in COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("periods") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
