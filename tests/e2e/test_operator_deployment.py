"""A deployment scripted as an operator runs it (issue 15): only the ``publiek``
command, each call its own OS process, and HTTP.

The taskforce sets up an aggregator on SQLite, its staff accounts and the
custodian, opens a quarter, hands out enrollment tokens and serves the API on
127.0.0.1. Five institutions, each in its own workspace, enroll, fetch the
sector key, draft a mapping from their export, ingest, check their status,
submit and hand their receipt to the privacy officer, who checks it against
the transparency log. The taskforce closes and publishes the quarter.

The exports are the sector's rows (:func:`demo.sector.generate_sector`,
seeded) in the shapes box offices write (``box_office``), and the dead ends
of issue 15 are walked through on the way: a date format that rejects every
row (exit 3, then fixed), genres left unmapped and ingested again with
``--replace`` after the fix, ``--replace`` refused once the quarter was
released, a cumulative pair of exports, a workbook without a genre column,
and a late submission to the published quarter (refused, nothing spent).

The published benchmark is then checked against the ground truth computed
from the rows (tests/integration/sector_truth.py), and every line any
process printed, the server's log and the aggregator's state folder are
scanned for the visitors' postcodes, e-mail addresses and names.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest

from agent.workspace import Workspace
from custodian.state import CustodianState
from demo.sector import InstitutionSpec, default_pool, generate_sector
from tests.e2e import box_office
from tests.integration.sector_truth import (
    all_bytes,
    checked_cells,
    household_identity,
    label,
    leaks,
    misses_allowed,
    truth,
)

# Servers, five agents and some seventy `publiek` processes: outside the inner loop.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
PERIOD = "2026-Q3"
SIZES = (2400, 2000, 1600, 1400, 1200)  # households a quarter: five small institutions
SEED = 15
PASSWORD = "correct horse battery staple"
# The sector's first five institutions by demo.sector's fixed pattern, and the
# box-office system each one exports from.
DISCIPLINES = ("museum", "theater", "music", "museum", "film")


@dataclass(frozen=True)
class Run:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@dataclass
class Shell:
    """Runs ``publiek`` as the operator's shell does: one OS process per command,
    every line it printed kept for the leak scan."""

    transcript: list[Run] = field(default_factory=list)

    @staticmethod
    def env(extra: dict[str, str] | None = None) -> dict[str, str]:
        # This checkout's code, and none of the caller's PUBLIEK_* settings.
        base = {k: v for k, v in os.environ.items() if not k.startswith("PUBLIEK_")}
        return {**base, "PYTHONPATH": str(ROOT), **(extra or {})}

    def __call__(
        self,
        *args: str | Path,
        expect: int = 0,
        env: dict[str, str] | None = None,
        stdin: str | None = None,
    ) -> Run:
        argv = tuple(str(a) for a in args)
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "cli", *argv],
            cwd=ROOT, env=self.env(env), input=stdin, capture_output=True, text=True,
            timeout=120, check=False,
        )  # fmt: skip
        run = Run(argv, done.returncode, done.stdout, done.stderr, time.monotonic() - started)
        self.transcript.append(run)
        assert run.returncode == expect, f"publiek {' '.join(argv)}: exit {run.returncode}\n" + (
            run.output
        )
        return run


@dataclass
class Institution:
    spec: InstitutionSpec
    folder: Path
    institution_id: str = ""
    token: str = ""

    @property
    def workspace(self) -> Path:
        return self.folder / "workspace"

    def rows(self, sector_rows: pl.DataFrame) -> pl.DataFrame:
        return sector_rows.filter(pl.col("institution") == self.spec.slug)


@dataclass
class Deployment:
    """What the scripted deployment leaves for the checks below."""

    shell: Shell
    rows: pl.DataFrame  # every export row that counts in the quarter (the ground truth)
    sector_key: bytes
    institutions: dict[str, Institution]
    runs: dict[str, Run]  # the steps the checks read, by name
    reports: dict[str, dict[str, Any]]
    visits: dict[str, pl.DataFrame]  # workspace visits snapshots, by step name
    ledgers: dict[str, str]
    outboxes: dict[str, list[str]]
    benchmark_cli: dict[str, Any]
    benchmark_http: dict[str, Any]
    server_log: str
    state: Path
    seconds: float


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _edit(draft: str, old: str, new: str) -> str:
    """The operator's edit of one line of a drafted mapping (which must hold it)."""
    assert old in draft, f"the draft has no line {old!r}:\n{draft}"
    return draft.replace(old, new)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    started = time.monotonic()
    root = tmp_path_factory.mktemp("deployment")
    sh = Shell()
    runs: dict[str, Run] = {}
    reports: dict[str, dict[str, Any]] = {}
    visits: dict[str, pl.DataFrame] = {}

    sector = generate_sector(
        institutions=len(SIZES), sizes=SIZES, households=default_pool(SIZES), seed=SEED
    )
    assert tuple(s.discipline for s in sector.institutions) == DISCIPLINES
    museum, theater, music, museum2, film = (
        Institution(spec, root / spec.slug) for spec in sector.institutions
    )
    everyone = [museum, theater, music, museum2, film]
    for inst in everyone:
        (inst.folder / "exports").mkdir(parents=True)

    # -- the box offices' exports ------------------------------------------------
    exports = {
        museum.spec.slug: box_office.museum_xlsx(
            museum.rows(sector.rows), museum.folder / "exports" / "bezoekers-q3.xlsx",
            title=f"{museum.spec.name}: bezoekers",
        ),
        theater.spec.slug: box_office.ticketmatic_csv(
            theater.rows(sector.rows), theater.folder / "exports" / "verkopen.csv"
        ),
        museum2.spec.slug: box_office.month_name_csv(
            museum2.rows(sector.rows), museum2.folder / "exports" / "reserveringen.csv"
        ),
        film.spec.slug: box_office.plain_csv(
            film.rows(sector.rows), film.folder / "exports" / "orders.csv"
        ),
    }  # fmt: skip
    # The Tix box office exports "sales so far": day 2 holds day 1's orders again
    # (one of them partly refunded since) and the orders sold after.
    music_rows = music.rows(sector.rows).sort("order_id")
    day1_rows = music_rows.head(music_rows.height * 7 // 10)
    refunded = day1_rows.filter(pl.col("tickets") != "1").row(0, named=True)
    day1 = box_office.tix_csv(
        day1_rows, music.folder / "exports" / "tix-dag1.csv",
        changed_tickets={refunded["order_id"]: int(refunded["tickets"]) + 1},
    )  # fmt: skip
    day2 = box_office.tix_csv(music_rows, music.folder / "exports" / "tix-dag2.csv")

    # -- the taskforce sets up the aggregator (docs/operations.md) --------------
    state, custodian = root / "aggregator", root / "custodian"
    agg = ("--state", state)
    sh("aggregator", "init", *agg)
    sh("aggregator", "user", "add", "t.aken", "--role", "taskforce", "--password-stdin", *agg,
       stdin=PASSWORD + "\n")  # fmt: skip
    sh("aggregator", "user", "add", "p.rivacy", "--role", "privacy-officer", "--password-stdin",
       *agg, stdin=PASSWORD + "\n")  # fmt: skip
    taskforce_token = sh("aggregator", "user", "token", "t.aken", *agg).stdout.strip()
    officer_token = sh("aggregator", "user", "token", "p.rivacy", *agg).stdout.strip()
    custodian_key = sh("custodian", "init", "--state", custodian).stdout.strip()
    sh("aggregator", "custodian", "register", "--key", custodian_key, *agg)
    runs["period open"] = sh("aggregator", "period", "open", PERIOD, *agg)
    for inst in everyone:
        s = inst.spec
        made = sh(
            "aggregator", "token", "create", "--institution", s.name, "--discipline",
            s.discipline, "--province", s.province, "--size-class", s.size_class, *agg,
        )  # fmt: skip
        inst.token = made.stdout.strip()
        found = re.search(r"^institution (\S+): token", made.stderr, re.MULTILINE)
        assert found, made.stderr
        inst.institution_id = found[1]

    port = _free_port()
    server_log = root / "serve.log"
    with server_log.open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "cli", "aggregator", "serve", *map(str, agg),
             "--port", str(port)],
            cwd=ROOT, env=Shell.env(), stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_ready(server, url, server_log)

        # -- each institution enrolls; the custodian approves and distributes ----
        key_ids = {}
        for inst in everyone:
            # One of them pastes the token from the mail: spaces around it, a newline.
            token = f"  {inst.token} \n" if inst is museum2 else inst.token
            enrolled = sh(
                "agent", "enroll", "--aggregator", url, "--workspace", inst.workspace,
                "--custodian-key", custodian_key, env={"PUBLIEK_ENROLL_TOKEN": token},
            )  # fmt: skip
            key_ids[inst.institution_id] = enrolled.stdout.rsplit(":", 1)[1].strip()
        for institution_id, key_id in key_ids.items():
            sh("custodian", "approve", "--institution", institution_id, "--key-id", key_id,
               "--state", custodian)  # fmt: skip
        runs["distribute"] = sh(
            "custodian", "distribute", "--period", PERIOD, "--aggregator", url,
            "--state", custodian, env={"PUBLIEK_TOKEN": taskforce_token},
        )  # fmt: skip

        # -- each institution drafts its mapping and ingests -----------------------
        def ws(inst: Institution) -> tuple[str, Path]:
            return ("--workspace", inst.workspace)

        def draft(inst: Institution, export: Path) -> str:
            return sh("agent", "mapping", "suggest", export, *ws(inst)).stdout

        def ingest(
            inst: Institution, *files: Path, mapping: Path, expect: int = 0, replace: bool = False
        ) -> tuple[Run, dict[str, Any]]:
            report = inst.folder / "last-ingest.json"
            report.unlink(missing_ok=True)
            done = sh(
                "agent", "ingest", *files, "--mapping", mapping, *ws(inst),
                "--report-json", report, *(["--replace"] if replace else []), expect=expect,
            )  # fmt: skip
            # An export or mapping refused outright (exit 2) writes no report.
            written = json.loads(report.read_text(encoding="utf-8")) if report.exists() else {}
            return done, written

        for inst in everyone:
            sh("agent", "sector-key", "fetch", "--period", PERIOD, *ws(inst))

        # Museum workbook: no genre column, so the draft names the enrolled discipline.
        mapping = museum.folder / "mapping.toml"
        mapping.write_text(draft(museum, exports[museum.spec.slug]), encoding="utf-8")
        runs["museum draft"] = sh.transcript[-1]
        runs["museum ingest"], reports["museum"] = ingest(
            museum, exports[museum.spec.slug], mapping=mapping
        )

        # Ticketmatic: the draft as it is (cp1252 and the delimiter detected).
        mapping = theater.folder / "mapping.toml"
        mapping.write_text(draft(theater, exports[theater.spec.slug]), encoding="utf-8")
        runs["theater ingest"], reports["theater"] = ingest(
            theater, exports[theater.spec.slug], mapping=mapping
        )

        # Tix, cumulative: day 1's export, then the next day's.
        mapping = music.folder / "mapping.toml"
        mapping.write_text(draft(music, day1), encoding="utf-8")
        runs["music day 1"], reports["music day 1"] = ingest(music, day1, mapping=mapping)
        runs["music day 2"], reports["music day 2"] = ingest(music, day2, mapping=mapping)
        visits["music"] = Workspace(music.workspace).load_visits(PERIOD)

        # Month names: the operator copies the draft's example date format into
        # [source]; every row is rejected, the export held back. Then fixed.
        mapping = museum2.folder / "mapping.toml"
        text = draft(museum2, exports[museum2.spec.slug])
        text = _edit(text, '# "Rondleiding" = "other"   # not recognised: choose one',
                     '"Rondleiding" = "museum"')  # fmt: skip
        example = '# date_format = "%d-%m-%Y" # detected from the dates when left out'
        mapping.write_text(_edit(text, example, 'date_format = "%d-%m-%Y"'), encoding="utf-8")
        runs["months held back"], reports["months held back"] = ingest(
            museum2, exports[museum2.spec.slug], mapping=mapping, expect=3
        )
        mapping.write_text(_edit(text, example, 'date_format = "%d %B %Y"'), encoding="utf-8")
        runs["months ingest"], reports["months"] = ingest(
            museum2, exports[museum2.spec.slug], mapping=mapping
        )

        # Film house: the draft's unrecognised genres left commented out, so they
        # count as "other"; mapped, the same export is ingested again with --replace.
        mapping = film.folder / "mapping.toml"
        text = draft(film, exports[film.spec.slug])
        mapping.write_text(text, encoding="utf-8")
        runs["film unmapped"], reports["film unmapped"] = ingest(
            film, exports[film.spec.slug], mapping=mapping
        )
        visits["film before"] = Workspace(film.workspace).load_visits(PERIOD)
        for genre in ("Documentaire", "Speelfilm"):
            text = _edit(text, f'# "{genre}" = "other"   # not recognised: choose one',
                         f'"{genre}" = "film"')  # fmt: skip
        mapping.write_text(text, encoding="utf-8")
        runs["film replace"], reports["film replace"] = ingest(
            film, exports[film.spec.slug], mapping=mapping, replace=True
        )
        visits["film after"] = Workspace(film.workspace).load_visits(PERIOD)

        # -- each institution checks, submits and hands over its receipt --------
        for inst in everyone:
            runs[f"status {inst.spec.slug}"] = sh("agent", "status", *ws(inst))
            runs[f"submit {inst.spec.slug}"] = sh("agent", "submit", "--period", PERIOD, *ws(inst))
            receipt = inst.folder / "receipt.json"
            sh("agent", "receipt", "export", "--period", PERIOD, "--out", receipt, *ws(inst))
            runs[f"verify {inst.spec.slug}"] = sh(
                "audit", "verify-log", "--aggregator", url, "--receipt", receipt,
                env={"PUBLIEK_TOKEN": officer_token},
            )  # fmt: skip

        # Released: the film house's export can no longer be replaced.
        runs["replace after release"], _ = ingest(
            film, exports[film.spec.slug], mapping=mapping, replace=True, expect=2
        )

        # -- the taskforce closes and publishes the quarter ------------------------
        runs["period list"] = sh("aggregator", "period", "list", *agg)
        runs["institution list"] = sh("aggregator", "institution", "list", "--period", PERIOD,
                                      *agg)  # fmt: skip
        runs["close"] = sh("aggregator", "period", "close", PERIOD, *agg)
        runs["publish"] = sh("aggregator", "period", "publish", PERIOD, *agg)
        exported = root / "benchmarks-q3.json"
        sh("aggregator", "benchmarks", "--period", PERIOD, "--format", "json",
           "--output", exported, *agg)  # fmt: skip
        benchmark_cli = json.loads(exported.read_text(encoding="utf-8"))
        benchmark_http = httpx.get(
            f"{url}/v1/periods/{PERIOD}/benchmarks",
            headers={"authorization": f"Bearer {taskforce_token}"},
            timeout=30,
        ).json()

        # -- late: new sales ingested, a submit to the published quarter ---------
        ledgers, outboxes = {}, {}
        late = box_office.plain_csv(
            film.rows(sector.rows)
            .head(40)
            .with_columns(("L" + pl.col("order_id")).alias("order_id")),
            film.folder / "exports" / "orders-late.csv",
        )
        ingest(film, late, mapping=mapping)
        for when in ("before", "after"):
            if when == "after":
                runs["late submit"] = sh("agent", "submit", "--period", PERIOD, *ws(film),
                                         expect=2)  # fmt: skip
            ledgers[when] = sh("agent", "budget", *ws(film)).stdout
            outboxes[when] = sorted(p.name for p in (film.workspace / "outbox").iterdir())
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()

    yield Deployment(
        shell=sh,
        rows=sector.rows,
        sector_key=CustodianState(custodian).sector_key(PERIOD).reveal(),
        institutions={i.spec.slug: i for i in everyone},
        runs=runs,
        reports=reports,
        visits=visits,
        ledgers=ledgers,
        outboxes=outboxes,
        benchmark_cli=benchmark_cli,
        benchmark_http=benchmark_http,
        server_log=server_log.read_text(encoding="utf-8", errors="replace"),
        state=state,
        seconds=time.monotonic() - started,
    )


def _wait_until_ready(server: subprocess.Popen[bytes], url: str, log: Path) -> None:
    """Poll ``/readyz`` as a load balancer would, until the server answers 200."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, f"serve exited:\n{log.read_text(errors='replace')}"
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"the aggregator did not answer within 60 s:\n{log.read_text()}")


# -- the way through --------------------------------------------------------------


def test_every_institution_is_enrolled_and_gets_the_sector_key(deployment: Deployment) -> None:
    assert "sector key sealed to 5 agents" in deployment.runs["distribute"].stdout
    for slug in deployment.institutions:
        status = deployment.runs[f"status {slug}"].stdout
        assert f"period {PERIOD}: sector key fetched" in status
        assert "  not released yet" in status


def test_every_submission_is_receipted_and_in_the_transparency_log(
    deployment: Deployment,
) -> None:
    for slug in deployment.institutions:
        assert "submitted " in deployment.runs[f"submit {slug}"].stdout
        assert "receipt ok" in deployment.runs[f"verify {slug}"].stdout
    listing = deployment.runs["institution list"].stdout
    assert listing.count(f"{PERIOD}: submitted (1)") == 5, listing
    assert "5 institutions submitted" in deployment.runs["period list"].stdout


def test_a_cumulative_pair_counts_each_order_once_as_the_newest_export_has_it(
    deployment: Deployment,
) -> None:
    music = next(i for i in deployment.institutions.values() if i.spec.discipline == "music")
    rows = music.rows(deployment.rows).filter(
        pl.struct(pl.all()).map_elements(household_identity, return_dtype=pl.String).is_not_null()
    )
    stored = deployment.visits["music"]
    assert stored.height == rows.height
    assert int(stored["tickets"].sum()) == int(rows["tickets"].cast(pl.Int64).sum())
    assert "warning" not in deployment.runs["music day 2"].output


def test_a_workbook_without_a_genre_column_counts_as_the_enrolled_discipline(
    deployment: Deployment,
) -> None:
    assert 'default_discipline = "museum"' in deployment.runs["museum draft"].stdout
    report = deployment.reports["museum"]
    assert report["default_discipline"] == "museum"
    assert report["defaulted"] == report["rows_accepted"] > 0
    assert "counted as museum" in deployment.runs["museum ingest"].stdout


def test_a_wrong_date_format_holds_the_export_back_and_names_the_reason(
    deployment: Deployment,
) -> None:
    held = deployment.runs["months held back"]
    assert "mostly invalid_date" in held.stderr
    assert "date_format" in held.stderr
    assert "run the same command again" in held.stderr
    assert deployment.reports["months held back"]["files_ingested"] == []
    fixed = deployment.reports["months"]
    assert set(fixed["rejected_by_reason"]) == {"no_household_key"}  # no address, no e-mail
    held_back = deployment.reports["months held back"]["held_back"]["reserveringen.csv"]
    assert fixed["rows_read"] == held_back["rows_read"]


def test_replace_after_a_mapping_fix_changes_the_stored_visits(deployment: Deployment) -> None:
    assert "Documentaire" in deployment.runs["film unmapped"].stdout
    assert set(deployment.visits["film before"]["discipline"].cast(pl.String)) == {"other"}
    assert "replaced orders.csv" in deployment.runs["film replace"].stdout
    after = deployment.visits["film after"]
    assert set(after["discipline"].cast(pl.String)) == {"film"}
    assert after.height == deployment.visits["film before"].height


def test_replace_once_the_quarter_was_released_is_refused(deployment: Deployment) -> None:
    refused = deployment.runs["replace after release"]
    assert refused.stderr.startswith("error: ")
    assert PERIOD in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1


def test_a_submit_to_the_published_quarter_is_refused_and_spends_nothing(
    deployment: Deployment,
) -> None:
    refused = deployment.runs["late submit"]
    assert f"period {PERIOD} is published" in refused.stderr
    assert "nothing was drawn" in refused.stderr
    assert deployment.ledgers["after"] == deployment.ledgers["before"]
    assert deployment.outboxes["after"] == deployment.outboxes["before"]


# -- what was published -------------------------------------------------------------


def test_the_published_intervals_hold_the_true_totals(deployment: Deployment) -> None:
    """Nominal coverage 95%: at most :func:`misses_allowed` of the cells miss."""
    exact = truth(deployment.rows, deployment.sector_key)
    cells = checked_cells(deployment.benchmark_http["cells"])
    inside = [c["ci95_low"] <= exact.get(label(c), 0) <= c["ci95_high"] for c in cells]
    n = len(inside)
    assert n >= 20
    assert n - sum(inside) <= misses_allowed(n), f"{sum(inside)}/{n}"


def test_the_command_line_and_the_api_publish_the_same_sector_benchmark(
    deployment: Deployment,
) -> None:
    http = deployment.benchmark_http
    assert http["status"] == "published"
    sector = next(g for g in deployment.benchmark_cli["groups"] if g["group_id"] == "sector")
    assert sector["cells"] == http["cells"]
    assert http["group"]["institutions"] == 5


# -- what never leaves --------------------------------------------------------------


def test_no_process_printed_personal_data(deployment: Deployment) -> None:
    printed = "\n".join(r.output for r in deployment.shell.transcript)
    assert len(deployment.shell.transcript) > 50
    assert leaks(deployment.rows, printed + deployment.server_log) == []


def test_the_aggregator_state_holds_no_personal_data(deployment: Deployment) -> None:
    assert "aggregator.db" in {p.name for p in deployment.state.iterdir()}
    assert leaks(deployment.rows, all_bytes(deployment.state)) == []


def test_the_scan_finds_the_personal_data_in_the_exports(deployment: Deployment) -> None:
    theater = next(i for i in deployment.institutions.values() if i.spec.discipline == "theater")
    found = leaks(deployment.rows, all_bytes(theater.folder / "exports"))
    assert len(found) > 100
