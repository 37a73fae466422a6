"""Sector benchmarks: sums of DP tables across institutions, with their error.

Every input value is already differentially private, so combining them is
post-processing and costs no budget. The error of a sum is propagated from
the declared noise scales (independent noise adds in variance). A cell is
published only when at least ``k`` institutions contribute to it, so no
benchmark is one institution's number in disguise.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select

from aggregator.storage import Database, Submission
from dp.measurements import sum_ci95
from protocol.messages import SubmissionPayload


@dataclass(frozen=True)
class BenchmarkCell:
    table: str
    measure: str
    dimensions: tuple[str, ...]
    key: tuple[str, ...]
    total: int
    ci95: float
    institutions: int
    published: bool

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "table": self.table,
            "measure": self.measure,
            **dict(zip(self.dimensions, self.key, strict=True)),
            "institutions": self.institutions,
            "published": self.published,
        }
        if self.published:
            out["total"] = self.total
            out["ci95_low"] = round(self.total - self.ci95, 1)
            out["ci95_high"] = round(self.total + self.ci95, 1)
        return out


def payloads(db: Database, period: str) -> list[SubmissionPayload]:
    with db.session() as s:
        rows = s.scalars(select(Submission.payload).where(Submission.period == period)).all()
    return [SubmissionPayload.from_dict(r) for r in rows]


def sector_benchmark(db: Database, period: str, *, k: int) -> list[BenchmarkCell]:
    """Sector totals per table and cell for one period."""
    sums: dict[tuple[str, tuple[str, ...]], int] = defaultdict(int)
    scales: dict[tuple[str, tuple[str, ...]], list[float]] = defaultdict(list)
    meta: dict[str, tuple[str, tuple[str, ...]]] = {}
    for payload in payloads(db, period):
        for table in payload.tables:
            meta[table.name] = (table.measure, table.dimensions)
            for key, value in zip(table.keys, table.values, strict=True):
                sums[(table.name, key)] += value
                scales[(table.name, key)].append(table.scale)
    cells = []
    for (name, key), total in sorted(sums.items()):
        measure, dims = meta[name]
        n = len(scales[(name, key)])
        cells.append(
            BenchmarkCell(
                table=name,
                measure=measure,
                dimensions=dims,
                key=key,
                total=total,
                ci95=sum_ci95(scales[(name, key)]),
                institutions=n,
                published=n >= k,
            )
        )
    return cells
