"""The read plan of one export: which header is which field, and the settled dialect.

Made once per export before its rows are read: the mapped headers must be
in the file, and what the mapping's ``[source]`` leaves out of the values'
dialect (date format, decimal separator) is detected from the reader's
sample, or, for dates the sample cannot decide, from every distinct date in
the file (ADR 0004, "Detection").
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from agent.ingest import dialect, readers
from agent.ingest.coded_values import coded_column
from agent.ingest.disciplines import looks_like_labels
from agent.ingest.mapping import Mapping
from protocol.errors import UsageError


@dataclass(frozen=True)
class ReadPlan:
    """How to read one export's string columns: mapped headers and the settled dialect."""

    columns: dict[str, str]  # canonical → header
    date_format: str
    decimal: str | None
    # The coded columns (:mod:`agent.ingest.coded_values`) of prices and genre
    # labels, held for as long as the export is read so their codes stay put.
    prices: pl.Series = field(default_factory=lambda: coded_column("prices"), compare=False)
    labels: pl.Series = field(default_factory=lambda: coded_column("labels"), compare=False)


def plan_export(export: readers.Export, mapping: Mapping) -> ReadPlan:
    """The read plan of ``export``; what was detected is noted in ``export.detected``."""
    columns = mapping.columns
    missing = [h for h in columns.values() if h not in export.columns]
    if missing:
        raise UsageError(
            f"{export.path}: mapped column(s) {', '.join(repr(m) for m in missing)} "
            "not in the file's header",
            hint=(
                f"the file has: {', '.join(repr(c) for c in export.columns)}"
                if looks_like_labels(list(export.columns))
                else f"its first row ({len(export.columns)} fields) does not look like a header "
                "row; export with the header row included"
            ),
        )
    source = mapping.source
    where = f"{export.path}, column {columns['visit_date']!r}"
    date_format = source.date_format
    if date_format is None:
        date_header = columns["visit_date"]
        values = export.sample.get_column(date_header).drop_nulls().unique().to_list()
        try:
            date_format = dialect.date_format_from(dialect.date_evidence(values), where=where)
        except UsageError:
            # The sample may hold only the first days of a month: decide on every
            # distinct date in the file before calling the dates ambiguous.
            everything = (
                export.frame.select(pl.col(date_header).drop_nulls().unique())
                .collect(engine="streaming")
                .to_series()
                .to_list()
            )
            date_format = dialect.date_format_from(dialect.date_evidence(everything), where=where)
        export.detected["date_format"] = date_format
    decimal = source.decimal
    if decimal is None and "price" in columns:
        prices = export.sample.get_column(columns["price"]).drop_nulls().unique().to_list()
        found = dialect.detect_decimal(prices)
        decimal = found or ","
        export.detected["decimal"] = decimal if found else ", (default: no fractions seen)"
    return ReadPlan(dict(columns), date_format, decimal)
