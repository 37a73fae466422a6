"""A deployment scripted as an operator runs it (issue 15): only the ``publiek``
command, each call its own OS process, and HTTP.

The taskforce follows docs/operations.md: an aggregator on SQLite, its staff
accounts, the custodian's key, the quarter opened, one enrollment token per
institution, the API served on 127.0.0.1. Five institutions, each in a
workspace of its own, enroll; the custodian approves their sealing keys and
distributes the sector key; each agent fetches it, drafts a mapping from its
export, ingests, checks its status, submits and checks its receipt against
the transparency log. The taskforce closes and publishes the quarter and
exports the benchmarks.

The exports are the rows of a seeded synthetic sector
(:func:`demo.sector.generate_sector`) in the shapes box offices write
(``box_office``), and the dead ends of issue 15 are walked through on the way:
a date format that rejects every row (exit 3, fixed, the same command again),
genres left unmapped and the export ingested again with ``--replace``,
``--replace`` refused once the quarter was released, a cumulative pair of
exports, a workbook without a genre column, and new sales submitted to the
published quarter (refused, nothing spent).

The published benchmark is checked against the ground truth computed from the
rows (tests/integration/sector_truth.py); every line any process printed, the
server's log and the aggregator's state folder are scanned for the visitors'
postcodes, e-mail addresses and names.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest

from agent.workspace import Workspace
from custodian.state import CustodianState
from demo.sector import InstitutionSpec, default_pool, generate_sector, places_of
from segments.synthetic import SYNTHETIC_VERSION, synthetic_tables
from tests.e2e import box_office
from tests.integration.sector_truth import (
    all_bytes,
    checked_cells,
    household_identity,
    label,
    leaks,
    misses_allowed,
    synthetic_model,
    truth,
)
from tests.scratch import discard

# A server, five agents and some seventy `publiek` processes: outside the inner loop.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
PERIOD = "2026-Q3"
SIZES = (2400, 2000, 1600, 1400, 1200)  # households a quarter: five small institutions
SEED = 15
PASSWORD = "correct horse battery staple"
# Institutions' commands run side by side, as at five institutions; two cores.
PARALLEL = 4


@dataclass(frozen=True)
class Run:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@dataclass
class Shell:
    """Runs ``publiek`` as an operator's shell does, one OS process per command,
    and keeps everything each one printed (for the leak scan).

    ``python -m cli`` is the ``publiek`` console script (pyproject's
    ``[project.scripts]``, ``cli:main``), run from this checkout rather than the
    copy installed in the virtual environment."""

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
        done = subprocess.run(
            [sys.executable, "-m", "cli", *argv],
            cwd=ROOT, env=self.env(env), input=stdin, capture_output=True, text=True,
            timeout=180, check=False,
        )  # fmt: skip
        run = Run(argv, done.returncode, done.stdout, done.stderr)
        self.transcript.append(run)
        assert run.returncode == expect, f"publiek {' '.join(argv)}: exit {run.returncode}\n" + (
            run.output
        )
        return run


@dataclass
class Evidence:
    """What the deployment leaves for the checks: named command runs, ingest
    reports, snapshots of a workspace's visits, a ledger before and after."""

    runs: dict[str, Run] = field(default_factory=dict)
    reports: dict[str, dict[str, Any]] = field(default_factory=dict)
    visits: dict[str, pl.DataFrame] = field(default_factory=dict)
    ledger: dict[str, str] = field(default_factory=dict)
    outbox: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Agent:
    """One institution: its box office's rows, its folder, its workspace."""

    spec: InstitutionSpec
    rows: pl.DataFrame
    folder: Path
    sh: Shell
    ev: Evidence
    institution_id: str = ""
    token: str = ""

    @property
    def workspace(self) -> Path:
        return self.folder / "workspace"

    @property
    def mapping(self) -> Path:
        return self.folder / "mapping.toml"

    def export_path(self, name: str) -> Path:
        (self.folder / "exports").mkdir(parents=True, exist_ok=True)
        return self.folder / "exports" / name

    def agent(self, *args: str | Path, **kwargs: Any) -> Run:
        return self.sh("agent", *args, "--workspace", self.workspace, **kwargs)

    def draft(self, export: Path) -> str:
        """`agent mapping suggest`, as the operator redirects it into a file."""
        return self.agent("mapping", "suggest", export).stdout

    def ingest(
        self, name: str, *exports: Path, expect: int = 0, replace: bool = False
    ) -> dict[str, Any]:
        report = self.folder / "last-ingest.json"
        report.unlink(missing_ok=True)
        self.ev.runs[name] = self.agent(
            "ingest", *exports, "--mapping", self.mapping, "--report-json", report,
            *(["--replace"] if replace else []), expect=expect,
        )  # fmt: skip
        # An export or a mapping refused outright (exit 2) leaves no report.
        done = json.loads(report.read_text(encoding="utf-8")) if report.exists() else {}
        self.ev.reports[name] = done
        return done

    def visits(self) -> pl.DataFrame:
        return Workspace(self.workspace).load_visits(PERIOD)


def _edit(draft: str, old: str, new: str) -> str:
    """The operator's edit of one line of a drafted mapping (which must hold it)."""
    assert old in draft, f"the draft has no line {old!r}:\n{draft}"
    return draft.replace(old, new)


# -- each institution's box office, and what its operator runs into -----------------


def museum_workbook(a: Agent) -> None:
    """A workbook with title rows and no genre column: the draft names the
    enrolled discipline, every visit counts as it."""
    export = box_office.museum_xlsx(a.rows, a.export_path("bezoekers-q3.xlsx"), a.spec.name)
    a.mapping.write_text(a.draft(export), encoding="utf-8")
    a.ev.runs["workbook draft"] = a.sh.transcript[-1]
    a.ingest("workbook", export)


def ticketmatic(a: Agent) -> None:
    """cp1252, ``;`` and a euro sign: the draft as it comes."""
    export = box_office.ticketmatic_csv(a.rows, a.export_path("verkopen.csv"))
    a.mapping.write_text(a.draft(export), encoding="utf-8")
    a.ingest("ticketmatic", export)


def tix_cumulative(a: Agent) -> None:
    """ "Sales so far": day 2's export holds day 1's orders again (one partly
    refunded since) and the orders sold after; each is ingested as it comes."""
    rows = a.rows.sort("order_id")
    day1_rows = rows.head(rows.height * 7 // 10)
    refunded = day1_rows.filter(pl.col("tickets") != "1").row(0, named=True)
    day1 = box_office.tix_csv(
        day1_rows, a.export_path("tix-dag1.csv"),
        changed_tickets={refunded["order_id"]: int(refunded["tickets"]) + 1},
    )  # fmt: skip
    day2 = box_office.tix_csv(rows, a.export_path("tix-dag2.csv"))
    a.mapping.write_text(a.draft(day1), encoding="utf-8")
    a.ingest("cumulative day 1", day1)
    a.ingest("cumulative day 2", day2)
    a.ev.visits["cumulative"] = a.visits()


def month_names(a: Agent) -> None:
    """Dates as "1 augustus 2026". The operator maps the genre the draft could not
    place and, copying from another venue's mapping, replaces the date format the
    draft found with "%d-%m-%Y": every row is rejected, the export held back
    (exit 3). With the draft's line back, the same command again."""
    export = box_office.month_name_csv(a.rows, a.export_path("reserveringen.csv"))
    text = _edit(
        a.draft(export),
        '# "Rondleiding" = "other"   # not recognised: choose one',
        '"Rondleiding" = "museum"',
    )
    found = 'date_format = "%d %b %Y"   # as this export\'s dates read'
    a.mapping.write_text(_edit(text, found, 'date_format = "%d-%m-%Y"'), encoding="utf-8")
    a.ingest("month names held back", export, expect=3)
    a.mapping.write_text(text, encoding="utf-8")
    a.ingest("month names", export)


def film_unmapped_genres(a: Agent) -> None:
    """The draft's unrecognised genres left commented out: they count as "other".
    Mapped, the same command skips the export (ingested before) and points to
    --replace, which ingests it again under the fixed mapping."""
    export = box_office.plain_csv(a.rows, a.export_path("orders.csv"))
    text = a.draft(export)
    a.mapping.write_text(text, encoding="utf-8")
    a.ingest("unmapped", export)
    a.ev.visits["unmapped"] = a.visits()
    for genre in ("Documentaire", "Speelfilm"):
        text = _edit(
            text, f'# "{genre}" = "other"   # not recognised: choose one', f'"{genre}" = "film"'
        )
    a.mapping.write_text(text, encoding="utf-8")
    a.ingest("mapped, same command", export)
    a.ingest("mapped, replace", export, replace=True)
    a.ev.visits["replaced"] = a.visits()


# The sector's first five institutions (demo.sector's fixed pattern of disciplines).
BOX_OFFICES: tuple[tuple[str, Callable[[Agent], None]], ...] = (
    ("museum", museum_workbook),
    ("theater", ticketmatic),
    ("music", tix_cumulative),
    ("museum", month_names),
    ("film", film_unmapped_genres),
)


@dataclass
class Deployment:
    """The deployment as the checks see it."""

    shell: Shell
    ev: Evidence
    agents: list[Agent]
    rows: pl.DataFrame  # every export row that counts in the quarter: the ground truth
    sector_key: bytes
    benchmark_cli: dict[str, Any]
    benchmark_http: dict[str, Any]
    penetration: dict[str, Any]
    crossover: dict[str, Any]
    reach: dict[str, Any]
    server_log: str
    state: Path

    def agent(self, discipline: str) -> Agent:
        return next(a for a in self.agents if a.spec.discipline == discipline)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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


def _together(*steps: Callable[[], object]) -> None:
    """Steps that do not wait for each other, run side by side (each in its own
    processes, as by several people at several machines)."""
    with ThreadPoolExecutor(PARALLEL) as pool:
        for done in [pool.submit(step) for step in steps]:
            done.result()


def _each(agents: list[Agent], step: Callable[[Agent], object]) -> None:
    """``step`` for every institution, side by side."""
    _together(*(lambda a=a: step(a) for a in agents))


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    root = tmp_path_factory.mktemp("deployment")
    sh, ev = Shell(), Evidence()
    # Households live at the synthetic segment model's PC6 codes, and each
    # institution at a PC4 of its own province: its catchment's centre.
    model = synthetic_tables()
    sector = generate_sector(
        institutions=len(SIZES), sizes=SIZES, households=default_pool(SIZES), seed=SEED,
        places=places_of(model.pc4, model.pc6, model.segment_ids),
    )  # fmt: skip
    assert [s.discipline for s in sector.institutions] == [d for d, _ in BOX_OFFICES]
    agents = [
        Agent(s, sector.rows.filter(pl.col("institution") == s.slug), root / s.slug, sh, ev)
        for s in sector.institutions
    ]
    box_offices = {a.spec.slug: office for a, (_, office) in zip(agents, BOX_OFFICES, strict=True)}
    # One institution pastes its token from the mail: spaces around it, a newline.
    pasted = agents[3]

    # -- the taskforce: aggregator, staff, custodian, the quarter, tokens --------
    # Once the state exists, these are independent: several people do them at once.
    state, custodian = root / "aggregator", root / "custodian"
    agg = ("--state", state)
    sh("aggregator", "init", *agg)
    tokens: dict[str, str] = {}

    def staff(user: str, role: str) -> None:
        sh("aggregator", "user", "add", user, "--role", role, "--password-stdin", *agg,
           stdin=PASSWORD + "\n")  # fmt: skip
        tokens[role] = sh("aggregator", "user", "token", user, *agg).stdout.strip()

    def custodian_key() -> None:
        tokens["custodian"] = sh("custodian", "init", "--state", custodian).stdout.strip()
        sh("aggregator", "custodian", "register", "--key", tokens["custodian"], *agg)

    def model_then_quarter() -> None:
        # The taskforce publishes the segment model release (here the synthetic
        # one, signed with the public demo key), then opens the quarter, which
        # names the release published last.
        release = root / f"{SYNTHETIC_VERSION}.segments"
        made = sh("segments", "synthetic", "--out", release)
        found = re.search(r"^demo key (\S+) ", made.output, re.MULTILINE)
        assert found, made.stdout
        tokens["model key"] = found[1]
        sh("aggregator", "segment-model", "register-key", "--key", found[1], *agg)
        sh("aggregator", "segment-model", "publish", release, *agg)
        # A quarter of each submission's ρ for household sketches (overlaps).
        ev.runs["period open"] = sh(
            "aggregator", "period", "open", PERIOD, "--overlap-share", "0.25",
            "--overlap-households", "1600", *agg,
        )  # fmt: skip

    def token_for(a: Agent) -> None:
        s = a.spec
        made = sh(
            "aggregator", "token", "create", "--institution", s.name, "--discipline",
            s.discipline, "--province", s.province, "--size-class", s.size_class, *agg,
        )  # fmt: skip
        a.token = made.stdout.strip()
        found = re.search(r"^institution (\S+): token", made.stderr, re.MULTILINE)
        assert found, made.stderr
        a.institution_id = found[1]

    _together(
        lambda: staff("t.aken", "taskforce"),
        lambda: staff("p.rivacy", "privacy-officer"),
        custodian_key,
        model_then_quarter,
        *(lambda a=a: token_for(a) for a in agents),
    )
    taskforce_token, officer_token = tokens["taskforce"], tokens["privacy-officer"]
    custodian_key_text = tokens["custodian"]

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server_log = root / "serve.log"
    with server_log.open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "cli", "aggregator", "serve", *map(str, agg),
             "--port", str(port)],
            cwd=ROOT, env=Shell.env(), stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        _wait_until_ready(server, url, server_log)

        # -- institutions enroll; the custodian approves and distributes -------------
        def enroll(a: Agent) -> None:
            token = f"  {a.token} \n" if a is pasted else a.token
            ev.runs[f"enroll {a.spec.slug}"] = a.agent(
                "enroll", "--aggregator", url, "--custodian-key", custodian_key_text,
                env={"PUBLIEK_ENROLL_TOKEN": token},
            )  # fmt: skip

        _each(agents, enroll)
        for a in agents:
            # Confirmed with the institution by phone: the id its enroll printed.
            key_id = ev.runs[f"enroll {a.spec.slug}"].stdout.rsplit(":", 1)[1].strip()
            sh("custodian", "approve", "--institution", a.institution_id, "--key-id", key_id,
               "--state", custodian)  # fmt: skip
        ev.runs["distribute"] = sh(
            "custodian", "distribute", "--period", PERIOD, "--aggregator", url,
            "--state", custodian, env={"PUBLIEK_TOKEN": taskforce_token},
        )  # fmt: skip

        # -- each institution: model, sector key, mapping, ingest, status, submit ----
        def quarter(a: Agent) -> None:
            a.agent("segment-model", "pin-key", "--model-key", tokens["model key"])
            a.agent("segment-model", "fetch", "--version", SYNTHETIC_VERSION)
            assert a.spec.pc4 is not None
            # Two institutions consent to named pairwise overlaps.
            consent = "share_named_overlaps = true\n" if a in agents[:2] else ""
            (a.workspace / "release.toml").write_text(f'home_pc4 = "{a.spec.pc4}"\n{consent}')
            a.agent("sector-key", "fetch", "--period", PERIOD)
            box_offices[a.spec.slug](a)
            ev.runs[f"status {a.spec.slug}"] = a.agent("status")
            ev.runs[f"submit {a.spec.slug}"] = a.agent("submit", "--period", PERIOD)
            receipt = a.folder / "receipt.json"
            a.agent("receipt", "export", "--period", PERIOD, "--out", receipt)
            ev.runs[f"verify {a.spec.slug}"] = sh(
                "audit", "verify-log", "--aggregator", url, "--receipt", receipt,
                env={"PUBLIEK_TOKEN": officer_token},
            )  # fmt: skip

        _each(agents, quarter)

        # The taskforce sees who submitted; the film house, released, tries to
        # replace its export once more.
        film = next(a for a in agents if a.spec.discipline == "film")

        def listing(name: str, *args: str) -> Callable[[], None]:
            return lambda: ev.runs.__setitem__(name, sh("aggregator", *args, *agg))

        _together(
            listing("period list", "period", "list"),
            listing("institution list", "institution", "list", "--period", PERIOD),
            lambda: film.ingest(
                "replace after release", film.export_path("orders.csv"), replace=True, expect=2
            ),
        )

        # -- the taskforce closes and publishes; the benchmarks ---------------------
        sh("aggregator", "period", "close", PERIOD, *agg)
        sh("aggregator", "period", "publish", PERIOD, *agg)
        benchmarks: dict[str, Any] = {}

        def penetration() -> None:
            benchmarks["penetration"] = httpx.get(
                f"{url}/v1/periods/{PERIOD}/penetration", timeout=30
            ).json()

        def export_benchmarks() -> None:
            exported = root / "benchmarks-2026-Q3.json"
            sh("aggregator", "benchmarks", "--period", PERIOD, "--format", "json",
               "--output", exported, *agg)  # fmt: skip
            benchmarks["cli"] = json.loads(exported.read_text(encoding="utf-8"))
            benchmarks["http"] = httpx.get(
                f"{url}/v1/periods/{PERIOD}/benchmarks",
                headers={"authorization": f"Bearer {taskforce_token}"},
                timeout=30,
            ).json()

        # -- meanwhile, late sales of the quarter are submitted to it ----------------
        def late_submission() -> None:
            late = film.rows.head(40).with_columns(("L" + pl.col("order_id")).alias("order_id"))
            film.ingest("late sales", box_office.plain_csv(late, film.export_path("late.csv")))
            for when in ("before", "after"):
                if when == "after":
                    ev.runs["late submit"] = film.agent("submit", "--period", PERIOD, expect=2)
                ev.ledger[when] = film.agent("budget").stdout
                ev.outbox[when] = sorted(p.name for p in (film.workspace / "outbox").iterdir())

        def overlaps() -> None:
            for name, path in (("crossover", "overlaps?by=discipline"), ("reach", "reach")):
                benchmarks[name] = httpx.get(
                    f"{url}/v1/periods/{PERIOD}/{path}",
                    headers={"authorization": f"Bearer {taskforce_token}"},
                    timeout=30,
                ).json()

        _together(export_benchmarks, penetration, overlaps, late_submission)
        ev.runs["submission list"] = sh("aggregator", "submission", "list", PERIOD, *agg)
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()

    yield Deployment(
        shell=sh,
        ev=ev,
        agents=agents,
        rows=sector.rows,
        sector_key=CustodianState(custodian).sector_key(PERIOD).reveal(),
        benchmark_cli=benchmarks["cli"],
        benchmark_http=benchmarks["http"],
        penetration=benchmarks["penetration"],
        crossover=benchmarks["crossover"],
        reach=benchmarks["reach"],
        server_log=server_log.read_text(encoding="utf-8", errors="replace"),
        state=state,
    )
    discard(root)


# -- the way through ----------------------------------------------------------------


def test_every_institution_enrolls_and_gets_the_sector_key(deployment: Deployment) -> None:
    assert "sector key sealed to 5 agents" in deployment.ev.runs["distribute"].stdout
    for a in deployment.agents:
        status = deployment.ev.runs[f"status {a.spec.slug}"].stdout
        assert f"enrolled as {a.institution_id}" in status
        assert f"period {PERIOD}: sector key fetched" in status
        assert "  not released yet" in status


def test_every_submission_is_receipted_and_in_the_transparency_log(
    deployment: Deployment,
) -> None:
    runs = deployment.ev.runs
    for a in deployment.agents:
        assert "submitted " in runs[f"submit {a.spec.slug}"].stdout
        assert "receipt ok" in runs[f"verify {a.spec.slug}"].stdout
    assert runs["institution list"].stdout.count(f"{PERIOD}: submitted (1)") == 5
    assert "5 institutions submitted" in runs["period list"].stdout


def test_a_cumulative_pair_counts_each_order_once_as_the_newest_export_has_it(
    deployment: Deployment,
) -> None:
    music = deployment.agent("music")
    attributable = music.rows.filter(
        pl.struct(pl.all()).map_elements(household_identity, return_dtype=pl.String).is_not_null()
    )
    stored = deployment.ev.visits["cumulative"]
    assert stored.height == attributable.height
    assert int(stored["tickets"].sum()) == int(attributable["tickets"].cast(pl.Int64).sum())
    assert deployment.ev.reports["cumulative day 2"]["overlapping"] == {}


def test_a_workbook_without_a_genre_column_counts_as_the_enrolled_discipline(
    deployment: Deployment,
) -> None:
    assert 'default_discipline = "museum"' in deployment.ev.runs["workbook draft"].stdout
    report = deployment.ev.reports["workbook"]
    assert report["default_discipline"] == "museum"
    assert report["defaulted"] == report["rows_accepted"] > 0
    assert "counted as museum" in deployment.ev.runs["workbook"].stdout


def test_a_wrong_date_format_holds_the_export_back_naming_the_reason(
    deployment: Deployment,
) -> None:
    held = deployment.ev.runs["month names held back"]
    assert "mostly invalid_date" in held.stderr
    assert "date_format" in held.stderr
    assert "run the same command again" in held.stderr
    assert deployment.ev.reports["month names held back"]["files_ingested"] == []
    fixed = deployment.ev.reports["month names"]
    assert fixed["files_ingested"] == ["reserveringen.csv"]
    assert set(fixed["rejected_by_reason"]) == {"no_household_key"}  # no address, no e-mail
    held_back = deployment.ev.reports["month names held back"]["held_back"]
    assert fixed["rows_read"] == held_back["reserveringen.csv"]["rows_read"]


def test_replace_after_a_mapping_fix_changes_the_stored_visits(deployment: Deployment) -> None:
    ev = deployment.ev
    assert "unmapped disciplines counted as other: Documentaire" in ev.runs["unmapped"].stdout
    assert set(ev.visits["unmapped"]["discipline"].cast(pl.String)) == {"other"}
    assert "--replace" in ev.runs["mapped, same command"].stdout
    assert ev.reports["mapped, same command"]["files_skipped"] == ["orders.csv"]
    assert "replaced orders.csv" in ev.runs["mapped, replace"].stdout
    assert set(ev.visits["replaced"]["discipline"].cast(pl.String)) == {"film"}
    assert ev.visits["replaced"].height == ev.visits["unmapped"].height


def test_replace_once_the_quarter_was_released_is_refused(deployment: Deployment) -> None:
    refused = deployment.ev.runs["replace after release"].stderr
    assert refused.startswith("error: orders.csv: cannot replace it")
    assert f"its visits of {PERIOD} were released" in refused
    assert len(refused.strip().splitlines()) == 1


def test_a_submit_to_the_published_quarter_is_refused_and_spends_nothing(
    deployment: Deployment,
) -> None:
    ev = deployment.ev
    assert ev.reports["late sales"]["rows_accepted"] > 0
    refused = ev.runs["late submit"].stderr
    assert f"period {PERIOD} is published at the aggregator; nothing was drawn" in refused
    assert ev.ledger["after"] == ev.ledger["before"]
    assert ev.ledger["after"].count("ρ=") == 1
    assert ev.outbox["after"] == ev.outbox["before"]
    assert f"period {PERIOD} (published): 5 stored submissions" in ev.runs["submission list"].stdout


# -- what was published -------------------------------------------------------------


def test_the_published_95_percent_intervals_hold_the_true_totals(deployment: Deployment) -> None:
    """Nominal coverage 95%: at most :func:`misses_allowed` of the cells miss."""
    exact = truth(deployment.rows, deployment.sector_key, synthetic_model())
    cells = checked_cells(deployment.benchmark_http["cells"])
    inside = [c["ci95_low"] <= exact.get(label(c), 0) <= c["ci95_high"] for c in cells]
    n = len(inside)
    assert n >= 20
    assert n - sum(inside) <= misses_allowed(n), f"{sum(inside)}/{n}"


def test_no_published_estimate_is_off_by_more_than_its_noise(deployment: Deployment) -> None:
    """A few misses are chance; a count that is wrong (a table mis-binned, an
    order counted twice) is off by many standard deviations, in however few
    cells. Beyond 5 sd happens by chance with probability below 10^-6 a cell."""
    exact = truth(deployment.rows, deployment.sector_key, synthetic_model())
    off = {
        label(c): (c["estimate"], exact.get(label(c), 0), round(c["std"], 1))
        for c in checked_cells(deployment.benchmark_http["cells"])
        if abs(c["estimate"] - exact.get(label(c), 0)) > 5 * c["std"]
    }
    assert off == {}, "(estimate, truth, sd): " + repr(off)


def test_the_command_line_and_the_api_publish_the_same_sector_benchmark(
    deployment: Deployment,
) -> None:
    http = deployment.benchmark_http
    assert http["status"] == "published"
    assert http["group"]["institutions"] == 5
    sector = next(g for g in deployment.benchmark_cli["groups"] if g["group_id"] == "sector")
    assert sector["cells"] == http["cells"]


def test_the_quarter_fixes_a_household_sketch_and_its_overlaps_are_published(
    deployment: Deployment,
) -> None:
    """The taskforce opened the quarter with a quarter of ρ for household
    sketches: the CLI said so, every institution released one (one part, its
    enrolled discipline), and the overlaps come out under the rules: five
    institutions of five disciplines are one pooled group of k, the reach
    says it is a lower bound, and no figure is negative."""
    opened = deployment.ev.runs["period open"].output
    assert "household sketch" in opened and "25%" in opened, opened
    crossover, reach = deployment.crossover, deployment.reach
    assert crossover["groups"] == [{"group": "pooled", "institutions": 5}]
    assert [(c["left"], c["right"], c["listed"]) for c in crossover["cells"]] == [
        ("pooled", "pooled", True)
    ]
    assert reach["institutions"] == 5 and reach["lower_bound"] is True
    figures = [c["shared_households"] for c in crossover["cells"]]
    figures += [reach[f] for f in ("reach", "mean_institutions", "household_institution_pairs")]
    for figure in figures:
        if figure["too_uncertain"]:
            assert figure["estimate"] is None
        else:
            assert 0 <= figure["ci95_low"] <= figure["estimate"] <= figure["ci95_high"]


# -- what never leaves --------------------------------------------------------------


def test_the_published_penetration_counts_against_the_periods_model(
    deployment: Deployment,
) -> None:
    """Public, for the sector in the country: every segment of the model with an
    interval around its estimate, labelled synthetic, against the model the
    quarter named; the visiting households are no more than the submissions'
    rows (an upper bound of each institution's distinct households, summed)."""
    found = deployment.penetration
    assert (found["segment_model"], found["synthetic"], found["catchment"]) == (
        SYNTHETIC_VERSION, True, "country",
    )  # fmt: skip
    assert found["institutions"] == len(deployment.agents) and found["listed"]
    model = synthetic_tables()
    assert [s["segment"] for s in found["segments"]] == list(model.segment_ids)
    sizes = sum(a.rows.height for a in deployment.agents)
    shown = 0
    for segment in found["segments"]:
        figure = segment["penetration"]
        if figure["estimate"] is not None:
            shown += 1
            assert figure["ci95_low"] <= figure["estimate"] <= figure["ci95_high"]
            assert 0 < figure["estimate"] < 100 * sizes / segment["population"] * 2
    assert shown >= len(found["segments"]) // 2


def test_no_process_printed_personal_data(deployment: Deployment) -> None:
    printed = "\n".join(r.output for r in deployment.shell.transcript)
    assert len(deployment.shell.transcript) > 60
    assert leaks(deployment.rows, printed + deployment.server_log) == []


def test_the_aggregator_state_holds_no_personal_data(deployment: Deployment) -> None:
    assert "aggregator.db" in {p.name for p in deployment.state.iterdir()}
    assert leaks(deployment.rows, all_bytes(deployment.state)) == []


def test_the_scan_finds_the_personal_data_in_an_export(deployment: Deployment) -> None:
    theater = deployment.agent("theater")
    assert len(leaks(deployment.rows, all_bytes(theater.folder / "exports"))) > 100
