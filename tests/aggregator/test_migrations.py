"""The alembic migrations build exactly the schema the ORM declares."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from aggregator.migrations import current, downgrade, head, upgrade
from aggregator.storage import Base, Database

# Every fresh database here runs the real migrations (the other tests copy a migrated one).
pytestmark = pytest.mark.migrations


def test_migrated_schema_equals_the_orm_metadata(db_url: str) -> None:
    db = Database(db_url)
    db.create_schema()
    with db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        assert compare_metadata(context, Base.metadata) == []
    db.engine.dispose()


def test_upgrade_records_the_head_revision_and_is_idempotent(db_url: str) -> None:
    db = Database(db_url)
    db.create_schema()
    db.create_schema()
    assert current(db.engine) == head()
    db.engine.dispose()


def test_downgrade_to_base_removes_every_table(db_url: str) -> None:
    db = Database(db_url)
    upgrade(db.engine)
    downgrade(db.engine, "base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    db.engine.dispose()
