"""Household overlaps between institutions (issue 17, ADR 0037): crossover
matrices and the sector's reach, readable wherever the period's benchmarks
are; an institution's own overlaps with disciplines, provinces and the sector,
and with a named other institution when both opted in, for itself only
(signed request), once the period is published, as its own penetration."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import Field

from aggregator import periods
from aggregator.api.dependencies import (
    SLUG,
    OwnId,
    PeriodLabel,
    Readable,
    ServicesDep,
)
from aggregator.api.models import BenchmarkStatus, ExactModel, Figure
from aggregator.api.problems import problems
from aggregator.overlap_estimators import OverlapEstimate
from aggregator.overlaps import (
    BY,
    CLAMP_NOTE,
    CROSSOVER_NOTE,
    DISCIPLINE,
    OWN_NOTE,
    PEER_GROUP,
    REACH_NOTE,
    crossover,
    listed,
    named_pair,
    own_view,
    sector_reach,
    shown,
)
from aggregator.overlaps_inputs import OverlapInputs, load
from aggregator.storage import Period
from protocol.errors import (
    InvalidPayload,
    NamedOverlapNotOptedIn,
    NamedOverlapOtherNotOptedIn,
    NamedOverlapOtherNotSubmitted,
    NamedOverlapSelfPair,
    NoSketches,
    NotFound,
    OverlapBelowK,
    UnknownPeriod,
    UsageError,
)
from protocol.messages import check_slug

router = APIRouter(tags=["overlaps"])

MEAN_DIGITS = 2
"""Decimals of the mean number of institutions per household (about 1 to 2)."""

By = Annotated[
    str,
    Query(
        description="The groups of the matrix: the parts' disciplines, the institutions' "
        "enrolled provinces, or the peer groups the benchmarks compare them in.",
        json_schema_extra={"enum": list(BY)},
    ),
]
OtherId = Annotated[
    str, Path(description="The other institution's id (a slug).", json_schema_extra=SLUG)
]


# --- response bodies -----------------------------------------------------------


class CrossoverGroup(ExactModel):
    group: str = Field(description="A discipline, province or peer group, or 'pooled'.")
    institutions: int = Field(description="Institutions with a sketch (part) in the group.")


class CrossoverCell(ExactModel):
    """One cell of the matrix (each unordered pair of groups once)."""

    left: str
    right: str
    left_institutions: int
    right_institutions: int
    listed: bool = Field(description="false: fewer than k institutions on a side; no figure.")
    shared_households: Figure = Field(
        description="Σ over pairs of different institutions, one in each group (a diagonal "
        "cell: each pair within the group once), of the households they share."
    )


class Crossover(ExactModel):
    period: str
    k: int
    status: BenchmarkStatus
    by: Literal["discipline", "province", "peer_group"]
    counts: Literal["shared households per pair of institutions"]
    note: str
    groups: list[CrossoverGroup]
    cells: list[CrossoverCell]


class Reach(ExactModel):
    period: str
    k: int
    status: BenchmarkStatus
    institutions: int = Field(description="Institutions with a sketch.")
    lower_bound: Literal[True] = Field(
        description="The reach is a lower bound of the distinct households reached."
    )
    note: str
    reach: Figure = Field(description="Distinct households of the sector (a lower bound).")
    mean_institutions: Figure = Field(
        description="Institutions per household reached (an upper bound, as reach is a lower one)."
    )
    household_institution_pairs: Figure = Field(
        description="Σ over institutions of their households."
    )


class OwnOverlapSide(ExactModel):
    kind: Literal["sector", "discipline", "province"]
    name: str = Field(description="'sector', a discipline, a province, or 'pooled'.")
    institutions: int = Field(description="Other institutions on this side (at least k).")
    shared_households: Figure = Field(
        description="Households shared with the side's institutions, once per institution."
    )


class OwnOverlaps(ExactModel):
    period: str
    k: int
    institution_id: str
    named_overlaps: bool = Field(description="Its own consent to named pairs this period.")
    note: str
    sides: list[OwnOverlapSide]


class NamedOverlap(ExactModel):
    period: str
    institution_id: str
    other_id: str
    note: str
    shared_households: Figure


# --- readers ---------------------------------------------------------------------


def _inputs(svc: ServicesDep, period: Period) -> OverlapInputs:
    with svc.db.session() as s:
        return load(s, period, k=svc.settings.k)


def _published(svc: ServicesDep, period: str) -> Period:
    """An institution's own overlaps, like its own penetration, once published."""
    row = periods.get_period(svc.db, period)
    if row.state != periods.PUBLISHED:
        raise NotFound(f"period {period} is {row.state}; its overlaps are not published yet")
    return row


def _figure(estimate: OverlapEstimate, digits: int = 0) -> dict[str, Any]:
    return shown(estimate, digits=digits).to_dict()


HIDDEN_FIGURE = {"estimate": None, "ci95_low": None, "ci95_high": None, "too_uncertain": True}
BELOW_K = (OverlapBelowK, NoSketches)


@router.get(
    "/v1/periods/{period}/overlaps",
    response_model=Crossover,
    responses=problems(UsageError, *BELOW_K),
)
def period_crossover(
    period: PeriodLabel, readable: Readable, svc: ServicesDep, by: By = DISCIPLINE
) -> dict[str, Any]:
    """The crossover matrix between disciplines, provinces or peer groups:
    per pair of groups, the households shared by pairs of different
    institutions, one in each group, with its 95% interval."""
    if by not in BY:
        raise UsageError("unknown crossover", hint=f"use by= one of {', '.join(BY)}")
    inputs = _inputs(svc, readable.period)
    group_of = inputs.peer_groups if by == PEER_GROUP else inputs.provinces
    matrix = crossover(inputs.sketches, by, k=inputs.k, group_of=group_of)
    size = dict(zip(matrix.groups, matrix.institutions, strict=True))
    cells = []
    for (left, right), estimate in matrix.cells.items():
        shown_here = listed(size[left], size[right], inputs.k)
        cells.append(
            {
                "left": left,
                "right": right,
                "left_institutions": size[left],
                "right_institutions": size[right],
                "listed": shown_here,
                "shared_households": _figure(estimate) if shown_here else HIDDEN_FIGURE,
            }
        )
    return {
        "period": period,
        "k": inputs.k,
        "status": readable.status,
        "by": by,
        "counts": "shared households per pair of institutions",
        "note": f"{CROSSOVER_NOTE} {CLAMP_NOTE}",
        "groups": [{"group": g, "institutions": size[g]} for g in matrix.groups],
        "cells": cells,
    }


@router.get("/v1/periods/{period}/reach", response_model=Reach, responses=problems(*BELOW_K))
def period_reach(period: PeriodLabel, readable: Readable, svc: ServicesDep) -> dict[str, Any]:
    """The sector's reach (distinct households, a lower bound) and the mean
    number of institutions per household, from every institution's sketch."""
    inputs = _inputs(svc, readable.period)
    found = sector_reach(inputs.sketches, k=inputs.k)
    return {
        "period": period,
        "k": inputs.k,
        "status": readable.status,
        "institutions": len(inputs.sketches.members()),
        "lower_bound": True,
        "note": f"{REACH_NOTE} {CLAMP_NOTE}",
        "reach": _figure(found.reach),
        "mean_institutions": _figure(found.mean_institutions, MEAN_DIGITS),
        "household_institution_pairs": _figure(found.pairs),
    }


@router.get(
    "/v1/institutions/{institution_id}/periods/{period}/overlaps",
    response_model=OwnOverlaps,
    # NotFound: the period is not published, or the institution sent no sketch in it.
    responses=problems(InvalidPayload, UnknownPeriod, NotFound, *BELOW_K),
)
def own_overlaps(institution_id: OwnId, period: PeriodLabel, svc: ServicesDep) -> dict[str, Any]:
    """The institution itself (signed request): the households it shares with
    the other institutions of each discipline, each province and the whole
    sector, each side of at least k other institutions."""
    inputs = _inputs(svc, _published(svc, period))
    sides = own_view(inputs.sketches, institution_id, k=inputs.k, province_of=inputs.provinces)
    return {
        "period": period,
        "k": inputs.k,
        "institution_id": institution_id,
        "named_overlaps": inputs.sketches.consents[institution_id],
        "note": f"{OWN_NOTE} {CLAMP_NOTE}",
        "sides": [
            {
                "kind": side.kind,
                "name": side.name,
                "institutions": side.institutions,
                "shared_households": _figure(side.overlap),
            }
            for side in sides
        ],
    }


@router.get(
    "/v1/institutions/{institution_id}/periods/{period}/overlaps/{other_id}",
    response_model=NamedOverlap,
    responses=problems(
        InvalidPayload,
        UnknownPeriod,
        NotFound,
        NoSketches,
        NamedOverlapSelfPair,
        NamedOverlapNotOptedIn,
        NamedOverlapOtherNotSubmitted,
        NamedOverlapOtherNotOptedIn,
    ),
)
def named_overlap(
    institution_id: OwnId, period: PeriodLabel, other_id: OtherId, svc: ServicesDep
) -> dict[str, Any]:
    """The households the institution shares with one named other institution:
    only when both submitted a sketch in the period and both opted in
    (``named_overlaps``); each refusal is its own problem type."""
    check_slug(other_id, what="other institution id")
    inputs = _inputs(svc, _published(svc, period))
    estimate = named_pair(inputs.sketches, institution_id, other_id)
    return {
        "period": period,
        "institution_id": institution_id,
        "other_id": other_id,
        "note": "Households both institutions' sketches hold; both opted in to named overlaps. "
        + CLAMP_NOTE,
        "shared_households": _figure(estimate),
    }
