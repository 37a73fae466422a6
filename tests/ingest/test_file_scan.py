"""The export's digest and UTF-8 check, started before polars is imported."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from concurrent.futures import Future
from pathlib import Path

from agent.ingest import file_scan
from agent.ingest.file_scan import checked_as
from protocol.errors import UsageError

ROOT = Path(__file__).resolve().parents[2]


def test_an_early_scan_gives_the_digest_and_the_first_byte_that_is_not_utf8(
    tmp_path: Path,
) -> None:
    path = tmp_path / "export.csv"
    content = "Datum;Voorstelling\n01-07-2026;Hamlét\n".encode("cp1252")
    path.write_bytes(content)
    scanning = file_scan.start(path)
    assert scanning is not None
    scan = scanning.result(timeout=10)
    assert scan.digest == hashlib.sha256(content).hexdigest()
    assert scan.first_bad_utf8 == content.index("é".encode("cp1252"))
    # An export not read as UTF-8 (a workbook, or cp1252 in the mapping) gets the
    # digest without the finding.
    assert checked_as(scanning, check_utf8=False).result(timeout=10) == scan.without_utf8_check()
    assert checked_as(scanning, check_utf8=True) is scanning


def test_no_early_scan_for_what_is_not_a_file(tmp_path: Path) -> None:
    assert file_scan.start(tmp_path / "missing.csv") is None
    assert file_scan.start(tmp_path) is None


def test_a_failed_early_scan_fails_whoever_waits_for_it() -> None:
    scanning: Future[file_scan.Scan] = Future()
    checked = checked_as(scanning, check_utf8=False)
    scanning.set_exception(UsageError("export.csv: cannot be read (Permission denied)"))
    assert "cannot be read" in str(checked.exception(timeout=10))


def test_the_scan_module_does_not_import_polars() -> None:
    code = "import sys, agent.ingest.file_scan; print('polars' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["False"]
