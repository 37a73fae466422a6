"""The ingest's allocator setting reaches polars, and only when set before polars is imported."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from agent.ingest.process import ENVIRONMENT, INGEST

ROOT = Path(__file__).resolve().parents[2]


def python(code: str, **env: str) -> list[str]:
    clean = {k: v for k, v in os.environ.items() if k != ENVIRONMENT}
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.split()


SET_THEN_IMPORT = f"""
import os
from agent.ingest.process import tune_for_ingest
print(tune_for_ingest())
import polars
print(os.environ[{ENVIRONMENT!r}])
"""


def test_the_setting_is_appended_to_polars_own_when_set_before_polars_is_imported() -> None:
    tuned, seen = python(SET_THEN_IMPORT)
    assert tuned == "True"
    # Polars appends the variable to its own options; jemalloc takes the last of each.
    assert seen.endswith("," + INGEST)


def test_an_operators_own_setting_is_kept() -> None:
    tuned, seen = python(SET_THEN_IMPORT, **{ENVIRONMENT: "narenas:2"})
    assert tuned == "False"
    assert seen.endswith(",narenas:2")
    assert INGEST not in seen


def test_polars_own_options_handed_down_by_a_parent_that_imported_polars_are_replaced() -> None:
    handed_down = "dirty_decay_ms:500,muzzy_decay_ms:1000"
    tuned, seen = python(SET_THEN_IMPORT, **{ENVIRONMENT: handed_down})
    assert (tuned, seen) == ("True", f"{handed_down},{INGEST}")


def test_after_polars_is_imported_it_is_too_late_and_nothing_is_set() -> None:
    code = f"""
import os, polars
from agent.ingest.process import tune_for_ingest
print(tune_for_ingest(), {INGEST!r} in os.environ[{ENVIRONMENT!r}])
"""
    assert python(code) == ["False", "False"]


def test_the_cli_module_does_not_import_polars_before_the_ingest_command_runs() -> None:
    assert python("import sys, cli; print('polars' in sys.modules)") == ["False"]
