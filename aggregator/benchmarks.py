"""Benchmarks: per period, peer group, table and cell — post-processed
estimates with their 95% intervals.

Every input value is already differentially private, so everything here is
post-processing and costs no budget. Nothing is specific to a table name:
the structure comes from the tables' measures and dimensions.

* Per group, each table's cells are summed over the group's institutions,
  and so are their noise variances (independent noise adds in variance).
  ``aggregator.estimates`` combines the tables of one measure (generalised
  least squares: one common total, margins that fit their products), makes
  them non-negative and consistent, and gives each cell a 95% interval.
* A cell is listed only when at least ``k`` institutions sent it. A table
  with a key that fewer than ``k`` sent is estimated on its own over the
  remaining keys (it no longer covers every unit, so it cannot share the
  total), and so is a table that not every institution of the group sent
  (it counts other units) and a table outside the release design (nothing
  vouches that it is a partition).
* A cell whose 95% half-width exceeds half its estimate is *too uncertain*:
  it is published with that flag, its standard deviation and no number
  (``estimate``, ``ci95_low``, ``ci95_high`` are null). An estimate is a whole
  number, never negative.
* Medians and quartiles over institutions are not published: a quantile
  of noisy per-institution values has no interval we can state honestly at
  these noise levels (ADR 0012).

When an institution submitted more than once in a period, its latest table
of each name counts (by log index). The computation is a pure function of
the stored submissions and ``k``; its inputs digest is stored with the
period so that anyone can recompute and compare (ADR 0007).

No stored row can make the computation fail (ADR 0020). A submission the
taskforce set aside is not read; every other one is checked again
(``aggregator.screening``) and one that cannot be right is left out and
named in ``left_out`` with its reason (the server logs it:
:func:`log_left_out`); its institution's earlier submission counts instead.
Two segment models are never combined (ADR 0030): a submission made with
another model than the one the period's config names (stored before the
period named one, for instance) is left out the same way; a period opened
before periods named a model counts the model of its first stored
submission.
The estimates of a group's tables are checked too: should the numerics still
fail for a family of tables (which no checked input is known to cause), that
family is not listed and the failure is logged, while every other family and
group is published as usual.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, defer

from aggregator.estimates import CellEstimate, ObservedTable, estimate_tables
from aggregator.peergroups import LEVELS, Member, PeerGroup, assign
from aggregator.screening import Implausible, LeftOut, TableInput, tables_of
from aggregator.storage import BenchmarkGroup, Institution, LogEntry, Period, Submission
from dp.release_design import MAX_CELL_MAGNITUDE, design_of
from protocol.encoding import canonical_bytes
from protocol.messages import SEGMENT_MODELS
from protocol.translog import SET_ASIDE

# v4: GLS + non-negative consistent estimates, too-uncertain cells, no quartiles
ALGORITHM = "publiek/1 benchmarks v4"
STAT_FIELDS = ("estimate", "ci95_low", "ci95_high", "std")
logger = logging.getLogger("publiek.aggregator.benchmarks")


@dataclass(frozen=True)
class Inputs:
    members: list[Member]
    tables: dict[str, dict[str, TableInput]]  # institution → table name → table
    digest: str
    left_out: tuple[LeftOut, ...] = ()
    # The one segment model the counted submissions share: the period's, or for
    # a period opened before periods named one, its first stored submission's.
    segment_model: str | None = None


@dataclass(frozen=True)
class GroupBenchmark:
    group: PeerGroup
    cells: list[dict[str, Any]]

    def summary(self) -> dict[str, Any]:
        """What anyone may see about a group: its id, level, size and how many
        smaller groups were merged into it."""
        return group_summary(self.group.group_id, self.group.level, self.group.merged_from,
                             len(self.group.members))  # fmt: skip


@dataclass(frozen=True)
class PeriodBenchmarks:
    period: str
    k: int
    inputs_digest: str
    groups: list[GroupBenchmark]
    assignment: dict[str, str]
    left_out: tuple[LeftOut, ...] = ()

    def group(self, group_id: str) -> GroupBenchmark | None:
        return next((g for g in self.groups if g.group.group_id == group_id), None)


def group_summary(
    group_id: str, level: str, merged_from: tuple[str, ...] | list[str], institutions: int
) -> dict[str, Any]:
    """The public description of a group. The merged groups are counted, not
    named: a group below ``k`` (say theater/gelderland/medium) can be a single
    institution, and its name would identify it."""
    return {
        "group_id": group_id,
        "level": level,
        "institutions": institutions,
        "merged_groups": len(merged_from),
    }


def load_inputs(session: Session, period: str) -> Inputs:
    """The period's stored submissions as the benchmarks count them: set-aside
    ones skipped, the others checked (``aggregator.screening``), those that
    fail left out with their reason."""
    set_aside = select(LogEntry.submission_id).where(
        LogEntry.kind == SET_ASIDE, LogEntry.period == period
    )
    rows = session.execute(
        select(
            Submission.institution_id,
            Submission.submission_id,
            Submission.digest,
            Submission.payload,
        )
        .where(Submission.period == period, Submission.submission_id.not_in(set_aside))
        .order_by(Submission.log_index)
    ).all()
    tables: dict[str, dict[str, TableInput]] = defaultdict(dict)
    shapes: dict[str, tuple[str, tuple[str, ...]]] = {}
    used, left_out = [], []
    model = session.scalar(select(Period.segment_model).where(Period.label == period))
    for institution_id, submission_id, digest, payload in rows:
        try:
            model = model or _segment_model(payload)
            _same_model(payload, model)
            found = tables_of(payload)
            _same_shapes(found, shapes)
        except Implausible as exc:
            left_out.append(LeftOut(submission_id, institution_id, str(exc)))
            continue
        shapes.update({name: (t.measure, t.dimensions) for name, t in found.items()})
        used.append([submission_id, digest])
        tables[institution_id].update(found)
    members = [
        Member(i.institution_id, i.discipline, i.province, i.size_class)
        for i in session.scalars(
            select(Institution).where(Institution.institution_id.in_(list(tables)))
        )
    ]
    members.sort(key=lambda m: m.institution_id)
    digest = hashlib.sha256(canonical_bytes({"algorithm": ALGORITHM, "inputs": used})).hexdigest()
    return Inputs(
        members=members,
        tables=dict(tables),
        digest=digest,
        left_out=tuple(left_out),
        segment_model=model,
    )


def _segment_model(payload: Any) -> str | None:
    """The segment model a stored payload names, if it names a known one."""
    named = payload.get("segment_model") if isinstance(payload, dict) else None
    return named if named in SEGMENT_MODELS else None


def _same_model(payload: Any, model: str | None) -> None:
    """Segment cells of two models count different things under the same labels:
    summed, they would be wrong, so a submission of another model is not read."""
    named = _segment_model(payload)
    if named != model:
        made_with = f"segment model {named}" if named else "no known segment model"
        raise Implausible(
            f"it was made with {made_with}; the period's benchmarks use {model}, and two "
            "segment models are never combined"
        )


def _same_shapes(
    found: dict[str, TableInput], shapes: dict[str, tuple[str, tuple[str, ...]]]
) -> None:
    """A table counts what the period's earlier counted submissions say a table of
    its name counts; a table outside the release design has no other arbiter."""
    for name, table in found.items():
        if shapes.get(name, (table.measure, table.dimensions)) != (
            table.measure,
            table.dimensions,
        ):
            raise Implausible(
                f"table {name} counts something other than the period's earlier {name} tables"
            )


def _observed(
    member_ids: tuple[str, ...], tables: dict[str, dict[str, TableInput]], k: int
) -> tuple[list[list[ObservedTable]], dict[tuple[str, tuple[str, ...]], int]]:
    """The group's summed tables, split into families that partition the same
    units (module docstring), and the number of institutions per cell."""
    meta: dict[str, TableInput] = {}
    senders: dict[str, list[str]] = defaultdict(list)
    sums: dict[tuple[str, tuple[str, ...]], float] = defaultdict(float)
    variances: dict[tuple[str, tuple[str, ...]], float] = defaultdict(float)
    contributors: dict[tuple[str, tuple[str, ...]], int] = defaultdict(int)
    for inst in member_ids:
        for name, table in tables.get(inst, {}).items():
            meta.setdefault(name, table)
            senders[name].append(inst)
            for key, value in zip(table.keys, table.values, strict=True):
                sums[(name, key)] += value
                variances[(name, key)] += table.noise_std**2
                contributors[(name, key)] += 1
    whole: dict[str, list[ObservedTable]] = defaultdict(list)  # by measure
    alone: list[list[ObservedTable]] = []
    for name in sorted(meta):
        table = meta[name]
        every = sorted({key for (n, key) in contributors if n == name})
        # Not estimated, and not listed either: a key that fewer than k
        # institutions sent could carry anything one agent chose to put in it.
        keys = tuple(key for key in every if contributors[(name, key)] >= k)
        if not keys:
            continue
        observed = ObservedTable(
            name=name,
            measure=table.measure,
            dimensions=table.dimensions,
            keys=keys,
            values=tuple(sums[(name, key)] for key in keys),
            variances=tuple(variances[(name, key)] for key in keys),
        )
        if _partition(table) and len(keys) == len(every) and len(senders[name]) == len(member_ids):
            whole[table.measure].append(observed)
        else:
            alone.append([observed])
    return [*whole.values(), *alone], dict(contributors)


def _partition(table: TableInput) -> bool:
    """Whether the release design vouches that the table is a partition of
    its measure's units (dp/release_design.py); any other table (an older
    design's, or an unknown one) is estimated on its own."""
    try:
        design = design_of(table.name)
    except ValueError:
        return False
    return design.measure == table.measure and design.dimensions == table.dimensions


def _cell(table: ObservedTable, key: tuple[str, ...], n: int, e: CellEstimate) -> dict[str, Any]:
    shown = not e.too_uncertain
    return {
        "table": table.name,
        "measure": table.measure,
        "dimensions": list(table.dimensions),
        **dict(zip(table.dimensions, key, strict=True)),
        "institutions": n,
        "published": shown,
        "too_uncertain": e.too_uncertain,
        "estimate": round(e.estimate) if shown else None,
        "ci95_low": round(e.ci95_low, 1) if shown else None,
        "ci95_high": round(e.ci95_high, 1) if shown else None,
        "std": round(e.std, 1),
    }


def group_cells(
    member_ids: tuple[str, ...],
    tables: dict[str, dict[str, TableInput]],
    k: int,
    *,
    group_id: str = "",
) -> list[dict[str, Any]]:
    """Every listed cell of one group, sorted by table and key."""
    families, contributors = _observed(member_ids, tables, k)
    cells = []
    for family in families:
        estimates = _estimates(family, len(member_ids), group_id)
        for table in family:
            for key, e in zip(table.keys, estimates.get(table.name, ()), strict=False):
                cells.append(_cell(table, key, contributors[(table.name, key)], e))
    return sorted(cells, key=lambda c: (c["table"], [c[d] for d in c["dimensions"]]))


def _estimates(
    family: list[ObservedTable], institutions: int, group_id: str
) -> dict[str, tuple[CellEstimate, ...]]:
    """The family's estimates, or none (the family is not listed) when the
    numerics fail or give a number no group can have: a last line of defence
    behind the input checks, so that one family cannot stop the others."""
    limit = max(institutions, 1) * MAX_CELL_MAGNITUDE
    try:
        estimates = estimate_tables(family)
        numbers = [x for es in estimates.values() for e in es for x in _numbers(e)]
        if not all(math.isfinite(x) and abs(x) <= limit for x in numbers):
            raise ArithmeticError("an estimate is not finite or beyond any group's size")
    except (ArithmeticError, ValueError, np.linalg.LinAlgError) as exc:
        logger.error(
            "group %s: tables %s could not be estimated (%s); they are not listed",
            group_id or "?", ", ".join(t.name for t in family), type(exc).__name__,
        )  # fmt: skip
        return {}
    return estimates


def _numbers(e: CellEstimate) -> tuple[float, ...]:
    return (e.estimate, e.ci95_low, e.ci95_high, e.std)


def readable_cells(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stored cells in the current form. A cell stored by an earlier algorithm
    (summed noisy totals, which could be negative, and quartiles) keeps its
    labels and count but shows no number, and so does a cell whose stored
    numbers no group can have (computed by an earlier version from a
    submission that is left out now): a number that is not finite or beyond
    ``MAX_CELL_MAGNITUDE`` per institution breaks the exports (64-bit
    integers) and says nothing true."""
    return [c if "too_uncertain" in c and _plausible(c) else _without_numbers(c) for c in cells]


def _plausible(cell: dict[str, Any]) -> bool:
    count = cell.get("institutions")
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        return False
    limit = max(count, 1) * MAX_CELL_MAGNITUDE
    estimate = cell.get("estimate")
    if estimate is not None and (isinstance(estimate, bool) or not isinstance(estimate, int)):
        return False
    return all(
        value is None
        or (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(value)
            and abs(value) <= limit
        )
        for value in (cell.get(f) for f in STAT_FIELDS)
    )


def _without_numbers(cell: dict[str, Any]) -> dict[str, Any]:
    labels = {d: cell[d] for d in cell["dimensions"]}
    return {
        "table": cell["table"],
        "measure": cell["measure"],
        "dimensions": cell["dimensions"],
        **labels,
        "institutions": cell["institutions"],
        "published": False,
        "too_uncertain": False,
        **dict.fromkeys(STAT_FIELDS),
    }


def compute(session: Session, period: str, *, k: int) -> PeriodBenchmarks:
    """All benchmarks of one period from what is stored (nothing is written);
    the submissions left out are in ``left_out`` (:func:`log_left_out`)."""
    inputs = load_inputs(session, period)
    assignment, groups = assign(inputs.members, k)
    return PeriodBenchmarks(
        period=period,
        k=k,
        inputs_digest=inputs.digest,
        groups=[
            GroupBenchmark(g, group_cells(g.members, inputs.tables, k, group_id=g.group_id))
            for g in groups
        ],
        assignment=assignment,
        left_out=inputs.left_out,
    )


def log_left_out(result: PeriodBenchmarks) -> None:
    """A warning per submission left out, for the server's log (the command line
    prints its own warnings instead)."""
    for item in result.left_out:
        logger.warning(
            "period %s: submission %s of %s is left out of the benchmarks: %s",
            result.period, item.submission_id, item.institution_id, item.reason,
        )  # fmt: skip


def store(session: Session, result: PeriodBenchmarks) -> None:
    session.execute(delete(BenchmarkGroup).where(BenchmarkGroup.period == result.period))
    session.add_all(
        BenchmarkGroup(
            period=result.period,
            group_id=g.group.group_id,
            level=g.group.level,
            members=list(g.group.members),
            merged_from=list(g.group.merged_from),
            cells=g.cells,
        )
        for g in result.groups
    )


def stored(session: Session, period: str, *, cells: bool = True) -> list[BenchmarkGroup]:
    """The period's stored groups; ``cells=False`` leaves their cells unread
    until a row's ``cells`` is read in the same session (a page that shows
    one group of a large sector reads one group's cells, not every group's)."""
    query = (
        select(BenchmarkGroup)
        .where(BenchmarkGroup.period == period)
        .order_by(BenchmarkGroup.group_id)
    )
    if not cells:
        query = query.options(defer(BenchmarkGroup.cells))
    return list(session.scalars(query))


def as_stored(result: PeriodBenchmarks) -> dict[str, tuple[str, list[str], list[str], Any]]:
    """A comparable form of a computation, equal to ``stored_form`` when reproduced."""
    return {
        g.group.group_id: (g.group.level, list(g.group.members), list(g.group.merged_from), g.cells)
        for g in result.groups
    }


def stored_form(rows: list[BenchmarkGroup]) -> dict[str, tuple[str, list[str], list[str], Any]]:
    return {r.group_id: (r.level, list(r.members), list(r.merged_from), r.cells) for r in rows}


def peer_group_of(rows: list[BenchmarkGroup], institution_id: str) -> BenchmarkGroup | None:
    """The narrowest stored group an institution belongs to: its peer group."""
    containing = [r for r in rows if institution_id in r.members]
    if not containing:
        return None
    return min(containing, key=lambda r: LEVELS.index(r.level))
