"""New vs returning across periods through the workspace's local link key.

Household keys are HMACs under each period's sector key, which rotates, so
they never match across periods; the link key (HMAC of the same identity
under a workspace secret) does, and never leaves the agent."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import shutil
import stat
from pathlib import Path

import polars as pl
import pytest

from agent.ingest import ingest_exports, keying
from agent.ingest.keying_process import LINK_DOMAIN
from agent.ingest.mapping import Mapping
from agent.inspect import format_inspection, inspect_submission, inspection_json
from agent.release import (
    earlier_link_keys,
    earlier_periods,
    prepare_release,
    seal_to_outbox,
)
from agent.segments import synthetic_demo_model
from agent.tables import ReleaseConfig, build_tables
from agent.visits import HOUSEHOLD_TABLES
from agent.workspace import AgentConfig, Workspace
from protocol.encoding import canonical_bytes
from protocol.keys import SealPrivateKey, SecretBytes, SigningKey
from tests.ingest.ingest_fixtures import HEADER, MAPPING

MODEL = synthetic_demo_model()
CONFIG = ReleaseConfig(rho=0.25, period_budget=0.5)
SPRING = range(60)  # households (house numbers) seen in 2026-Q2
SUMMER = range(30, 100)  # seen in 2026-Q3: 30 of them seen in Q2 too, 40 new


def _export(tmp_path: Path, name: str, day: str, households: range) -> Path:
    rows = [f"{name}{n};{day};Hamlet;Toneel;1000 AA;{n + 1};;1;24,50" for n in households]
    path = tmp_path / f"{name}.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def _ingest(tmp_path: Path, workspace: Workspace, name: str, day: str, households: range) -> None:
    mapping = tmp_path / "map.toml"
    mapping.write_text(MAPPING, encoding="utf-8")
    path = _export(tmp_path, name, day, households)
    ingest_exports(
        [path], Mapping.load(mapping), workspace, sector_key=lambda p: _fetched(workspace, p)
    )


def _fetched(workspace: Workspace, period: str) -> SecretBytes:
    """The period's sector key, installed on first use as `agent sector-key fetch`
    would (an enrolled workspace never makes one itself); each period its own."""
    if not workspace.sector_key_path(period).exists():
        workspace.install_sector_key(period, SecretBytes(secrets.token_bytes(32)))
    return workspace.sector_key(period)


def _enrolled(root: Path) -> Workspace:
    workspace = Workspace(root).ensure()
    workspace.save_config(
        AgentConfig(
            institution_id="stadsschouwburg-test",
            aggregator_url="http://127.0.0.1:9",
            discipline="theater",
            province="utrecht",
        )
    )
    SigningKey.generate().save(workspace.signing_key_path)
    return workspace


@pytest.fixture
def two_quarters(tmp_path: Path) -> Workspace:
    """Q2 and Q3 ingested, each under its own sector key."""
    workspace = _enrolled(tmp_path / "agent")
    _ingest(tmp_path, workspace, "spring", "15-05-2026", SPRING)
    _ingest(tmp_path, workspace, "summer", "15-08-2026", SUMMER)
    return workspace


def _returning_counts(visits: pl.DataFrame, earlier: pl.Series) -> tuple[int, ...]:
    """Exact (new, returning) household counts of the release's table, before noise."""
    tables = build_tables(visits, MODEL, CONFIG, period="2026-Q3", earlier_link_keys=earlier)
    (table,) = [t for t in tables if t.name == "households_by_returning"]
    assert table.keys == (("new",), ("returning",))
    return tuple(table.values)


@pytest.mark.slow  # 0.4 s or more: outside the inner loop (ADR 0032)
def test_households_of_the_previous_quarter_return_although_the_sector_key_rotated(
    two_quarters: Workspace,
) -> None:
    spring, summer = two_quarters.load_visits("2026-Q2"), two_quarters.load_visits("2026-Q3")
    assert two_quarters.sector_key("2026-Q2") != two_quarters.sector_key("2026-Q3")
    # Household keys never match across the periods; link keys do, for the 30 shared.
    assert set(spring["household_key"]).isdisjoint(summer["household_key"])
    assert len(set(spring["link_key"]) & set(summer["link_key"])) == 30
    earlier = earlier_link_keys(two_quarters, "2026-Q3")
    assert earlier.len() == 60 and earlier.dtype == pl.Binary
    assert _returning_counts(summer, earlier) == (40, 30)
    # Without the link key (the household keys of Q2, matched on household_key as
    # before) every household counts as new: the table said nothing.
    without = summer.drop("link_key")
    assert _returning_counts(without, spring["household_key"].unique()) == (70, 0)
    # Exactly the households seen in both are returning; those only in Q3 are new.
    number = pl.col("order_id").str.slice(len("summer")).cast(pl.Int64)
    seen = summer.with_columns(pl.col("link_key").is_in(earlier.implode()).alias("seen"))
    assert set(seen.filter("seen").select(number).to_series()) == set(SPRING) & set(SUMMER)
    assert set(seen.filter(~pl.col("seen")).select(number).to_series()) == set(SUMMER) - set(SPRING)


@pytest.mark.slow  # 0.4 s or more: outside the inner loop (ADR 0032)
def test_returning_looks_back_four_quarters_only(tmp_path: Path) -> None:
    workspace = _enrolled(tmp_path / "agent")
    _ingest(tmp_path, workspace, "older", "15-05-2025", range(10))  # 2025-Q2: five back
    _ingest(tmp_path, workspace, "year", "15-08-2025", range(10, 20))  # 2025-Q3: four back
    _ingest(tmp_path, workspace, "later", "15-11-2026", range(5))  # 2026-Q4: later
    _ingest(tmp_path, workspace, "summer", "15-08-2026", range(20))
    assert earlier_periods(workspace, "2026-Q3") == ["2025-Q3"]
    summer = workspace.load_visits("2026-Q3")
    assert _returning_counts(summer, earlier_link_keys(workspace, "2026-Q3")) == (10, 10)


def test_the_keying_child_and_inline_keying_give_the_same_link_keys(monkeypatch) -> None:
    identities = pl.Series(["1234AB|12|A", None, "jan@example.nl"])
    sector, link = SecretBytes(b"k" * 32), SecretBytes(b"L" * 32)
    inline = keying.Keying()
    got_inline = inline.submit(identities, sector, link)
    monkeypatch.setattr(keying, "PROCESS_MIN", 1)
    child = keying.Keying()
    try:
        got_child = child.submit(identities, sector, link)
        assert child._child is not None  # really the child process
        keys, links = got_child.result().to_list(), got_child.link_keys().to_list()
    finally:
        child.close()
    assert inline._child is None
    assert links == got_inline.link_keys().to_list()
    assert keys == got_inline.result().to_list()
    assert links == [
        hmac.digest(b"L" * 32, LINK_DOMAIN + b"1234AB|12|A", hashlib.sha256),
        None,
        hmac.digest(b"L" * 32, LINK_DOMAIN + b"jan@example.nl", hashlib.sha256),
    ]
    # Domain-separated: not the household key the same secret would give.
    assert links[0] != hmac.digest(b"L" * 32, b"1234AB|12|A", hashlib.sha256)


@pytest.mark.slow  # 0.4 s or more: outside the inner loop (ADR 0032)
def test_an_ingest_keyed_in_the_child_stores_the_link_keys_an_inline_one_does(
    tmp_path: Path, monkeypatch
) -> None:
    inline = _enrolled(tmp_path / "inline")
    _ingest(tmp_path, inline, "summer", "15-08-2026", SUMMER)
    child = _enrolled(tmp_path / "child")
    shutil.copy(inline.link_key_path, child.link_key_path)  # same secrets, other path
    shutil.copy(inline.sector_key_path("2026-Q3"), child.sector_key_path("2026-Q3"))
    monkeypatch.setattr(keying, "PROCESS_MIN", 1)
    _ingest(tmp_path, child, "summer", "15-08-2026", SUMMER)
    a = inline.load_visits("2026-Q3").sort("source_row")
    b = child.load_visits("2026-Q3").sort("source_row")
    assert a["link_key"].null_count() == 0
    assert a["link_key"].equals(b["link_key"]) and a["household_key"].equals(b["household_key"])


def test_a_workspace_without_a_link_key_gets_one_on_its_next_ingest_and_older_periods_are_new(
    tmp_path: Path,
) -> None:
    workspace = _enrolled(tmp_path / "agent")
    _ingest(tmp_path, workspace, "spring", "15-05-2026", SPRING)
    # As an agent before link keys left it: no key file, household tables without link_key.
    workspace.link_key_path.unlink()
    for table in (workspace.visits_dir / "period=2026-Q2" / HOUSEHOLD_TABLES).glob("*.parquet"):
        pl.read_parquet(table).drop("link_key").write_parquet(table)
    assert workspace.load_visits("2026-Q2")["link_key"].null_count() == len(SPRING)

    _ingest(tmp_path, workspace, "summer", "15-08-2026", SUMMER)
    assert stat.S_IMODE(workspace.link_key_path.stat().st_mode) == 0o600
    assert len(workspace.link_key().reveal()) == 32
    summer = workspace.load_visits("2026-Q3")
    assert summer["link_key"].null_count() == 0
    # Q2 has no link keys: its households are unknown, so all of Q3 counts as new.
    assert earlier_link_keys(workspace, "2026-Q3").len() == 0
    assert _returning_counts(summer, earlier_link_keys(workspace, "2026-Q3")) == (70, 0)


def test_the_link_key_is_one_secret_file_0600_made_once_and_never_printed(
    tmp_path: Path,
) -> None:
    workspace = Workspace(tmp_path / "agent").ensure()
    key = workspace.link_key()
    assert stat.S_IMODE(workspace.link_key_path.stat().st_mode) == 0o600
    assert workspace.link_key() == key  # made once, then read
    assert repr(key) == str(key) == "SecretBytes(<redacted>)"
    assert key.reveal().hex() not in repr(workspace)
    assert sorted(p.name for p in workspace.keys_dir.iterdir()) == ["link.key"]


def test_the_link_key_is_made_on_a_file_system_without_hard_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(*_: object) -> None:
        raise PermissionError("hard links are not supported here")

    monkeypatch.setattr("agent.workspace.os.link", no_links)
    workspace = Workspace(tmp_path / "agent").ensure()
    key = workspace.link_key()
    assert stat.S_IMODE(workspace.link_key_path.stat().st_mode) == 0o600
    assert workspace.link_key() == key
    assert sorted(p.name for p in workspace.keys_dir.iterdir()) == ["link.key"]


def _forms(raw: bytes) -> list[bytes]:
    """How bytes could appear in a payload: raw, hex, base64 and base64url."""
    return [
        raw,
        raw.hex().encode(),
        base64.b64encode(raw).rstrip(b"="),
        base64.urlsafe_b64encode(raw).rstrip(b"="),
    ]


@pytest.mark.slow  # 0.4 s or more: outside the inner loop (ADR 0032)
def test_no_link_key_bytes_leave_in_a_release_or_show_in_inspect(two_quarters: Workspace) -> None:
    release = prepare_release(two_quarters, "2026-Q3", MODEL, CONFIG)
    envelope = seal_to_outbox(two_quarters, release.payload, SealPrivateKey.generate().public)
    inspection = inspect_submission(two_quarters, release.payload.submission_id)
    shown = [
        canonical_bytes(release.payload.to_dict()),
        envelope.with_suffix(".plaintext.json").read_bytes(),
        format_inspection(inspection).encode(),
        inspection_json(inspection).encode(),
        repr(release).encode(),
    ]
    secrets = [two_quarters.link_key().reveal()]
    for period in ("2026-Q2", "2026-Q3"):
        secrets += two_quarters.load_visits(period)["link_key"].drop_nulls().to_list()
    # 8-byte prefixes too: no part of a link key long enough to mean anything.
    for secret in secrets:
        for form in _forms(secret) + _forms(secret[:8]):
            assert all(form not in text for text in shown)


@pytest.mark.slow  # 0.4 s or more: outside the inner loop (ADR 0032)
def test_an_earlier_quarter_ingested_after_a_release_makes_it_a_new_release(
    tmp_path: Path,
) -> None:
    workspace = _enrolled(tmp_path / "agent")
    _ingest(tmp_path, workspace, "summer", "15-08-2026", SUMMER)
    first = prepare_release(workspace, "2026-Q3", MODEL, CONFIG)
    # A later quarter changes nothing about Q3: the stored release is reused.
    _ingest(tmp_path, workspace, "autumn", "15-11-2026", SPRING)
    assert prepare_release(workspace, "2026-Q3", MODEL, CONFIG).reused
    # An earlier one changes who returns: a new release, which must fit the budget.
    _ingest(tmp_path, workspace, "spring", "15-05-2026", SPRING)
    second = prepare_release(workspace, "2026-Q3", MODEL, CONFIG)
    assert not second.reused
    assert second.payload.submission_id != first.payload.submission_id
