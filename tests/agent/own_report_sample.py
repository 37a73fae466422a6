"""A small own report's inputs, with a figure of every kind, and a reader of
the written page: for the unit tests and the browser test of the local report.

The published side has a number with its interval, a cell below k (not
listed: "te weinig instellingen"), a too uncertain cell, a lower bound below
0 (shown as 0, marked *), an overlap side too uncertain, and a table of
which one cell is hidden (so that it cannot give a group's total).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from agent.own_report import PeriodTotals, ReportInput
from agent.own_report_data import OwnTable, Published

PERIOD = "2026-Q3"
OWN = {
    "households_by_segment": {("urban-young",): 40, ("students",): 10,
                              ("young-families",): 0, ("unknown",): 5},
    "households_by_returning": {("new",): 30, ("returning",): 25},
    "visits_by_month": {("2026-07",): 50, ("2026-08",): 40, ("2026-09",): 30},
}  # fmt: skip
MEASURES = {"households_by_segment": "households", "households_by_returning": "households",
            "visits_by_month": "visits"}  # fmt: skip
DIMENSIONS = {"households_by_segment": "segment", "households_by_returning": "returning",
              "visits_by_month": "month"}  # fmt: skip


def cell(
    table: str, key: str, estimate: int | None, low: float = 0, high: float = 0,
    *, uncertain: bool = False, institutions: int = 7,
) -> dict[str, Any]:  # fmt: skip
    """A cell as the API sends it."""
    dim = DIMENSIONS[table]
    return {
        "table": table, "measure": MEASURES[table], "dimensions": [dim], dim: key,
        "institutions": institutions, "published": not uncertain, "too_uncertain": uncertain,
        "estimate": None if uncertain else estimate,
        "ci95_low": None if uncertain else low, "ci95_high": None if uncertain else high,
        "std": None if uncertain else 10.0,
    }  # fmt: skip


PEER_CELLS = [
    cell("households_by_returning", "new", 600, 560, 640),
    cell("households_by_returning", "returning", 400, 360, 440),
    cell("households_by_segment", "urban-young", 500, 450.4, 549.6),
    cell("households_by_segment", "students", None, uncertain=True),
    # young-families: not listed, fewer than k institutions sent it
    cell("households_by_segment", "unknown", 20, -5.2, 45.2),
    cell("visits_by_month", "2026-07", 1000, 900, 1100),
    cell("visits_by_month", "2026-08", 900, 800, 1000),
    # 2026-09 not listed: the visits have no total in the peer group
]
SECTOR_CELLS = [
    cell("households_by_returning", "new", 6000, 5900, 6100, institutions=40),
    cell("households_by_returning", "returning", 4000, 3900, 4100, institutions=40),
    cell("households_by_segment", "urban-young", 3000, 2900, 3100, institutions=40),
    cell("households_by_segment", "students", 1500, 1400, 1600, institutions=40),
    cell("households_by_segment", "young-families", 2500, 2400, 2600, institutions=40),
    cell("households_by_segment", "unknown", 3000, 2900, 3100, institutions=40),
    cell("visits_by_month", "2026-07", 10000, 9800, 10200, institutions=40),
    cell("visits_by_month", "2026-08", 9000, 8800, 9200, institutions=40),
    cell("visits_by_month", "2026-09", 8000, 7800, 8200, institutions=40),
]
OVERLAPS = [
    {"kind": "sector", "name": "sector", "institutions": 39,
     "shared_households": {"estimate": 22.0, "ci95_low": 12.0, "ci95_high": 32.0,
                           "too_uncertain": False}},
    {"kind": "discipline", "name": "theater", "institutions": 8,
     "shared_households": {"estimate": None, "ci95_low": None, "ci95_high": None,
                           "too_uncertain": True}},
]  # fmt: skip


def tables() -> dict[str, OwnTable]:
    return {name: OwnTable(name, MEASURES[name], (DIMENSIONS[name],), counts)
            for name, counts in OWN.items()}  # fmt: skip


def published(**changes: Any) -> Published:
    base: dict[str, Any] = {
        "k": 5, "segment_model": "synthetic-2026.1", "synthetic": True,
        "peer_group": {"group_id": "theater-medium", "level": "discipline", "institutions": 7,
                       "merged_groups": 0},
        "peer_cells": PEER_CELLS,
        "sector": {"group_id": "sector", "level": "sector", "institutions": 40,
                   "merged_groups": 0},
        "sector_cells": SECTOR_CELLS, "catchment": "30_km",
        "population": {"urban-young": 1000, "students": 500, "young-families": 2500},
        "overlaps": OVERLAPS,
    }  # fmt: skip
    return Published(**{**base, **changes})


def report_input(**changes: Any) -> ReportInput:
    base: dict[str, Any] = {
        "institution_id": "zaal-a", "period": PERIOD, "tables": tables(),
        "trend": [PeriodTotals("2026-Q2", 50, 100, 50, 0), PeriodTotals(PERIOD, 55, 120, 30, 25)],
        "published": published(),
    }  # fmt: skip
    return ReportInput(**{**base, **changes})


@dataclass
class Td:
    gap: str | None
    text: str = ""
    data: dict[str, str] = field(default_factory=dict)  # class → value of its <data>
    count: str | None = None


class ReportReader(HTMLParser):
    """The page's tables as ``rows[(section, key)] = [Td, ...]``, and every
    ``<data>`` value and URL-bearing attribute on the page."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[tuple[str, str], list[Td]] = {}
        self.values: list[float] = []
        self.urls: list[str] = []
        self.tags: set[str] = set()
        self._section = ""
        self._row: list[Td] | None = None
        self._td: Td | None = None
        self._data_class = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.add(tag)
        self.urls += [v for k, v in a.items() if k in ("href", "src", "action", "srcset")]
        if tag == "section" and "data-table" in a:
            self._section = a["data-table"]
        elif tag == "tr" and "data-key" in a:
            self._row = self.rows.setdefault((self._section, a["data-key"]), [])
        elif tag == "td" and self._row is not None:
            self._td = Td(a.get("data-gap"), count=a.get("data-count"))
            self._row.append(self._td)
        elif tag == "data":
            self.values.append(float(a["value"]))
            self._data_class = a.get("class", "")
            if self._td is not None:
                self._td.data[self._data_class] = a["value"]

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._td = None
        elif tag == "tr":
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._td is not None:
            self._td.text += data


def read_report(html: str) -> ReportReader:
    reader = ReportReader()
    reader.feed(html)
    return reader
