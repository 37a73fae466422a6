"""Benchmarks: per period, peer group, table and cell — sector totals with
their DP error, and the distribution over institutions (quartiles).

Every input value is already differentially private, so everything here is
post-processing and costs no budget. Nothing is specific to a table: any
table an agent releases (``households_by_province``, ``visits_by_month``,
…) is benchmarked cell by cell under its own name and dimensions.

* Total: the sum of the institutions' noisy values; its 95% interval comes
  from the declared noise scales (independent noise adds in variance).
* Distribution: median and quartiles of the institutions' noisy values
  (linear interpolation between order statistics).
* A cell is published only when at least ``k`` institutions contribute to
  it; otherwise it is listed with its count and nothing else.

When an institution submitted more than once in a period, its latest table
of each name counts (by log index). The computation is a pure function of
the stored submissions and ``k``; its inputs digest is stored with the
period so that anyone can recompute and compare (ADR 0007).
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from aggregator.peergroups import LEVELS, Member, PeerGroup, assign
from aggregator.storage import BenchmarkGroup, Institution, Submission
from dp.measurements import noise_std, sum_ci95
from protocol.encoding import canonical_bytes

ALGORITHM = "publiek/1 benchmarks v3"  # v3: Laplace variance; cells under k not listed
# OpenDP's Gaussian accuracy is linear in the scale: ask it once for scale 1
# instead of once per cell (the sum of many cells' noise is near Gaussian).
_Z95 = sum_ci95([1.0])
STAT_FIELDS = ("total", "ci95_low", "ci95_high", "q1", "median", "q3")


@dataclass(frozen=True)
class TableInput:
    """One institution's released table, as stored (already DP)."""

    name: str
    measure: str
    dimensions: tuple[str, ...]
    keys: tuple[tuple[str, ...], ...]
    values: tuple[int, ...]
    noise_std: float  # standard deviation of each cell's noise (from mechanism and scale)


@dataclass(frozen=True)
class Inputs:
    members: list[Member]
    tables: dict[str, dict[str, TableInput]]  # institution → table name → table
    digest: str


@dataclass(frozen=True)
class GroupBenchmark:
    group: PeerGroup
    cells: list[dict[str, Any]]

    def summary(self) -> dict[str, Any]:
        """What anyone may see about a group: its id, level, size and merges."""
        return group_summary(self.group.group_id, self.group.level, self.group.merged_from,
                             len(self.group.members))  # fmt: skip


@dataclass(frozen=True)
class PeriodBenchmarks:
    period: str
    k: int
    inputs_digest: str
    groups: list[GroupBenchmark]
    assignment: dict[str, str]

    def group(self, group_id: str) -> GroupBenchmark | None:
        return next((g for g in self.groups if g.group.group_id == group_id), None)


def group_summary(
    group_id: str, level: str, merged_from: tuple[str, ...] | list[str], institutions: int
) -> dict[str, Any]:
    return {
        "group_id": group_id,
        "level": level,
        "institutions": institutions,
        "merged_from": list(merged_from),
    }


def load_inputs(session: Session, period: str) -> Inputs:
    rows = session.execute(
        select(
            Submission.institution_id,
            Submission.submission_id,
            Submission.digest,
            Submission.payload,
        )
        .where(Submission.period == period)
        .order_by(Submission.log_index)
    ).all()
    tables: dict[str, dict[str, TableInput]] = defaultdict(dict)
    used = []
    for institution_id, submission_id, digest, payload in rows:
        used.append([submission_id, digest])
        for t in payload["tables"]:
            tables[institution_id][t["name"]] = TableInput(
                name=t["name"],
                measure=t["measure"],
                dimensions=tuple(t["dimensions"]),
                keys=tuple(tuple(k) for k in t["keys"]),
                values=tuple(t["values"]),
                noise_std=noise_std(t["mechanism"], float(t["scale"])),
            )
    members = [
        Member(i.institution_id, i.discipline, i.province, i.size_class)
        for i in session.scalars(
            select(Institution).where(Institution.institution_id.in_(list(tables)))
        )
    ]
    members.sort(key=lambda m: m.institution_id)
    digest = hashlib.sha256(canonical_bytes({"algorithm": ALGORITHM, "inputs": used})).hexdigest()
    return Inputs(members=members, tables=dict(tables), digest=digest)


def quantile(sorted_values: list[int], q: float) -> float:
    """Linear interpolation between order statistics (R type 7)."""
    pos = (len(sorted_values) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def group_cells(
    member_ids: tuple[str, ...], tables: dict[str, dict[str, TableInput]], k: int
) -> list[dict[str, Any]]:
    meta: dict[str, TableInput] = {}
    values: dict[tuple[str, tuple[str, ...]], list[int]] = defaultdict(list)
    stds: dict[tuple[str, tuple[str, ...]], list[float]] = defaultdict(list)
    for inst in member_ids:
        for name, table in tables.get(inst, {}).items():
            meta.setdefault(name, table)
            for key, value in zip(table.keys, table.values, strict=True):
                values[(name, key)].append(value)
                stds[(name, key)].append(table.noise_std)
    cells = []
    for name, key in sorted(values):
        table = meta[name]
        vals = values[(name, key)]
        n = len(vals)
        if n < k:
            # Not published, and not listed either: a key that fewer than k
            # institutions sent could carry anything one agent chose to put in it.
            continue
        total = sum(vals)
        half = _Z95 * math.sqrt(sum(x * x for x in stds[(name, key)]))
        ordered = sorted(vals)
        cell: dict[str, Any] = {
            "table": name,
            "measure": table.measure,
            "dimensions": list(table.dimensions),
            **dict(zip(table.dimensions, key, strict=True)),
            "institutions": n,
            "published": True,
            "total": total,
            "ci95_low": round(total - half, 1),
            "ci95_high": round(total + half, 1),
            "q1": round(quantile(ordered, 0.25), 1),
            "median": round(quantile(ordered, 0.5), 1),
            "q3": round(quantile(ordered, 0.75), 1),
        }
        cells.append(cell)
    return cells


def compute(session: Session, period: str, *, k: int) -> PeriodBenchmarks:
    """All benchmarks of one period from what is stored (nothing is written)."""
    inputs = load_inputs(session, period)
    assignment, groups = assign(inputs.members, k)
    return PeriodBenchmarks(
        period=period,
        k=k,
        inputs_digest=inputs.digest,
        groups=[GroupBenchmark(g, group_cells(g.members, inputs.tables, k)) for g in groups],
        assignment=assignment,
    )


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


def stored(session: Session, period: str) -> list[BenchmarkGroup]:
    return list(
        session.scalars(
            select(BenchmarkGroup)
            .where(BenchmarkGroup.period == period)
            .order_by(BenchmarkGroup.group_id)
        )
    )


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
