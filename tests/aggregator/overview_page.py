"""The public overview of one group, rendered in process with nothing else on
it (no profile, no overlaps): for tests of what a group's cells look like."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from aggregator.sector_view import Filters, OverviewInputs, PeriodChoice, Resolved, render_overview
from aggregator.web_chrome import chrome


def overview_of(
    group: dict[str, Any], groups: list[dict[str, Any]] | None = None, *,
    period: str, k: int = 5, lang: str = "nl", segment_model: str | None = None,
) -> str:  # fmt: skip
    published = PeriodChoice(period, "published")
    inputs = OverviewInputs(
        audience="public", periods=[published], period=published, k=k, groups=groups or [group],
        resolved=Resolved(group["group_id"], []), filters=Filters(),
        segment_model=segment_model, penetration=None, penetration_reason="no_population",
        crossover=None, crossover_reason="no_sketches", reach=None,
    )  # fmt: skip
    reader = Request({"type": "http", "path": "/", "query_string": b"", "headers": []})
    return render_overview(inputs, lang=lang, chrome=chrome(reader, None, lang))
