"""CSV and Parquet of the overview's other sections: the audience profile
against the population, and the overlaps (crossover matrix and reach) —
the same answers the page shows (``sector_pages.kept_answer``), one row per
figure, so that "download exactly what is shown" holds for every section,
not only the benchmark cells (``benchmarks.csv``).

The public routes serve published periods only, as the page does; the
taskforce's, under ``/taskforce``, every period, by its session cookie. A
figure that is too uncertain has no estimate in the file either.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import polars as pl
from fastapi import APIRouter, Request
from fastapi.responses import Response

from aggregator import periods
from aggregator.api.dependencies import PeriodLabel, ServicesDep
from aggregator.api.overlaps import period_crossover, period_reach
from aggregator.api.penetration import group_penetration
from aggregator.api.sector_pages import kept_answer
from aggregator.api.web_session import StaffPage
from aggregator.auth import TASKFORCE
from aggregator.exports import MEDIA_TYPES
from aggregator.peergroups import SECTOR
from aggregator.penetration import DEFAULT_RADIUS
from protocol.errors import NotFound

router = APIRouter(tags=["pages"], include_in_schema=False)
FORMATS = ("csv", "parquet")
_taskforce = StaffPage(TASKFORCE)
FIGURE = ("estimate", "ci95_low", "ci95_high", "too_uncertain")


def _figure(prefix: str, figure: dict[str, Any] | None) -> dict[str, Any]:
    figure = figure or {}
    return {f"{prefix}_{name}": figure.get(name) for name in FIGURE}


def profile_rows(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per segment (and, for the sector, per province and segment)."""
    rows = []
    for kind, entries in (("segment", answer["segments"]), ("province", answer["provinces"])):
        for entry in entries:
            row: dict[str, Any] = {
                "period": answer["period"],
                "group_id": answer["group"]["group_id"],
                "catchment": answer["catchment"],
                "by": kind,
                "province": entry.get("province"),
                "segment": entry["segment"],
                "population": entry["population"],
            }
            for name, value in entry.items():
                if isinstance(value, dict) and "too_uncertain" in value:
                    row.update(_figure(name, value))
            rows.append(row)
    return rows


def overlap_rows(crossover: dict[str, Any], reach: dict[str, Any] | None) -> list[dict[str, Any]]:
    """One row per cell of the crossover by discipline, then the sector's reach."""
    rows = [
        {
            "period": crossover["period"],
            "figure": "shared_households",
            "left": c["left"],
            "right": c["right"],
            "listed": c["listed"],
            **_figure("value", c["shared_households"] if c["listed"] else None),
        }
        for c in crossover["cells"]
    ]
    if reach is not None:
        for name in ("reach", "mean_institutions", "household_institution_pairs"):
            rows.append(
                {"period": reach["period"], "figure": name, "left": SECTOR, "right": SECTOR,
                 "listed": True, **_figure("value", reach[name])}
            )  # fmt: skip
    return rows


def _file(rows: list[dict[str, Any]], fmt: str, name: str) -> Response:
    buffer = io.BytesIO()
    frame = pl.DataFrame(rows, infer_schema_length=None)
    if fmt == "csv":
        frame.write_csv(buffer)
    else:
        frame.write_parquet(buffer)
    return Response(
        buffer.getvalue(),
        media_type=MEDIA_TYPES[fmt],
        headers={"content-disposition": f'attachment; filename="{name}.{fmt}"'},
    )


def _profile(period: str, svc: ServicesDep, group: str, fmt: str) -> Response:
    row = periods.get_period(svc.db, period)
    answer, why = kept_answer(group_penetration, row, svc, group=group,
                              catchment=DEFAULT_RADIUS, otherwise="no_population")  # fmt: skip
    if answer is None or not answer["listed"]:
        reason = why or "fewer than k institutions"
        raise NotFound(f"period {period} has no audience profile for {group!r} ({reason})")
    return _file(profile_rows(answer), fmt, f"profile-{period}-{group.replace('/', '_')}")


def _overlaps(period: str, svc: ServicesDep, fmt: str) -> Response:
    row = periods.get_period(svc.db, period)
    crossover, why = kept_answer(period_crossover, row, svc, by="discipline")
    if crossover is None:
        raise NotFound(f"period {period} has no overlaps to download ({why})")
    reach, _ = kept_answer(period_reach, row, svc)
    return _file(overlap_rows(crossover, reach), fmt, f"overlaps-{period}")


def _published(period: str, svc: ServicesDep) -> None:
    if periods.get_period(svc.db, period).state != periods.PUBLISHED:
        raise NotFound(
            f"period {period} is not published",
            hint="the taskforce downloads it from its own pages",
        )


def _route(fmt: str, section: str, *, public: bool) -> Callable[..., Response]:
    def download(
        request: Request, period: PeriodLabel, svc: ServicesDep, group: str = SECTOR
    ) -> Response:
        if public:
            _published(period, svc)
        else:
            _taskforce(request, svc)
        if section == "profile":
            return _profile(period, svc, group, fmt)
        return _overlaps(period, svc, fmt)

    download.__name__ = f"{'public' if public else 'taskforce'}_{section}_{fmt}"
    return download


for _fmt in FORMATS:
    for _section in ("profile", "overlaps"):
        router.add_api_route(
            f"/periods/{{period}}/{_section}.{_fmt}", _route(_fmt, _section, public=True)
        )
        router.add_api_route(
            f"/taskforce/periods/{{period}}/{_section}.{_fmt}",
            _route(_fmt, _section, public=False),
        )
