"""Autogenerate a migration: ``python -m aggregator.migrations "what changed"``.

Upgrades a scratch SQLite database to the current head, then lets alembic
compare it with ``aggregator/storage.py`` and write the difference as a new
revision in ``versions/`` for review.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from aggregator.migrations import revision, upgrade
from aggregator.storage import make_engine


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not argv[0].strip():
        sys.stderr.write('usage: python -m aggregator.migrations "what changed"\n')
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'scratch.db'}")
        upgrade(engine)
        revision(engine, argv[0])
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
