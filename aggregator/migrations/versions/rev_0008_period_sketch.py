"""The household sketch a period config may fix (issue 17, ADR 0036).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 22:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: NULL is a period without sketches, which every period opened
    # before this revision is (its config is served with "sketch": null).
    with op.batch_alter_table("periods") as batch:
        batch.add_column(sa.Column("sketch", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("periods") as batch:
        batch.drop_column("sketch")
