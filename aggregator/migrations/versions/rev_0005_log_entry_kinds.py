"""Transparency-log entries of two kinds: submissions and set-asides (issue 14, ADR 0020).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-15 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Revision 0001 left the unique constraint on log_entries.submission_id unnamed:
# PostgreSQL named it itself; on SQLite the batch copy names it by this convention.
_CONVENTION = {"uq": "uq_%(table_name)s_%(column_0_name)s"}
_OLD_UNIQUE = {"postgresql": "log_entries_submission_id_key"}


def _old_unique() -> str:
    return _OLD_UNIQUE.get(op.get_bind().dialect.name, "uq_log_entries_submission_id")


def upgrade() -> None:
    # Every existing entry is a submission's; a set-aside entry names the same
    # submission id, so the id is unique per kind, not across the log.
    with op.batch_alter_table("log_entries", naming_convention=_CONVENTION) as batch:
        batch.add_column(
            sa.Column("kind", sa.String(length=16), server_default="submission", nullable=False)
        )
        batch.add_column(sa.Column("reason_commitment", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("reason", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("reason_nonce", sa.String(length=32), nullable=True))
        batch.drop_constraint(_old_unique(), type_="unique")
        batch.create_unique_constraint(
            "uq_log_entries_submission_id_kind", ["submission_id", "kind"]
        )


def downgrade() -> None:
    # The older schema cannot hold a set-aside entry, and deleting one would break
    # the hash chain for every later entry: refuse rather than rewrite the log.
    count = (
        op.get_bind()
        .execute(sa.text("SELECT count(*) FROM log_entries WHERE kind <> 'submission'"))
        .scalar()
    )
    if count:
        raise RuntimeError(
            f"the transparency log holds {count} set-aside entries, which revision 0004 "
            "cannot represent; downgrading would have to rewrite the log"
        )
    with op.batch_alter_table("log_entries", naming_convention=_CONVENTION) as batch:
        batch.drop_constraint("uq_log_entries_submission_id_kind", type_="unique")
        batch.create_unique_constraint(_old_unique(), ["submission_id"])
        batch.drop_column("reason_nonce")
        batch.drop_column("reason")
        batch.drop_column("reason_commitment")
        batch.drop_column("kind")
