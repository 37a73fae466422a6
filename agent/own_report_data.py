"""What the institution's own report is made of: its exact tables, counted
here, and the published figures it stands beside, fetched with signed requests.

The exact tables are :func:`agent.tables.build_tables`' counts, the very
numbers a release adds noise to, counted with what the period's submission
was counted with (its segment model, its ``max_visits`` and its catchment
origin, from the ledger): so the comparison with the published benchmark is
like for like. They are computed in this process and written only into the
report on this side; nothing here sends them anywhere (the requests below
are GETs that carry a signature and a path, no body).

The published side is the aggregator's answers as they are: the peer group's
cells (``/v1/institutions/{id}/periods/{p}/report``, signed), the sector's
cells (``/v1/periods/{p}/benchmarks?group=sector``, public once published),
the population of each segment in the institution's own catchment from its
own penetration (signed; the aggregator holds the segment model's population
and the catchment rules, so the report does not recount them) and its own
household overlaps (signed). The last two may be missing (no catchment
origin, no household sketch, fewer than k on a side): the report says so
where they would be.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from agent import ledger
from agent.client import AggregatorClient
from agent.release import earlier_link_keys
from agent.release_config import release_config
from agent.segment_install import cached_release_model, model_for_release, release_path
from agent.segments import SegmentModel
from agent.tables import ReleaseConfig, build_tables
from agent.workspace import Workspace
from dp.release_design import MAX_VISITS
from protocol.errors import PubliekError, ServiceUnavailable, UsageError
from protocol.keys import SigningKey
from protocol.messages import check_period

Key = tuple[str, ...]
PAGE = 10_000  # the API's largest page of cells


@dataclass(frozen=True)
class OwnTable:
    """One table of the release design, counted exactly from the stored visits."""

    name: str
    measure: str
    dimensions: tuple[str, ...]
    counts: Mapping[Key, int]

    def __repr__(self) -> str:  # exact counts never print
        return f"OwnTable(name={self.name!r}, cells={len(self.counts)})"

    @property
    def total(self) -> int:
        """The table's total: every table of one measure is a partition of the
        same households (or visits), so each gives the same total."""
        return sum(self.counts.values())


@dataclass(frozen=True)
class Counting:
    """What a period's own tables are counted with: the segment model and the
    release config of its submission (or, without one, of the workspace now)."""

    model: SegmentModel
    config: ReleaseConfig
    submitted: bool


@dataclass(frozen=True)
class Published:
    """The aggregator's answers the report stands beside the own tables.

    ``population``: households per segment in the own catchment (exact, from
    the segment model), empty when the aggregator has none for this
    institution, with ``population_missing`` saying why; likewise
    ``overlaps`` and ``overlaps_missing``."""

    k: int
    segment_model: str
    synthetic: bool
    peer_group: Mapping[str, Any]
    peer_cells: list[dict[str, Any]]
    sector: Mapping[str, Any]
    sector_cells: list[dict[str, Any]]
    catchment: str = ""
    population: Mapping[str, int] = field(default_factory=dict)
    population_missing: str = ""
    overlaps: list[dict[str, Any]] = field(default_factory=list)
    overlaps_missing: str = ""


def installed_model(workspace: Workspace) -> SegmentModel:
    """The model the workspace releases with (a verified release from its cache,
    else the installed model file, else the synthetic demo model)."""
    if release_path(workspace).exists():
        return cached_release_model(workspace)
    return model_for_release(workspace, None)


def stored_periods(workspace: Workspace) -> list[str]:
    """The periods the workspace holds visits of, oldest first."""
    found = (f.name.removeprefix("period=") for f in workspace.visits_dir.glob("period=*"))
    return sorted(p for p in found if _is_period(p))


def _is_period(text: str) -> bool:
    try:
        check_period(text)
    except PubliekError:
        return False
    return True


def _counted_entry(workspace: Workspace, period: str) -> ledger.LedgerEntry | None:
    """The period's release that the aggregator counted, as far as this side
    knows: the newest one with a receipt, else the newest one drawn."""
    entries = ledger.entries(workspace, period)
    if not entries:
        return None
    with workspace.connect() as db:
        receipted = {row[0] for row in db.execute("SELECT submission_id FROM receipts")}
    with_receipt = [e for e in entries if e.submission_id in receipted]
    return (with_receipt or entries)[-1]


def counting_for(workspace: Workspace, period: str, model: SegmentModel) -> Counting:
    """The model and config the period's own tables are counted with.

    With a drawn release: its ``max_visits`` and catchment origin, and the
    installed model only if it is the release's (another model has other
    segments, and the comparison would not be like for like)."""
    entry = _counted_entry(workspace, period)
    base = release_config(workspace, period)
    if entry is None:
        return Counting(model=model, config=base, submitted=False)
    payload = entry.payload
    if payload.segment_model != model.version:
        raise UsageError(
            f"{period} was submitted with segment model {payload.segment_model}; this "
            f"workspace has {model.version} installed",
            hint=f"install {payload.segment_model} again to write the report of {period} "
            "(publiek agent segment-model fetch --version ...)",
        )
    config = replace(
        base,
        max_visits=int(payload.bounds.get(MAX_VISITS, base.max_visits)),
        home_pc4=payload.catchment_origin,
    )
    return Counting(model=model, config=config, submitted=True)


def own_tables(workspace: Workspace, period: str, counting: Counting) -> dict[str, OwnTable]:
    """Every table of the release design for ``period``, exact, by name."""
    requests = build_tables(
        workspace.load_visits(period),
        counting.model,
        counting.config,
        period=period,
        earlier_link_keys=earlier_link_keys(workspace, period),
    )
    return {
        r.name: OwnTable(r.name, r.measure, r.dimensions, dict(zip(r.keys, r.values, strict=True)))
        for r in requests
    }


def _cells(http: AggregatorClient, period: str, group: str) -> dict[str, Any]:
    """One group's whole benchmark (every page of cells)."""
    offset: int | None = 0
    doc: dict[str, Any] = {}
    cells: list[dict[str, Any]] = []
    while offset is not None:
        doc = http.get(
            f"/v1/periods/{period}/benchmarks",
            params={"group": group, "offset": offset, "limit": PAGE},
        )
        cells += doc["cells"]
        offset = doc["next_offset"]
    return {**doc, "cells": cells}


def _optional(fetch: Any) -> tuple[Any, str]:
    """An answer the report can do without: the answer, or None and why not.
    An aggregator out of reach is not "without": it is raised."""
    try:
        return fetch(), ""
    except ServiceUnavailable:
        raise
    except PubliekError as error:
        return None, error.title


def fetch_published(workspace: Workspace, period: str, http: AggregatorClient) -> Published:
    """The peer group's and the sector's published cells, the own catchment's
    population per segment and the own overlaps (signed GETs)."""
    agent = workspace.load_config()
    signer = SigningKey.load(workspace.signing_key_path)
    own = http.own_report(period, agent.institution_id, signer)
    sector = _cells(http, period, "sector")
    penetration, population_missing = _optional(
        lambda: http.own_penetration(period, agent.institution_id, signer)
    )
    overlaps, overlaps_missing = _optional(
        lambda: http.own_overlaps(period, agent.institution_id, signer)
    )
    population: dict[str, int] = {}
    catchment = ""
    if penetration is not None:
        catchment = str(penetration["catchment"])
        for row in penetration["segments"]:
            if row.get("province") is None:
                population[str(row["segment"])] = int(row["population"])
    return Published(
        k=int(sector["k"]),
        segment_model=str(sector["segment_model"]),
        synthetic=bool(sector["synthetic"]),
        peer_group=own["peer_group"],
        peer_cells=list(own["cells"]),
        sector=sector["group"],
        sector_cells=sector["cells"],
        catchment=catchment,
        population=population,
        population_missing=population_missing,
        overlaps=list(overlaps["sides"]) if overlaps is not None else [],
        overlaps_missing=overlaps_missing,
    )
