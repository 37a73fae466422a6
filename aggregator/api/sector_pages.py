"""The sector's web pages: the overview and the trends, for the public (``/``,
``/trends``: what the taskforce published) and for the taskforce
(``/taskforce``, ``/taskforce/trends``: every period, by its session cookie),
and the taskforce's downloads of an unpublished period (ADR 0040).

The numbers come from the functions the JSON API answers with (the benchmark
cells of ``periods.visible_groups``, and the penetration, crossover and
reach routes called as functions): a page and ``/v1/...`` cannot disagree.
The public pages are in the OpenAPI document, as the public page always
was (anyone may call them, and they answer the API's problem documents); the
taskforce's, which a session cookie opens, stay out of it as the login pages
do (ADR 0042).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from aggregator import overlaps_inputs, periods
from aggregator.api.benchmarks import _export
from aggregator.api.dependencies import (
    PeriodFilter,
    PeriodLabel,
    ReadablePeriod,
    Services,
    ServicesDep,
)
from aggregator.api.overlaps import period_crossover, period_reach
from aggregator.api.penetration import group_penetration
from aggregator.api.problems import problems
from aggregator.api.web_session import OptionalStaff, TaskforcePage
from aggregator.auth import Principal
from aggregator.peergroups import SECTOR
from aggregator.penetration import DEFAULT_RADIUS
from aggregator.penetration_inputs import forget_kept_inputs, published_releases
from aggregator.sector_view import (
    PUBLIC,
    TASKFORCE,
    Filters,
    OverviewInputs,
    PeriodChoice,
    default_period,
    readable,
    render_empty,
    render_overview,
    resolve,
)
from aggregator.storage import Period
from aggregator.trends import (
    PeriodFigures,
    PeriodGroup,
    TrendInputs,
    render_trends,
    trend_body,
)
from aggregator.web_chrome import chrome
from protocol.errors import (
    InvalidPayload,
    NoSketches,
    NotFound,
    OverlapBelowK,
    PubliekError,
    UsageError,
)
from protocol.messages import check_period

log = logging.getLogger(__name__)
router = APIRouter(tags=["pages"])
Language = Annotated[
    Literal["nl", "en"], Query(description="The page's language: nl (Dutch, the default) or en.")
]
Discipline = Annotated[
    str | None, Query(description="Narrow to a discipline (unknown values are ignored).")
]
Province = Annotated[
    str | None, Query(description="Narrow to a province (with a discipline and a size class).")
]
Size = Annotated[str | None, Query(description="Narrow to a size class: small, medium or large.")]
# NotFound: a period asked for that this reader cannot read; InvalidPayload: a
# period that is no quarter; UsageError: a language the pages do not have.
PAGE_PROBLEMS = problems(InvalidPayload, NotFound, UsageError)
STATUS = {periods.PUBLISHED: "published", periods.CLOSED: "closed", periods.OPEN: "provisional"}


def _periods(svc: ServicesDep, audience: str) -> tuple[list[PeriodChoice], dict[str, Period]]:
    rows = {p.label: p for p in periods.list_periods(svc.db)}
    choices = readable([PeriodChoice(p.label, p.state) for p in rows.values()], audience)
    return choices, rows


def _group_cells(
    svc: ServicesDep, row: Period, filters: Filters, asked: str | None, lang: str
) -> tuple[int, list[dict[str, Any]], Any]:
    """The period's groups, the resolved group among them with its cells.

    Cells are read for the first candidate (the group asked for, or the
    narrowest of the selection); only when that one is not a group of the
    period are they read again for the group it resolves to."""
    first = asked or filters.chain()[0]
    k, groups = periods.visible_groups(svc.db, row, k=svc.settings.k, cells_of=first)
    resolved = resolve(filters, [g["group_id"] for g in groups], k=k, lang=lang, asked=asked)
    if resolved.group_id != first:
        k, groups = periods.visible_groups(
            svc.db, row, k=svc.settings.k, cells_of=resolved.group_id
        )
    return k, groups, resolved


# The penetration and overlap answers of closed and published periods, by the
# period's closing (its stored inputs cannot change without a new close):
# computing them reads and checks every submission of the period, which for a
# sector of 500 institutions is seconds, on every page view. Open periods are
# computed live on each view, as the API does.
_ANSWERS: OrderedDict[tuple[Any, ...], tuple[dict[str, Any] | None, str]] = OrderedDict()
ANSWERS_KEPT = 64
_KEPT_LOCK = threading.Lock()  # the kept maps are read and written from several threads
WARM_EVERY_SECONDS = 15.0
# The newest closed periods the warmer computes: few enough that their answers
# (3 each) and inputs fit what is kept, so a round never pushes out its own.
WARM_PERIODS = 4


def kept_answer(
    call: Any, row: Period, svc: ServicesDep, *args: Any, otherwise: str = "not_this_period",
    **kwargs: Any,
) -> tuple[dict[str, Any] | None, str]:  # fmt: skip
    """An API function's answer for ``row``, or None and why, as a key of the
    page's words: the API's own message is for an operator, in English; the
    page says it in the reader's language."""
    key = (svc.settings.db_url, row.label, row.state, row.closed_at, row.inputs_digest,
           call.__name__, args, tuple(sorted(kwargs.items())))  # fmt: skip
    if row.state != periods.OPEN:
        with _KEPT_LOCK:
            if key in _ANSWERS:
                _ANSWERS.move_to_end(key)
                return _ANSWERS[key]
    read = ReadablePeriod(row, STATUS[row.state])
    try:
        answer: tuple[dict[str, Any] | None, str] = (
            call(row.label, read, svc, *args, **kwargs),
            "",
        )
    except NoSketches:
        answer = None, "no_sketches"
    except OverlapBelowK:
        answer = None, "below_k"
    except PubliekError:
        # Not kept: it may be mended without a new closing (a segment model
        # published after the close); penetration keeps its own inputs, so
        # asking again is cheap.
        return None, otherwise
    if row.state != periods.OPEN:
        with _KEPT_LOCK:
            _ANSWERS[key] = answer
            while len(_ANSWERS) > ANSWERS_KEPT:
                _ANSWERS.popitem(last=False)
    return answer


def figures(svc: Services, row: Period, group: str) -> PeriodFigures:
    """The overview's answers of one period besides its cells, as kept for it:
    the group's penetration, the crossover by discipline and, for the sector,
    the reach (with why one is missing). The overview, the trends and the
    warmer ask for them here, so that each asks for the same kept answers."""
    penetration, why_not = kept_answer(
        group_penetration, row, svc, group=group, catchment=DEFAULT_RADIUS,
        otherwise="no_population",
    )  # fmt: skip
    crossover, why_no_crossover = kept_answer(period_crossover, row, svc, by="discipline")
    reach = None
    if group == SECTOR and crossover is not None:
        reach, _ = kept_answer(period_reach, row, svc)
    return PeriodFigures(penetration=penetration, crossover=crossover, reach=reach,
                         penetration_reason=why_not, crossover_reason=why_no_crossover)  # fmt: skip


def warm(svc: Services) -> None:
    """Compute what the overview keeps of the newest :data:`WARM_PERIODS`
    closed and published periods, where not kept yet: the penetration inputs
    (which every group's penetration then reads), the sector's penetration,
    the crossover and the reach. A period
    closed by the CLI, in another process, is thus computed here within one
    round of :class:`PageWarmer`, before a reader's first view pays for it."""
    closed = [row for row in periods.list_periods(svc.db) if row.state != periods.OPEN]
    for row in closed[-WARM_PERIODS:]:
        figures(svc, row, SECTOR)


class PageWarmer:
    """A daemon thread that runs :func:`warm` at start and every ``every``
    seconds, for as long as the server runs (``aggregator.app``'s lifespan).
    A failure is logged and the next round tries again: the pages compute
    anything not kept on their own."""

    def __init__(self, svc: Services, *, every: float = WARM_EVERY_SECONDS) -> None:
        self.svc = svc
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="page-warmer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.every + 5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                warm(self.svc)
            except Exception:  # a round that fails is retried; the pages still work
                log.exception("computing the kept page answers failed; retrying next round")
            self._stop.wait(self.every)


def _overview(  # noqa: PLR0917 - the page's query, passed on
    request: Request, svc: ServicesDep, principal: Principal | None, audience: str,
    period: str | None, group: str | None, lang: str,
    discipline: str | None, province: str | None, size: str | None,
) -> HTMLResponse:  # fmt: skip
    choices, rows = _periods(svc, audience)
    if period is not None:
        check_period(period)
        chosen = next((p for p in choices if p.label == period), None)
    else:
        chosen = default_period(choices)
        if chosen is None:  # a new aggregator: say what will be here, not an error
            now = datetime.now(UTC)
            quarter = f"{now.year}-Q{(now.month - 1) // 3 + 1}"
            page = render_empty(
                audience, quarter, lang=lang, chrome=chrome(request, principal, lang)
            )
            return HTMLResponse(page)
    if chosen is None:
        raise NotFound(
            f"no readable period {period}",
            hint="choose one of the periods the page lists, or open it without ?period=",
        )
    row = rows[chosen.label]
    filters = Filters.of(discipline, province, size)
    k, groups, resolved = _group_cells(svc, row, filters, group, lang)
    answers = figures(svc, row, resolved.group_id)
    inputs = OverviewInputs(
        audience=audience, periods=choices, period=chosen, k=k, groups=groups,
        resolved=resolved, filters=filters, segment_model=row.segment_model,
        penetration=answers.penetration, penetration_reason=answers.penetration_reason,
        crossover=answers.crossover, crossover_reason=answers.crossover_reason,
        reach=answers.reach,
    )  # fmt: skip
    return HTMLResponse(render_overview(inputs, lang=lang, chrome=chrome(request, principal, lang)))


@router.get("/", response_class=HTMLResponse, responses=PAGE_PROBLEMS)
def public_overview(  # noqa: PLR0917 - the page's query
    request: Request, svc: ServicesDep, principal: OptionalStaff,
    period: PeriodFilter = None, group: str | None = None, lang: Language = "nl",
    discipline: Discipline = None, province: Province = None, size: Size = None,
) -> HTMLResponse:  # fmt: skip
    """A published period's overview (the newest, or the one asked for)."""
    return _overview(request, svc, principal, PUBLIC, period, group, lang,
                     discipline, province, size)  # fmt: skip


@router.get("/taskforce", response_class=HTMLResponse, include_in_schema=False)
def taskforce_overview(  # noqa: PLR0917 - the page's query
    request: Request, svc: ServicesDep, principal: TaskforcePage,
    period: PeriodFilter = None, group: str | None = None, lang: Language = "nl",
    discipline: Discipline = None, province: Province = None, size: Size = None,
) -> HTMLResponse:  # fmt: skip
    """Any period's overview, published or not."""
    return _overview(request, svc, principal, TASKFORCE, period, group, lang,
                     discipline, province, size)  # fmt: skip


_BODIES: OrderedDict[tuple[Any, ...], Markup] = OrderedDict()
BODIES_KEPT = 32


def forget_kept(*, inputs: bool = True) -> None:
    """Drop every kept answer and trends body, and unless ``inputs`` is False
    the periods' penetration and overlap inputs (a bench's first view; a
    test's fresh start)."""
    with _KEPT_LOCK:
        _ANSWERS.clear()
        _BODIES.clear()
    if inputs:
        forget_kept_inputs()
        overlaps_inputs.forget_kept_inputs()


def _trends(  # noqa: PLR0917 - the page's query, passed on
    request: Request, svc: ServicesDep, principal: Principal | None, audience: str, lang: str,
    discipline: str | None, province: str | None, size: str | None,
) -> HTMLResponse:  # fmt: skip
    """The trends page, over closed and published quarters (an open one is
    provisional, computed live on each view: the overview shows it). Its
    figures (``trend_body``) are kept: they depend only on the periods' stored
    benchmarks and sketches (fixed by each closing), the segment-model releases
    published here (the population of penetration), the selection and the
    language, and reading and laying out every cell of every period is most of
    the page's time."""
    choices, rows = _periods(svc, audience)
    choices = [c for c in choices if c.state != periods.OPEN]  # trends are of closed quarters
    filters = Filters.of(discipline, province, size)
    with svc.db.session() as session:
        releases = published_releases(session)
    key = (svc.settings.db_url, filters, lang, releases, tuple(
        (r.label, r.state, r.closed_at, r.inputs_digest) for r in (rows[c.label] for c in choices)
    ))  # fmt: skip
    inputs = TrendInputs(audience=audience, columns=[], filters=filters)
    with _KEPT_LOCK:
        body = _BODIES.get(key)
        if body is not None:
            _BODIES.move_to_end(key)
    if body is None:
        for choice in choices:
            row = rows[choice.label]
            k, groups, resolved = _group_cells(svc, row, filters, None, lang)
            group = next(g for g in groups if g["group_id"] == resolved.group_id)
            answers = figures(svc, row, resolved.group_id)
            inputs.columns.append(
                PeriodGroup(choice, k, group, resolved, row.segment_model, answers)
            )
        body = trend_body(inputs.columns, lang)
        with _KEPT_LOCK:
            _BODIES[key] = body
            while len(_BODIES) > BODIES_KEPT:
                _BODIES.popitem(last=False)
    page = render_trends(inputs, lang=lang, chrome=chrome(request, principal, lang), body=body)
    return HTMLResponse(page)


@router.get("/trends", response_class=HTMLResponse, responses=problems(UsageError))
def public_trends(  # noqa: PLR0917 - the page's query
    request: Request, svc: ServicesDep, principal: OptionalStaff, lang: Language = "nl",
    discipline: Discipline = None, province: Province = None, size: Size = None,
) -> HTMLResponse:  # fmt: skip
    """Every figure across the published periods."""
    return _trends(request, svc, principal, PUBLIC, lang, discipline, province, size)


@router.get("/taskforce/trends", response_class=HTMLResponse, include_in_schema=False)
def taskforce_trends(  # noqa: PLR0917 - the page's query
    request: Request, svc: ServicesDep, principal: TaskforcePage, lang: Language = "nl",
    discipline: Discipline = None, province: Province = None, size: Size = None,
) -> HTMLResponse:  # fmt: skip
    """Every figure across the closed periods, published or not."""
    return _trends(request, svc, principal, TASKFORCE, lang, discipline, province, size)


def _taskforce_export(period: str, svc: ServicesDep, fmt: str, group: str) -> Response:
    row = periods.get_period(svc.db, period)
    return _export(period, ReadablePeriod(row, STATUS[row.state]), svc, fmt, group)


@router.get("/taskforce/periods/{period}/benchmarks.csv", include_in_schema=False)
def taskforce_csv(
    period: PeriodLabel, svc: ServicesDep, principal: TaskforcePage, group: str = SECTOR
) -> Response:
    """One group's cells of any period as CSV, for the taskforce's page (its cookie):
    what ``/v1/periods/{period}/benchmarks.csv`` gives with its bearer token."""
    del principal  # the guard is the check
    return _taskforce_export(period, svc, "csv", group)


@router.get("/taskforce/periods/{period}/benchmarks.parquet", include_in_schema=False)
def taskforce_parquet(
    period: PeriodLabel, svc: ServicesDep, principal: TaskforcePage, group: str = SECTOR
) -> Response:
    """One group's cells of any period as Parquet (see ``taskforce_csv``)."""
    del principal
    return _taskforce_export(period, svc, "parquet", group)
