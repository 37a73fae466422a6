"""Aggregator commands at the same time on one SQLite database (issue 15): two
taskforce members each create enrollment tokens, or one does while the server
writes. A command's transaction reads before it writes; on SQLite it takes the
write lock first, so it waits for the other writer instead of failing with
"cannot use the database ... (OperationalError)" (database is locked)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

from aggregator.enrollment import create_token
from cli.aggregator import Aggregator

COMMANDS = 6


def test_commands_that_read_then_write_wait_for_each_other(tmp_path: Path) -> None:
    Aggregator(tmp_path, None, None).db.engine.dispose()  # schema and keys, as `init`
    start = threading.Barrier(COMMANDS)

    def token_create(i: int) -> str:
        db = Aggregator(tmp_path, None, None).db  # its own connection, as its own process
        start.wait()
        try:
            institution_id, _ = create_token(
                db, name=f"Theater {i}", discipline="theater", province="utrecht",
                valid_for=timedelta(hours=1), size_class="small",
            )  # fmt: skip
        finally:
            db.engine.dispose()
        return institution_id

    with ThreadPoolExecutor(COMMANDS) as pool:
        created = list(pool.map(token_create, range(COMMANDS)))
    assert len(set(created)) == COMMANDS
