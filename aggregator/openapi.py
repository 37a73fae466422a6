"""Print the API's OpenAPI schema (``python -m aggregator.openapi > docs/openapi.json``).

The schema (built by ``aggregator.api.openapi``) is the API's contract. It is
checked in so that API changes show up in review; a test fails when the
served schema and the checked-in file differ.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from aggregator.app import create_app
from aggregator.settings import Settings


def schema_json() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Settings(state_dir=Path(tmp)))
        app.state.db.engine.dispose()
        return json.dumps(app.openapi(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(schema_json())
