"""``publiek demo``: the whole system on a synthetic sector, for real.

A real aggregator process (uvicorn on 127.0.0.1, a free port) with state under
``DIR/aggregator/``; one agent workspace per institution under
``DIR/agents/<slug>/`` with its raw exports; the taskforce custodian under
``DIR/custodian/``. Each agent enrolls over HTTP pinning the custodian's key;
the demo then plays the custodian with the same code as ``publiek custodian
distribute`` (the period's sector key, sealed to each agent and relayed by
the aggregator); each agent fetches and unseals it, ingests, and submits
exactly as ``publiek agent submit`` does: it fetches the period's signed
config (the default budget, ε = 1 per quarter per institution, spent by one
submission) and its standing, and only then releases DP tables, seals and
sends them; the demo then prints the sector benchmark the aggregator
computed. Only counts are ever printed.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from agent.client import AggregatorClient
from agent.enrollment import enroll
from agent.ingest import ingest_exports
from agent.ingest.mapping import Mapping
from agent.own_report import write_report
from agent.sector_keys import fetch_sector_key
from agent.segment_install import install_model, pin_model_key
from agent.submit import submit_period
from agent.workspace import Workspace
from aggregator.auth import PRIVACY_OFFICER, TASKFORCE, create_user, issue_token
from aggregator.custodian import register_custodian
from aggregator.enrollment import create_token
from aggregator.keyring import Keyring
from aggregator.penetration_text import period_penetration
from aggregator.periods import close_period, open_period, period_sketch_of, publish_period
from aggregator.segment_models import publish_release, register_model_key
from aggregator.settings import Settings
from aggregator.storage import Database
from custodian.distribute import distribute
from custodian.state import CustodianState
from demo.overlap_text import format_crossover, format_reach
from demo.sector import (
    PERIOD,
    Sector,
    generate_sector,
    places_of,
    sector_disciplines,
    write_exports,
)
from protocol.client import ProblemClient
from protocol.errors import PubliekError, ServiceUnavailable, UsageError
from protocol.keys import SecretBytes
from protocol.state_files import private_dir, write_private
from segments.synthetic import (
    SYNTHETIC_VERSION,
    signed_synthetic,
    synthetic_model_key,
    synthetic_tables,
)

MARKER = ".publiek-demo"
# The demo's period gives the household sketches (issue 17) this share of
# each institution's budget, on top of the default budget the tables keep:
# a synthetic sector of two dozen institutions is too small for overlaps to
# stand out of the noise at a share of the default budget alone (see
# docs/benchmarks.md, "Overlaps"), and the demo should show figures, not only
# "too uncertain". A real period is opened by the taskforce with its choice.
OVERLAP_SHARE = 0.9
# Institutions that consent to named pairwise overlaps (release.toml).
NAMED_OVERLAPS = 2
# The quarter before PERIOD: the same institutions and households, new audiences,
# published too, so that the trends pages and each institution's report have two
# periods to compare and the returning households of PERIOD are there to count.
EARLIER = "2026-Q2"
QUARTERS = (EARLIER, PERIOD)

Progress = Callable[[str], None]


@dataclass(frozen=True)
class DemoResult:
    url: str
    period: str
    benchmark: dict[str, Any]
    sector: Sector
    sector_key: SecretBytes
    workspace: Path


def prepare_workspace(root: Path) -> None:
    """Start from a clean demo folder; refuse to wipe anything that is not one."""
    if root.exists() and any(root.iterdir()) and not (root / MARKER).exists():
        raise UsageError(
            f"{root} exists and is not a demo workspace",
            hint="choose an empty or new folder with --workspace",
        )
    for sub in ("aggregator", "agents", "custodian"):
        shutil.rmtree(root / sub, ignore_errors=True)
    private_dir(root)
    (root / MARKER).write_text("created by `publiek demo`; safe to delete\n", encoding="utf-8")


@contextmanager
def aggregator_process(settings: Settings, progress: Progress) -> Iterator[str]:
    """Run ``publiek aggregator serve`` as a child process; yield its URL."""
    address = settings.state_dir / "server.json"
    address.unlink(missing_ok=True)
    log = os.fdopen(
        os.open(settings.state_dir / "server.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
        "wb",
    )
    cmd = [
        sys.executable, "-m", "cli", "aggregator", "serve",
        "--state", str(settings.state_dir), "--host", "127.0.0.1", "--port", "0",
        "--address-file", str(address), "--k", str(settings.k),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)  # noqa: S603
    try:
        url = _wait_until_ready(proc, address)
        progress(f"aggregator listening on {url} (pid {proc.pid})")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        progress("aggregator stopped")


def _wait_until_ready(proc: subprocess.Popen[bytes], address: Path) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServiceUnavailable(
                f"the aggregator exited with code {proc.returncode}",
                hint=f"see {address.parent / 'server.log'}",
            )
        if address.exists():
            url = str(json.loads(address.read_text(encoding="utf-8"))["url"])
            # One attempt per poll: this loop is the retry, and it also watches the process.
            with ProblemClient(url, attempts=1, timeout=2) as probe:
                try:
                    probe.get("/readyz")
                except PubliekError:
                    pass  # not listening yet, or the database not yet answering (503)
                else:
                    return url
        time.sleep(0.1)
    raise ServiceUnavailable("the aggregator did not become ready within 60 s")


def run_demo(
    root: Path,
    *,
    institutions: int = 24,
    households: int | None = None,
    seed: int = 7,
    k: int = 5,
    progress: Progress = print,
    serve: bool = False,
    earlier_quarter: bool = True,
) -> DemoResult:
    """The demo: a synthetic sector through the real system, ending with its
    figures, one institution's report and the logins. ``earlier_quarter``
    False runs PERIOD alone (tests that need no trend: half the work)."""
    started = time.monotonic()
    prepare_workspace(root)
    settings = Settings(state_dir=root / "aggregator", k=k)
    private_dir(settings.state_dir)

    # The openly generated synthetic segment model release, signed with the
    # public demo key: the aggregator publishes it, the period names it, every
    # agent pins the key and installs it, and the sector's households live at
    # its PC6 codes, so that penetration compares visitors with its population.
    tables = synthetic_tables()
    release_file = root / "segment-model" / f"{SYNTHETIC_VERSION}.zip"
    private_dir(release_file.parent)
    write_private(release_file, signed_synthetic(tables))
    progress(f"generating a synthetic sector: {institutions} institutions")
    sector = generate_sector(
        institutions=institutions,
        households=households,
        seed=seed,
        places=places_of(tables.pc4, tables.pc6, tables.segment_ids),
    )
    sectors = {PERIOD: sector}
    if earlier_quarter:
        sectors[EARLIER] = generate_sector(
            institutions=institutions,
            households=households,
            seed=seed,
            places=places_of(tables.pc4, tables.pc6, tables.segment_ids),
            period=EARLIER,
            draw=1,
        )
    quarters = tuple(q for q in QUARTERS if q in sectors)
    exports = {q: write_exports(sectors[q], root / "agents", q) for q in quarters}
    rows = sum(of.rows.height for of in sectors.values())
    progress(f"  wrote {rows} export rows of {' and '.join(quarters)} under {root / 'agents'}")

    custodian = CustodianState(root / "custodian")
    custodian_key = custodian.init().public
    db = Database(settings.db_url)
    db.create_schema()
    Keyring(settings, db).ensure()
    register_custodian(db, custodian_key)
    model_key = synthetic_model_key().public
    register_model_key(db, model_key)
    publish_release(db, release_file.read_bytes(), where=str(release_file))
    progress(f"published segment model {SYNTHETIC_VERSION} (synthetic, signed with the demo key)")
    # Tables keep the default budget; the sketch gets OVERLAP_SHARE of the total.
    sizes = sorted(spec.households for spec in sector.institutions)
    for quarter in quarters:
        period = open_period(
            db, quarter, rho_budget=settings.period_rho / (1 - OVERLAP_SHARE),
            delta=settings.period_delta, mechanism=settings.period_mechanism, k=k,
            overlap_share=OVERLAP_SHARE, overlap_households=sizes[len(sizes) // 2],
        )  # fmt: skip
    sketch = period_sketch_of(period)
    assert sketch is not None
    progress(
        f"opened {' and '.join(quarters)}: ρ {period.rho_budget:.4f} per institution, of which "
        f"{OVERLAP_SHARE:.0%} for household sketches (width {sketch.width}; "
        f"{1 / (1 - OVERLAP_SHARE):.0f}× the default ρ {settings.period_rho:.4f}, so that a "
        "small synthetic sector shows overlaps; the tables keep the default)"
    )
    tokens = {
        spec.slug: create_token(
            db,
            name=spec.name,
            discipline=spec.discipline,
            province=spec.province,
            size_class=spec.size_class,
            valid_for=timedelta(hours=1),
        )[1]
        for spec in sector.institutions
    }
    # The demo's operator is the taskforce: one account, one API token, used by
    # the custodian for the roster and the sealed keys, and to close the period.
    # Its password, and the privacy officer's, are made for this run and printed at
    # the end, so that a reader can log in to their pages (nothing real is behind them).
    logins = {"taskforce": secrets.token_urlsafe(12), "privacy": secrets.token_urlsafe(12)}
    create_user(db, "taskforce", TASKFORCE, logins["taskforce"])
    create_user(db, "privacy", PRIVACY_OFFICER, logins["privacy"])
    taskforce_token = issue_token(db, "taskforce", valid_for=timedelta(hours=1))
    db.engine.dispose()

    with aggregator_process(settings, progress) as url:
        workspaces: dict[str, Workspace] = {}
        for spec in sector.institutions:
            workspace = Workspace(root / "agents" / spec.slug / "workspace")
            enroll(workspace, url, tokens[spec.slug], custodian_key=custodian_key.to_text())
            pin_model_key(workspace, model_key.to_text())
            release_toml = ""
            if spec.pc4 is not None:  # the institution's own PC4: its catchment's centre
                release_toml += f'home_pc4 = "{spec.pc4}"\n'
            if len(workspaces) < NAMED_OVERLAPS:  # consent to named pairwise overlaps
                release_toml += "share_named_overlaps = true\n"
            if release_toml:
                write_private(workspace.root / "release.toml", release_toml.encode())
            workspaces[spec.slug] = workspace
        # The demo plays the taskforce custodian; it approves every new agent
        # (trust on first use) where a real custodian confirms key ids out of band.
        for quarter in quarters:
            shared = distribute(custodian, url, quarter, token=taskforce_token, trust_new=True)
            progress(f"custodian sealed the {quarter} sector key to {len(shared.sealed)} agents")
        for i, spec in enumerate(sector.institutions, 1):
            workspace = workspaces[spec.slug]
            for quarter in quarters:
                fetch_sector_key(workspace, quarter)
            model = install_model(workspace, release_file)
            mapping = Mapping.load(root / "agents" / spec.slug / "mapping.toml")
            report = ingest_exports([exports[q][spec.slug] for q in quarters], mapping, workspace)
            with AggregatorClient(url) as client:
                done = [submit_period(workspace, q, model, client=client) for q in quarters]
            progress(
                f"  [{i:2}/{len(sector.institutions)}] {spec.slug}: {report.rows_accepted} visits, "
                f"{report.households} households; "
                + ", ".join(
                    f"{q} ρ={d.release.payload.privacy.rho:g} of {d.period_config.rho_budget:g} "
                    f"→ log #{d.receipt['log_index']}"
                    for q, d in zip(quarters, done, strict=True)
                )
            )
        # The taskforce closes the periods (benchmarks are computed) and publishes them.
        for quarter in quarters:
            close_period(db, quarter, k=k)
            publish_period(db, quarter)
        db.engine.dispose()
        progress(f"published {' and '.join(quarters)}; below, {PERIOD}:")
        with ProblemClient(url, timeout=30) as client:
            benchmark = client.get(f"/v1/periods/{PERIOD}/benchmarks")
        progress("")
        progress(format_benchmark(benchmark, sector_disciplines()))
        progress("")
        progress(period_penetration(db, PERIOD, k=k))
        db.engine.dispose()
        progress("")
        with ProblemClient(url, timeout=30) as client:
            for path, formatted in (
                (f"/v1/periods/{PERIOD}/overlaps?by=discipline", format_crossover),
                (f"/v1/periods/{PERIOD}/reach", format_reach),
            ):
                try:
                    progress(formatted(client.get(path)))
                except PubliekError as exc:  # e.g. fewer than k institutions sent sketches
                    progress(f"overlaps not shown: {exc}")
                progress("")
        # One institution's own report, written on its side with its exact numbers beside
        # the published benchmarks (``publiek agent report``).
        first = sector.institutions[0].slug
        with AggregatorClient(url) as client:
            written = write_report(workspaces[first], PERIOD, client=client)
        progress(f"own report of {first} (exact own numbers, written on its side): {written}")
        progress(format_logins(url, logins))
        if serve:
            # ``publiek demo --serve``: the dashboard and the API stay up for a
            # browser until the operator stops the demo; the server stops with it.
            progress(f"dashboard: {url}/ (serving until Ctrl-C)")
            # A SIGTERM (a service manager, `kill`) stops it the same way, and so
            # does a SIGINT where a shell started it in the background with
            # SIGINT ignored: the aggregator is never left running without the demo.
            for stop in (signal.SIGTERM, signal.SIGINT):
                signal.signal(stop, _interrupt)
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                progress("Ctrl-C: stopping the aggregator")
        else:
            progress(f"dashboard: {url}/ (served while the demo runs; keep it up with")
            progress("  publiek demo --serve, or start it again with")
            progress(f"  publiek aggregator serve --state {settings.state_dir})")
    progress(f"demo finished in {time.monotonic() - started:.1f} s")
    return DemoResult(
        url=url,
        period=PERIOD,
        benchmark=benchmark,
        sector=sector,
        sector_key=custodian.sector_key(PERIOD),
        workspace=root,
    )


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def format_logins(url: str, logins: dict[str, str]) -> str:
    """Where to log in, and as whom: the demo's own accounts, made for this run."""
    rows = [("taskforce", "taskforce", "/taskforce"), ("privacy officer", "privacy", "/privacy")]
    return "\n".join(
        [f"log in at {url}/login (accounts made for this demo run):"]
        + [
            f"  {who:<15} user {user:<9} password {logins[user]}  → {url}{home}"
            for who, user, home in rows
        ]
    )


TOO_UNCERTAIN = "te onzeker"
SYNTHETIC_MODEL = "segment model {model} is SYNTHETIC: its segments describe no real population"


def format_benchmark(
    benchmark: dict[str, Any],
    disciplines: list[str],
    table: str = "households_by_segment_discipline",
) -> str:
    """Segment × the given disciplines as 'estimate ± 95% half-width'; a cell
    whose interval is wider than half its estimate reads "te onzeker" (too
    uncertain), a cell that fewer than k institutions sent "–". Estimates are
    post-processed by the aggregator, so none is negative."""
    cells = [c for c in benchmark["cells"] if c["table"] == table]
    segments = sorted({c["segment"] for c in cells})
    by_key = {(c["segment"], c["discipline"]): c for c in cells}
    width = 17
    lines = [
        (
            f"Sector benchmark {benchmark['period']}: households by segment × discipline "
            f"(estimate ± 95% half-width; k={benchmark['k']})"
        ),
    ]
    if benchmark.get("synthetic"):
        lines.append(SYNTHETIC_MODEL.format(model=benchmark["segment_model"]))
    lines += [
        "segment".ljust(22) + "".join(d.rjust(width) for d in disciplines),
    ]
    for seg in segments:
        row = seg.ljust(22)
        for d in disciplines:
            c = by_key.get((seg, d))
            if c is None:
                text = "–"
            elif c["published"] and c["estimate"] is not None:
                text = f"{c['estimate']:,} ± {c['ci95_high'] - c['estimate']:,.0f}"
            else:
                text = TOO_UNCERTAIN
            row += text.rjust(width)
        lines.append(row)
    lines.append(
        f"{TOO_UNCERTAIN}: too uncertain, the 95% interval is wider than half the estimate "
        "(no number shown); –: sent by fewer than k institutions"
    )
    return "\n".join(lines)
