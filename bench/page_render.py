"""Benchmark: the sector's web pages for a sector of N institutions over several periods.

    .venv/bin/python bench/page_render.py [--institutions 500] [--periods 3] \
        [--requests 50] [--write]

The sector of ``bench/aggregator_sector.py`` (every institution sends every
cell of the release design, through the real intake) submits in each of
``--periods`` quarters up to 2026-Q3; every quarter is closed, all but the
second published, so the taskforce's pages have an unpublished period.

What the overview's penetration and overlap sections need comes through the
same paths as in a deployment. The synthetic segment model release
(``segments.synthetic``, 8M households, signed with the public demo key) is
registered and published before the first quarter opens, and every quarter
names it; each institution's catchment origin is a PC4 of the model in its
enrolled province. Every quarter is opened with ``--overlap-share 0.25`` and
``--overlap-households`` the median institution's households, and each
submission carries its household sketch in one part (the enrolled
discipline's, the agent's default), released by OpenDP
(``dp.sketches.release_parts``) at a quarter of its ρ; the households are
64-bit hashes drawn from the sector's (:class:`Sketcher`). Each submission
spends the period's whole budget, as the demo's agents do. Most of the
set-up's time is the sketches' noise, one OpenDP draw per bucket.

Timed, through the app (FastAPI's test client, in process: what the server
does for a request, without the network), in Dutch:

* ``GET /``: the public overview of the newest published period (the whole
  sector), its penetration, crossover and reach kept;
* ``GET /taskforce``: the taskforce's overview of the unpublished period, logged in;
* ``GET /trends`` and ``GET /taskforce/trends``: every figure across the periods,
  as kept after the first view;
* the first views, which compute what is kept: another group's overview,
  whose penetration is computed from the period's kept inputs (the rest kept,
  as the server's warmer leaves it); the overview and the trends after a
  close once the warmer has seen it (``sector_pages.warm`` untimed: the page
  and the trends' figures laid out from kept answers), what a reader meets;
  and the same two with nothing kept (``sector_pages.forget_kept``: every
  submission read and checked for penetration, the sketches read and the
  crossover and reach computed, for each period shown), what the warmer
  pays once per closing, not measured against the target.

Every key of every table is then a number: the pages at their largest. Each
overview measured is checked to show the segment profile with penetration
figures, the crossover heat map with its cells and, for the sector, the
reach (:func:`shows_penetration_and_overlaps`), not the line saying why they
are missing. Target (issue 18): at most 200 ms per page at the 95th
percentile.

``--write`` puts the figures into docs/benchmarks.md (section "Web pages").
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/'s own modules

import numpy as np
import polars as pl
from aggregator_sector import LABELS, PERIOD, RHO, Releaser, prepare, seal
from fastapi.testclient import TestClient
from sections import replace_section
from sqlalchemy import select

from aggregator.api import sector_pages
from aggregator.api.overlaps import period_crossover, period_reach
from aggregator.api.penetration import group_penetration
from aggregator.api.sector_pages import WARM_EVERY_SECONDS
from aggregator.app import create_app
from aggregator.auth import TASKFORCE, create_user
from aggregator.intake import Intake
from aggregator.keyring import Keyring
from aggregator.peergroups import SECTOR
from aggregator.penetration import DEFAULT_RADIUS
from aggregator.periods import (
    PUBLISHED,
    close_period,
    get_period,
    list_periods,
    open_period,
    period_sketch_of,
    publish_period,
)
from aggregator.settings import Settings
from aggregator.storage import Database, Institution, Period
from dp.release_design import UNKNOWN, months_of
from dp.sketches import SketchConfig, release_parts, sketch_config
from protocol.messages import ReleasedSketch, SubmissionPayload
from segments.synthetic import (
    SYNTHETIC_VERSION,
    signed_synthetic,
    synthetic_model_key,
    synthetic_tables,
)

SECTION = "## Web pages"
# The rows of a view before anything is kept: a server's start, within one round of its
# warmer; paid once per closing by the warmer, not measured against the target.
NOTHING_KEPT = "nothing kept yet"
ROOT = Path(__file__).resolve().parents[1]
TARGET_MS = 200.0
TARGET = f"≤ {TARGET_MS:.0f} ms p95"
PASSWORD = "bench bench bench"
QUARTERS = ("2025-Q4", "2026-Q1", "2026-Q2", PERIOD)
SHARE = 0.25  # --overlap-share: the household sketch's part of each submission's ρ
# Each submission spends its period's whole budget, as the demo's agents do: the
# tables the sector's RHO, the sketch SHARE of the total.
BUDGET = RHO / (1 - SHARE)
# The households an institution sketches, by size class; the median is the
# period's --overlap-households, from which the sketch's width follows.
HOUSEHOLDS = {"small": 5_000, "medium": 20_000, "large": 60_000}
# The distinct households of the sector, per institution: each household draws
# about three institutions (HOUSEHOLDS' mean over the size classes, 28,333, over
# 10,000), so that any two institutions share some, at any --institutions.
SECTOR_HOUSEHOLDS = 10_000
CONSENTS_EVERY = 5  # every fifth institution consents to named pairwise overlaps


def percentiles(
    run: Callable[[], object], n: int, setup: Callable[[], object] | None = None
) -> tuple[float, float]:
    """p50 and p95 in ms of ``n`` runs, after one warm-up run; ``setup``, untimed,
    before each."""
    if setup is not None:
        setup()
    run()
    times = []
    for _ in range(n):
        if setup is not None:
            setup()
        t = time.perf_counter()
        run()
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[max(0, round(0.95 * n) - 1)]


def in_period(payload: SubmissionPayload, period: str) -> SubmissionPayload:
    """The bench's payload moved to ``period``: the same tables, the months its own."""
    months = dict(zip(months_of(PERIOD), months_of(period), strict=True))
    tables = []
    for table in payload.tables:
        if "month" not in table.dimensions:
            tables.append(table)
            continue
        at = table.dimensions.index("month")
        keys = tuple(
            tuple(months[k] if i == at else k for i, k in enumerate(key)) for key in table.keys
        )
        tables.append(dataclasses.replace(table, keys=keys))
    return dataclasses.replace(payload, period=period, tables=tuple(tables))


@dataclasses.dataclass(frozen=True)
class Member:
    """An enrolled institution as its submissions need it."""

    discipline: str  # its enrolled discipline: its sketch's one part
    households: int  # the households its sketch counts
    origin: str  # its catchment origin: a PC4 of the segment model in its province
    consents: bool  # to named pairwise overlaps


def members(db: Database, pc4: pl.DataFrame) -> dict[str, Member]:
    """The enrolled institutions by id; each one's origin a PC4 of its enrolled
    province in the model (``pc4``: the model's PC4 table), spread over them."""
    codes = {
        str(province): frame["pc4"].to_list()
        for (province,), frame in pc4.partition_by("province", as_dict=True).items()
    }
    with db.session() as s:
        rows = s.scalars(select(Institution).order_by(Institution.institution_id)).all()
    return {
        row.institution_id: Member(
            discipline=row.discipline,
            households=HOUSEHOLDS[row.size_class],
            origin=str(codes[row.province][n * 7 % len(codes[row.province])]),
            consents=n % CONSENTS_EVERY == 0,
        )
        for n, row in enumerate(rows)
    }


class Sketcher:
    """One period's sector of households, and each institution's sketch of its
    own released by OpenDP as the agent releases it by default
    (``dp.sketches.release_parts``, one part: the enrolled discipline's) at
    the period's width and seed.

    A household is its keyed hash here: 64 random bits, which is what the
    period's keyed hash of a household key looks like (``dp.sketches.hashed``;
    hashing the keys is the agent's work, timed in bench/overlap_sketching.py).
    Each institution draws its households uniformly from the sector's, so any
    two share some. The time goes to OpenDP's noise, one draw per bucket."""

    def __init__(self, period: Period, institutions: int, rng: np.random.Generator) -> None:
        spec = period_sketch_of(period)
        if spec is None:
            raise ValueError(f"period {period.label} fixes no household sketch")
        self.config: SketchConfig = sketch_config(period.label, spec)
        households = SECTOR_HOUSEHOLDS * institutions
        self.sector = rng.integers(0, 2**64 - 1, households, dtype=np.uint64, endpoint=True)
        self.rng = rng

    def release(self, member: Member, *, rho: float) -> ReleasedSketch:
        drawn = self.sector[self.rng.integers(0, len(self.sector), member.households)]
        parts = {member.discipline: pl.Series("hash", np.unique(drawn))}
        released, _ = release_parts(self.config, parts, (member.discipline,), rho=rho)
        return released


def with_overlaps(
    payload: SubmissionPayload, member: Member, sketcher: Sketcher
) -> SubmissionPayload:
    """``payload`` as a period with the synthetic model and a sketch asks for it:
    the model named (its segments are the demo model's, so the tables stand),
    the institution's catchment origin, and its sketch at :data:`SHARE` of the
    submission's ρ, the tables keeping theirs."""
    sketch = sketcher.release(member, rho=payload.privacy.rho * SHARE / (1 - SHARE))
    privacy = dataclasses.replace(payload.privacy, rho=payload.privacy.rho + sketch.rho)
    return dataclasses.replace(
        payload,
        segment_model=SYNTHETIC_VERSION,
        catchment_origin=member.origin,
        sketch=sketch,
        named_overlaps=member.consents,
        privacy=privacy,
    )


# What the overview shows when penetration, the crossover and the reach have
# answers (aggregator.sector_view: profile_section, crossover_section,
# reach_rows; views/templates/sector_overview.html): a cell is data-key="<key>",
# holding <data class="estimate"> when its figure is clear enough to show; a
# section without an answer says why in <p class="gap" data-gap="unavailable">.
ESTIMATE = r'"><data class="estimate"'
PENETRATION = re.compile(r'<td data-key="[a-z-]+\|penetration' + ESTIMATE)
CROSSOVER_CELL = re.compile(r'<tr><th scope="row">[^<]+</th><td [^>]*data-key="[a-z-]+\|[a-z-]+"')
REACH = re.compile(r'<tr data-table="reach"><th scope="row">[^<]+</th><td [^>]*data-key="reach"')
GROUP = re.compile(r'id="shown-group" data-group="([^"]+)"')


def section(html: str, anchor: str, what: str) -> str:
    """The overview's section ``anchor``, its chart drawn and no reason in its place."""
    start = html.index(f'<section aria-labelledby="{anchor}"')
    found = html[start : html.index("</section>", start)]
    assert 'data-gap="unavailable"' not in found, f"{what}: the {anchor} section is missing"
    assert f'id="chart-{anchor}-title"' in found, f"{what}: the {anchor} section has no chart"
    return found


def shows_penetration_and_overlaps(html: str, what: str) -> None:
    """The overview has what this bench gives it: the segment profile with
    penetration figures, the crossover heat map and its cells, and, for the
    sector, the reach rows; not the line saying why they are missing."""
    assert PENETRATION.search(section(html, "profile", what)), f"{what}: no penetration figure"
    assert CROSSOVER_CELL.search(section(html, "crossover", what)), f"{what}: no crossover cell"
    group = GROUP.search(html)
    assert group is not None, f"{what}: no group shown"
    shown = REACH.search(html) is not None
    assert shown == (group[1] == SECTOR), f"{what}: reach shown {shown} for {group[1]}"


def cold_answers(client: TestClient, runs: int) -> dict[str, float]:
    """Median ms of each answer the overview's first view after a close computes
    for the newest published period, called as the page calls them
    (``sector_pages.kept_answer``) after ``forget_kept``, in that order: the
    sector's penetration, the crossover by discipline, the reach."""
    svc = client.app.state.services  # type: ignore[attr-defined]
    row = [r for r in list_periods(svc.db) if r.state == PUBLISHED][-1]
    answers = {
        "penetration": (group_penetration, {"group": SECTOR, "catchment": DEFAULT_RADIUS}),
        "crossover": (period_crossover, {"by": "discipline"}),
        "reach": (period_reach, {}),
    }
    times: dict[str, list[float]] = {name: [] for name in answers}
    for _ in range(runs):
        sector_pages.forget_kept()
        for name, (call, kwargs) in answers.items():
            t = time.perf_counter()
            answer, why = sector_pages.kept_answer(call, row, svc, **kwargs)
            times[name].append((time.perf_counter() - t) * 1000)
            assert answer is not None, f"no {name}: {why}"
    return {name: statistics.median(ms) for name, ms in times.items()}


def page_bench_arguments(doc: str, periods: range) -> argparse.Namespace:
    """The options of the page benches (this one and ``privacy_page_render``)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--institutions", type=int, default=500)
    parser.add_argument("--periods", type=int, default=3, choices=periods)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    return parser.parse_args()


@contextmanager
def bench_folder() -> Iterator[Path]:
    """The bench's aggregator folder, removed after the run: its database and
    sketches are hundreds of MB at 500 institutions, on a disk others share."""
    state = Path(tempfile.mkdtemp(prefix="publiek-bench-"))
    try:
        yield state
    finally:
        shutil.rmtree(state, ignore_errors=True)


def main() -> int:
    args = page_bench_arguments(__doc__ or "", range(2, len(QUARTERS) + 1))
    with bench_folder() as state:
        return run(args, state)


def run(args: argparse.Namespace, state: Path) -> int:
    """Set up the sector in ``state``, time the pages; 1 if any misses the target."""
    quarters = QUARTERS[-args.periods :]
    unpublished = quarters[-2]
    url = f"sqlite:///{state / 'aggregator.db'}"
    t0 = time.perf_counter()
    tables = synthetic_tables()
    # The tables' segment labels (the demo model's) are the release's segments.
    assert (*tables.segment_ids, UNKNOWN) == LABELS["segment"], "the model's segments differ"
    model = (synthetic_model_key().public, signed_synthetic(tables))
    expected = statistics.median(HOUSEHOLDS.values())  # --overlap-households
    db, recipient, signers = prepare(state / "state", url, args.institutions, rho_budget=BUDGET,
                                     model=model, overlap_share=SHARE,
                                     overlap_households=expected)  # fmt: skip
    enrolled = members(db, tables.pc4)
    settings = Settings(state_dir=state / "state", database_url=url)
    releaser = Releaser()
    intake = Intake(db, Keyring(settings, db))
    rng = np.random.default_rng(18)
    sketching = 0.0
    for quarter in quarters:
        if quarter != PERIOD:
            open_period(db, quarter, rho_budget=BUDGET, segment_model=SYNTHETIC_VERSION,
                        overlap_share=SHARE, overlap_households=expected)  # fmt: skip
        sketcher = Sketcher(get_period(db, quarter), len(signers), rng)
        for n, (iid, signer) in enumerate(signers.items()):
            payload = in_period(releaser.payload(iid, n), quarter)
            t = time.perf_counter()
            payload = with_overlaps(payload, enrolled[iid], sketcher)
            sketching += time.perf_counter() - t
            intake.accept(seal(payload, signer, recipient))
        close_period(db, quarter, k=5)
        if quarter != unpublished:
            publish_period(db, quarter)
    create_user(db, "tf", TASKFORCE, PASSWORD)
    width = sketcher.config.width
    setup_seconds = time.perf_counter() - t0
    households = "/".join(f"{n:,}" for n in HOUSEHOLDS.values())
    print(f"set-up: {args.institutions} institutions, {len(quarters)} periods "
          f"({unpublished} not published) in {setup_seconds:.1f} s, of which "
          f"{sketching:.1f} s releasing the sketches (width {width})")  # fmt: skip
    db.engine.dispose()

    pages = {
        "GET / (public overview, newest published period)": ("/", {}),
        f"GET /taskforce (overview of the unpublished {unpublished})": (
            "/taskforce",
            {"period": unpublished},
        ),
        f"GET /trends ({len(quarters) - 1} published periods)": ("/trends", {}),
        f"GET /taskforce/trends ({len(quarters)} periods)": ("/taskforce/trends", {}),
        "GET / (public overview of another group, first view; the period's inputs kept)": (
            "/",
            {"discipline": "museum"},
        ),
        "GET / (public overview, first view after a close, after the warmer's round)": ("/", {}),
        f"GET /taskforce/trends ({len(quarters)} periods, first view after a close, after the "
        "warmer's round)": ("/taskforce/trends", {}),
        f"GET / (public overview, first view after a close, {NOTHING_KEPT})": ("/", {}),
        f"GET /taskforce/trends ({len(quarters)} periods, first view, {NOTHING_KEPT})": (
            "/taskforce/trends",
            {},
        ),
    }
    results = []
    # https: the session cookie is Secure off loopback, and the test client is "testserver".
    # Not entered as a context: the app's lifespan would start the warmer thread
    # (sector_pages.PageWarmer), which would fill what a "first view" row measures.
    client = TestClient(create_app(settings), base_url="https://testserver")
    login = client.post("/login", data={"username": "tf", "password": PASSWORD},
                        follow_redirects=False)  # fmt: skip
    assert login.status_code == 303, login.text[:300]
    for what, (path, params) in pages.items():

        def request(path: str = path, params: dict[str, str] = params) -> None:
            response = client.get(path, params=params)
            assert response.status_code == 200, response.text[:300]

        setup: Callable[[], object] | None = None
        if "inputs kept" in what:
            # What a running server keeps before a reader asks for a group: the
            # period's penetration inputs, the sector's penetration, the crossover
            # and the reach (sector_pages.warm, which a view of the sector computes).
            def setup() -> None:
                sector_pages.forget_kept(inputs=False)
                request("/", {})

        elif "warmer's round" in what:
            # What a reader meets once the server's warmer (sector_pages.PageWarmer,
            # every 15 s) has seen the close: the newest periods' inputs and the
            # sector's answers kept, the page itself (and a trends body) not yet.
            def setup() -> None:
                sector_pages.forget_kept()
                sector_pages.warm(client.app.state.services)
                # The warmer's gigabyte of decoded payloads is garbage by the time a
                # reader comes (it ran up to 15 s before, in its own thread): collected
                # here, untimed, not in the view measured right after it.
                gc.collect()

        elif "first view" in what:
            setup = sector_pages.forget_kept
        # A first view reads every submission once for penetration and the
        # overlaps: fewer runs.
        p50, p95 = percentiles(request, min(args.requests, 10) if setup else args.requests, setup)
        shown = client.get(path, params=params)
        if path in {"/", "/taskforce"}:
            shows_penetration_and_overlaps(shown.text, what)
        size = len(shown.content)
        results.append((what, p50, p95, size))
        print(f"{what}: p50 {p50:.1f} ms, p95 {p95:.1f} ms, {size:,} bytes")
    cold = cold_answers(client, min(args.requests, 3))
    print("first view after a close, its answers: "
          + ", ".join(f"{name} {ms:.0f} ms" for name, ms in cold.items()))  # fmt: skip
    if args.write:
        load = os.getloadavg()[0]
        rows = "\n".join(
            f"| `{what.split(' (')[0].removeprefix('GET ')}` {what[what.index('(') :]}; "
            f"{size:,} bytes | {p50:.1f} ms | **{p95:.1f} ms** | "
            f"{'— (the warmer’s, once per closing)' if NOTHING_KEPT in what else TARGET} |"
            for what, p50, p95, size in results
        )
        replace_section(
            ROOT / "docs" / "benchmarks.md",
            f"""{SECTION}

```
.venv/bin/python bench/page_render.py --institutions {args.institutions} \\
    --periods {args.periods} --requests {args.requests}
```

Machine: the shared 2-core development VM, Python 3.11; load average {load:.1f} at the end of
the run, while other work ran. The sector overview and trends pages (ADR 0039, ADR 0040) of
{args.institutions} institutions, each sending every cell of the release design in each of
{len(quarters)} quarters ({", ".join(quarters)}; {unpublished} closed but not published), through
the app in process, in Dutch: Jinja2 templates with an SVG chart per table (a tile map for the
provinces, a trend chart per one-dimensional table), every key a number. Every quarter names
the published synthetic segment model `{SYNTHETIC_VERSION}` (8M households) and fixes a
household sketch (`--overlap-share {SHARE}`, `--overlap-households {expected:,.0f}`: width
{width}); every submission carries its catchment origin and its sketch, released by OpenDP
in one part, the enrolled discipline's, of {households} households (small/medium/large), drawn
from a sector of {SECTOR_HOUSEHOLDS:,} households per institution. So the overview shows the
sector's segment profile and
penetration against the population, the crossover heat map by discipline and the sector's
reach, and the bench checks that each overview it times does. Set-up (model, enrolment, the
submissions through intake, closing): {setup_seconds:.0f} s, of which {sketching:.0f} s
releasing the {len(quarters) * args.institutions:,} sketches (OpenDP's noise, one draw per
bucket). The overview keeps the penetration, crossover and reach answers per closing, and the
trends pages their figures per closing, selection and language; the rows "first view" are
the views that compute what is kept (10 runs each): another group's overview (its
penetration from the period's kept inputs, the rest kept, as the server's warmer leaves it);
the overview and the trends after a close once the warmer's round has seen it (the newest
periods' inputs and the sector's answers kept, the page not yet: what a reader meets); and the
same two with nothing kept at all (a server's start, before its warmer's first round).
{args.requests} requests per page after one warm-up; the taskforce's pages with its session
cookie.

| page | p50 | p95 | target |
|---|---|---|---|
{rows}

A view with nothing kept is the slow one: it reads every submission of the period, each with
its sketch, for penetration (`aggregator.penetration_inputs.load`, which also verifies the
model release and builds its population), once more for the crossover and the reach together
(`aggregator.overlaps_inputs.load`, kept per closing like the penetration inputs), and sums the
sketches over the pairs of institutions; the trends do so for every period they show. Its
answers, timed apart (the median of
{min(args.requests, 3)} runs, each after `forget_kept`): penetration {cold["penetration"]:,.0f} ms,
the crossover {cold["crossover"]:,.0f} ms, the reach {cold["reach"]:,.0f} ms; under cProfile,
most of it is `json.loads` of the stored payloads. It is paid once per closing, and not by a
reader: a
running server computes it in a background thread (`sector_pages.PageWarmer`) at its start and
within {WARM_EVERY_SECONDS:.0f} s of a close, whichever process closed the period, and keeps the
period's inputs for every group's penetration and for the API's. A reader meets this row only in
a view within seconds of a close; the rows above are every other view.
""",
        )
    measured = [p95 for what, _, p95, _ in results if NOTHING_KEPT not in what]
    return 0 if all(p95 <= TARGET_MS for p95 in measured) else 1


if __name__ == "__main__":
    sys.exit(main())
