"""Custodian keys and sealed sector keys (issue 6: sector key relay, ciphertext only).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 17:27:58.342318
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "custodian_keys",
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key_id"),
    )
    op.create_table(
        "sealed_sector_keys",
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("institution_id", sa.String(length=64), nullable=False),
        sa.Column("recipient_key_id", sa.String(length=32), nullable=False),
        sa.Column("custodian_key_id", sa.String(length=32), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.institution_id"],
        ),
        sa.PrimaryKeyConstraint("period", "institution_id"),
    )


def downgrade() -> None:
    op.drop_table("sealed_sector_keys")
    op.drop_table("custodian_keys")
