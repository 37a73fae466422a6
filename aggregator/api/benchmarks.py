"""A period's benchmarks: its peer groups, one group's cells, and every cell as
CSV or Parquet. Published ones are public; the taskforce also reads them
while the period is open (provisional, computed live) or closed."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from aggregator import periods
from aggregator.api.dependencies import (
    DEFAULT_LIMIT,
    Limit,
    Offset,
    PeriodLabel,
    Readable,
    ReadablePeriod,
    ServicesDep,
    page,
)
from aggregator.api.models import Benchmark, Groups
from aggregator.api.problems import problems
from aggregator.exports import MEDIA_TYPES, export
from aggregator.segment_models import is_synthetic
from protocol.errors import NotFound, UsageError

router = APIRouter(tags=["benchmarks"])


@router.get("/v1/periods/{period}/groups", response_model=Groups)
def groups(period: PeriodLabel, readable: Readable, svc: ServicesDep) -> dict[str, Any]:
    """Peer groups of the period with their size and how many smaller groups
    were merged into them (counted, never named: a group below k can be one
    institution)."""
    k, visible = periods.visible_groups(svc.db, readable.period, k=svc.settings.k)
    return {
        "period": period,
        "k": k,
        "status": readable.status,
        "groups": [{x: g[x] for x in g if x != "cells"} for g in visible],
    }


@router.get(
    "/v1/periods/{period}/benchmarks",
    response_model=Benchmark,
    responses=problems(UsageError, NotFound),
)
def benchmark(  # noqa: PLR0917 - FastAPI route parameters
    period: PeriodLabel,
    readable: Readable,
    svc: ServicesDep,
    group: str = "sector",
    table: str | None = None,
    offset: Offset = 0,
    limit: Limit = DEFAULT_LIMIT,
) -> dict[str, Any]:
    """One peer group's cells (default: the whole sector): each a non-negative
    estimate with its 95% interval, or ``too_uncertain`` and no number."""
    k, visible = periods.visible_groups(svc.db, readable.period, k=svc.settings.k)
    found = next((g for g in visible if g["group_id"] == group), None)
    if found is None:
        raise NotFound(
            f"period {period} has no peer group {group!r}",
            hint=f"list them: GET /v1/periods/{period}/groups",
        )
    cells = [c for c in found["cells"] if table is None or c["table"] == table]
    return {
        "period": period,
        "k": k,
        "status": readable.status,
        "group": {x: found[x] for x in found if x != "cells"},
        "segment_model": readable.period.segment_model,
        "synthetic": is_synthetic(svc.db, readable.period.segment_model),
        "cells": cells[offset : offset + limit],
        **page(cells, offset, limit),
    }


def _export(
    period: str, readable: ReadablePeriod, svc: ServicesDep, fmt: str, group: str | None
) -> Response:
    _, visible = periods.visible_groups(svc.db, readable.period, k=svc.settings.k, cells_of=group)
    if group is not None:
        # One group's cells: what the dashboard shows of that group, to download.
        visible = [g for g in visible if g["group_id"] == group]
        if not visible:
            raise NotFound(
                f"period {period} has no peer group {group!r}",
                hint=f"list them: GET /v1/periods/{period}/groups",
            )
    return Response(
        export(period, visible, fmt),
        media_type=MEDIA_TYPES[fmt],
        headers={"content-disposition": f'attachment; filename="benchmarks-{period}.{fmt}"'},
    )


def _download(media_type: str, schema: dict[str, str], what: str) -> dict[int | str, Any]:
    return {
        200: {
            "description": f"Every group and cell of the period as {what}: one row per "
            "(peer group, table, cell).",
            "content": {media_type: {"schema": schema}},
            "headers": {
                "Content-Disposition": {
                    "description": 'attachment; filename="benchmarks-<period>.<format>"',
                    "schema": {"type": "string"},
                }
            },
        }
    }


ExportGroup = Annotated[
    str | None, Query(description="Only this peer group's cells (default: every group).")
]


@router.get(
    "/v1/periods/{period}/benchmarks.csv",
    response_class=Response,
    responses={**_download("text/csv", {"type": "string"}, "CSV (UTF-8)"), **problems(NotFound)},
)
def benchmark_csv(
    period: PeriodLabel, readable: Readable, svc: ServicesDep, group: ExportGroup = None
) -> Response:
    """Every group and cell of the period (or one group's) as CSV."""
    return _export(period, readable, svc, "csv", group)


@router.get(
    "/v1/periods/{period}/benchmarks.parquet",
    response_class=Response,
    responses={
        **_download(MEDIA_TYPES["parquet"], {"type": "string", "format": "binary"}, "Parquet"),
        **problems(NotFound),
    },
)
def benchmark_parquet(
    period: PeriodLabel, readable: Readable, svc: ServicesDep, group: ExportGroup = None
) -> Response:
    """Every group and cell of the period (or one group's) as Parquet."""
    return _export(period, readable, svc, "parquet", group)
