"""Every known-answer vector through the real intake: over HTTP and through `aggregator import`.

Both paths run the committed vectors, in manifest order, against the same
aggregator state built from the TEST-ONLY keys; both must give each vector
its expected outcome, and no rejection may change the database.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from aggregator.auth import PRIVACY_OFFICER, create_user, issue_token
from aggregator.storage import Database
from cli import app
from demo.run import aggregator_process
from protocol.envelope import envelope_digest
from protocol.errors import PubliekError
from protocol.keys import SigningKey
from protocol.messages import Receipt
from protocol.translog import verify_chain, verify_receipt
from tests.file_modules import load_module

# End to end over a live aggregator: `pytest -m "not slow"` leaves it out.
pytestmark = pytest.mark.slow

VECTORS = Path(__file__).resolve().parents[1] / "vectors"


state = load_module("publiek_vector_state", VECTORS / "aggregator_state.py")
SUBMISSIONS: list[dict[str, Any]] = state.manifest()["submissions"]
IDS = [v["name"] for v in SUBMISSIONS]


def dump(db_path: Path) -> list[str]:
    with sqlite3.connect(db_path) as con:
        return list(con.iterdump())


@pytest.fixture(scope="module")
def over_http(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    settings = state.build_state(tmp_path_factory.mktemp("http") / "aggregator")
    db = Database(settings.db_url)
    create_user(db, "po", PRIVACY_OFFICER, "a long test passphrase")
    officer = {"authorization": f"Bearer {issue_token(db, 'po', valid_for=timedelta(hours=1))}"}
    db.engine.dispose()
    results: dict[str, Any] = {}
    with aggregator_process(settings, lambda _: None) as url, httpx.Client(base_url=url) as c:
        for vector in SUBMISSIONS:
            before = dump(settings.state_dir / "aggregator.db")
            r = c.post(
                "/v1/submissions",
                content=state.vector_bytes(vector),
                headers={"content-type": "application/json"},
                timeout=30,
            )
            after = dump(settings.state_dir / "aggregator.db")
            results[vector["name"]] = (r, before == after)
        results["log"] = c.get("/v1/log", headers=officer).json()["entries"]
    return results


@pytest.fixture(scope="module")
def through_import(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Each vector through the real `publiek aggregator import` command (in process)."""
    root = tmp_path_factory.mktemp("import")
    plain = state.build_state(root / "plain")
    verbose = state.build_state(root / "verbose")
    runner = CliRunner()
    results: dict[str, Any] = {}
    for vector in SUBMISSIONS:
        file = root / f"{vector['name']}.envelope"
        file.write_bytes(state.vector_bytes(vector))
        receipt = root / f"{vector['name']}.receipt.json"
        before = dump(plain.state_dir / "aggregator.db")
        ran = runner.invoke(
            app,
            ["aggregator", "import", str(file), "--state", str(plain.state_dir),
             "--receipt-out", str(receipt)],
        )  # fmt: skip
        after = dump(plain.state_dir / "aggregator.db")
        raised = runner.invoke(
            app, ["-v", "aggregator", "import", str(file), "--state", str(verbose.state_dir)]
        )
        results[vector["name"]] = (ran, before == after, raised.exception, receipt)
    return results


def _receipt_key() -> SigningKey:
    return SigningKey.load(VECTORS / "test-keys" / "aggregator-receipt.key")


@pytest.mark.parametrize("vector", SUBMISSIONS, ids=IDS)
def test_vector_over_http_has_its_expected_outcome(
    over_http: dict[str, Any], vector: dict[str, Any]
) -> None:
    response, unchanged = over_http[vector["name"]]
    expected = vector["expected"]
    assert response.status_code == expected["status"]
    if expected.get("accepted"):
        receipt = Receipt.from_dict(response.json())
        verify_receipt(receipt, _receipt_key().public)
        assert receipt.log_index == expected["log_index"]
        assert receipt.digest == envelope_digest(state.vector_bytes(vector))
    else:
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"] == expected["type"]
        assert unchanged, "a rejected vector changed the database"


def test_replayed_vector_gets_the_very_same_receipt_over_http(over_http: dict[str, Any]) -> None:
    assert over_http["valid"][0].json() == over_http["valid-replayed"][0].json()
    assert over_http["valid-replayed"][1], "a replay stored something"


def test_log_after_all_vectors_holds_only_the_valid_submissions(over_http: dict[str, Any]) -> None:
    log = over_http["log"]
    verify_chain(log)
    accepted = [over_http[name][0].json()["digest"] for name in ("valid", "valid-sketch")]
    assert [e["digest"] for e in log] == accepted


@pytest.mark.parametrize("vector", SUBMISSIONS, ids=IDS)
def test_vector_through_import_has_its_expected_outcome(
    through_import: dict[str, Any], vector: dict[str, Any]
) -> None:
    ran, unchanged, raised, receipt_file = through_import[vector["name"]]
    expected = vector["expected"]
    if expected.get("accepted"):
        assert ran.exit_code == 0, ran.output
        receipt = Receipt.from_dict(__import__("json").loads(receipt_file.read_text()))
        verify_receipt(receipt, _receipt_key().public)
        assert receipt.log_index == expected["log_index"]
        return
    assert ran.exit_code == 2
    # The first command on a state folder the test made may repair its modes (a warning a path).
    lines = [line for line in ran.stderr.strip().splitlines() if not line.startswith("warning: ")]
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert unchanged, "a rejected import changed the database"
    assert isinstance(raised, PubliekError)
    assert raised.problem_type() == expected["type"]
    assert raised.status == expected["status"]
