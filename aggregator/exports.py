"""Benchmark exports: one row per (peer group, table, cell), as CSV, Parquet or JSON.

Tables have different dimensions, so every dimension name that occurs gets
its own column (empty where a table lacks it). A cell that is too uncertain
(95% half-width over half its estimate) appears with ``too_uncertain`` true,
its standard deviation and empty estimate and interval, so a reader sees
that the cell exists and why it has no number. Cells that fewer than ``k``
institutions sent are not listed at all.
"""

from __future__ import annotations

import io
import json
from typing import Any

import polars as pl

from aggregator.benchmarks import STAT_FIELDS
from protocol.errors import UsageError

FORMATS = ("csv", "parquet", "json")
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
    "json": "application/json",
}


def rows(period: str, groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Flatten ``[{group summary..., "cells": [...]}]`` into export rows."""
    dims = sorted({d for g in groups for c in g["cells"] for d in c["dimensions"]})
    out = []
    for g in groups:
        for c in g["cells"]:
            row: dict[str, Any] = {
                "period": period,
                "group_id": g["group_id"],
                "level": g["level"],
                "group_institutions": g["institutions"],
                "merged_groups": g["merged_groups"],
                "table": c["table"],
                "measure": c["measure"],
            }
            row.update({d: c.get(d) for d in dims})
            row["institutions"] = c["institutions"]
            row["published"] = c["published"]
            row["too_uncertain"] = c["too_uncertain"]
            row.update({f: c.get(f) for f in STAT_FIELDS})
            out.append(row)
    return out


def _frame(period: str, groups: list[dict[str, Any]]) -> pl.DataFrame:
    data = rows(period, groups)
    schema: dict[str, Any] = {
        "period": pl.String, "group_id": pl.String, "level": pl.String,
        "group_institutions": pl.Int64, "merged_groups": pl.Int64,
        "table": pl.String, "measure": pl.String,
    }  # fmt: skip
    for name in sorted({d for g in groups for c in g["cells"] for d in c["dimensions"]}):
        schema[name] = pl.String
    schema.update(institutions=pl.Int64, published=pl.Boolean, too_uncertain=pl.Boolean)
    schema.update(dict.fromkeys(STAT_FIELDS, pl.Float64))
    schema["estimate"] = pl.Int64
    return pl.DataFrame(data, schema=schema) if data else pl.DataFrame(schema=schema)


def export(period: str, groups: list[dict[str, Any]], fmt: str) -> bytes:
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}", hint=f"use: {', '.join(FORMATS)}")
    if fmt == "json":
        doc = {"period": period, "groups": groups}
        return json.dumps(doc, ensure_ascii=False, indent=1).encode()
    buffer = io.BytesIO()
    frame = _frame(period, groups)
    if fmt == "csv":
        frame.write_csv(buffer)
    else:
        frame.write_parquet(buffer)
    return buffer.getvalue()
