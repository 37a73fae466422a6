"""From export files to canonical visits in the workspace.

Reads each export as strings (nothing is inferred behind the user's back),
renames mapped columns to canonical names, normalises, rejects unusable rows
with a reason code (their content is never printed), keys households per
period and writes Parquet partitioned by period. A file whose digest was
ingested before is skipped, so ingesting twice never double-counts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from agent.ingest import normalise
from agent.ingest.households import household_keys
from agent.ingest.mapping import Mapping
from agent.visits import DISCIPLINES, VISIT_SCHEMA, period_of
from agent.workspace import Workspace
from protocol.errors import UsageError
from protocol.keys import SecretBytes


@dataclass
class IngestReport:
    rows_read: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    households: int = 0
    files_skipped: int = 0
    unmapped_disciplines: dict[str, int] = field(default_factory=dict)
    detected: dict[str, dict[str, str]] = field(default_factory=dict)
    periods: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _read_csv(path: Path, mapping: Mapping) -> tuple[pl.DataFrame, dict[str, str]]:
    opts = mapping.source
    encoding = (opts.encoding or "utf-8").lower().replace("_", "-")
    delimiter = opts.delimiter or ";"
    try:
        if encoding in ("utf-8", "utf8", "utf-8-sig"):
            frame = pl.read_csv(path, separator=delimiter, infer_schema=False, encoding="utf8")
        else:
            text = path.read_bytes().decode(encoding)
            frame = pl.read_csv(text.encode("utf-8"), separator=delimiter, infer_schema=False)
    except (pl.exceptions.ComputeError, UnicodeDecodeError, LookupError) as exc:
        raise UsageError(
            f"{path}: cannot be read as CSV ({type(exc).__name__})",
            hint="check encoding and delimiter in the mapping's [source]",
        ) from exc
    return frame, {"encoding": encoding, "delimiter": delimiter}


def _canonical(frame: pl.DataFrame, mapping: Mapping, path: Path) -> pl.DataFrame:
    missing = [h for h in mapping.columns.values() if h not in frame.columns]
    if missing:
        raise UsageError(
            f"{path}: mapped column(s) {', '.join(repr(m) for m in missing)} not in the file",
            hint=f"the file has: {', '.join(repr(c) for c in frame.columns)}",
        )
    renamed = frame.select(
        [pl.col(header).alias(name) for name, header in mapping.columns.items()]
    ).with_row_index("source_row", offset=1)
    for name in ("postcode", "house_number", "email", "order_id", "event", "discipline"):
        if name not in renamed.columns:
            renamed = renamed.with_columns(pl.lit(None, pl.String).alias(name))
    return renamed


def _normalised(frame: pl.DataFrame, mapping: Mapping) -> pl.DataFrame:
    opts = mapping.source
    decimal = opts.decimal or ","
    date_format = opts.date_format or "%d-%m-%Y"
    pc6 = normalise.postcode_pc6(pl.col("postcode"))
    house = normalise.house_number(pl.col("house_number"))
    mail = normalise.email(pl.col("email"))
    tickets = (
        pl.col("tickets").str.strip_chars().cast(pl.Int32, strict=False)
        if "tickets" in frame.columns
        else pl.lit(1, pl.Int32)
    )
    price: pl.Expr = pl.lit(None, pl.Float64)
    if "price" in frame.columns:
        p = pl.col("price").str.strip_chars().str.replace_all(r"[€\s]", "")
        if decimal == ",":
            p = p.str.replace_all(r"\.", "").str.replace(",", ".", literal=True)
        price = p.cast(pl.Float64, strict=False)
    birth = (
        pl.col("birth_year").str.strip_chars().cast(pl.Int32, strict=False)
        if "birth_year" in frame.columns
        else pl.lit(None, pl.Int32)
    )
    raw_disc = pl.col("discipline").str.strip_chars()
    mapped = raw_disc.replace_strict(mapping.discipline_map, default=None, return_dtype=pl.String)
    native = pl.when(raw_disc.str.to_lowercase().is_in(DISCIPLINES)).then(
        raw_disc.str.to_lowercase()
    )
    fallback = pl.lit(mapping.default_discipline or "other")
    return frame.with_columns(
        pl.col("visit_date").str.strip_chars().str.to_date(date_format, strict=False),
        pc6.alias("pc6"),
        house.alias("house"),
        mail.alias("email_norm"),
        tickets.alias("tickets"),
        price.alias("price"),
        pl.when(birth.is_between(1900, datetime.now(UTC).year)).then(birth).alias("birth_year"),
        pl.coalesce(mapped, native, fallback).alias("discipline"),
        (raw_disc.is_not_null() & mapped.is_null() & native.is_null()).alias("unmapped"),
    ).with_columns(
        normalise.household_identity(pl.col("pc6"), pl.col("house"), pl.col("email_norm")).alias(
            "identity"
        ),
        pl.col("pc6").str.slice(0, 4).alias("pc4"),
    )


REASONS: tuple[tuple[str, str, pl.Expr], ...] = (
    ("invalid_date", "visit_date", pl.col("visit_date").is_null()),
    ("invalid_tickets", "tickets", pl.col("tickets").is_null() | (pl.col("tickets") <= 0)),
    ("no_household_key", "postcode", pl.col("identity").is_null()),
)


def _with_reason(frame: pl.DataFrame) -> pl.DataFrame:
    reason: pl.Expr = pl.lit(None, pl.String)
    column: pl.Expr = pl.lit(None, pl.String)
    for code, col, cond in reversed(REASONS):
        reason = pl.when(cond).then(pl.lit(code)).otherwise(reason)
        column = pl.when(cond).then(pl.lit(col)).otherwise(column)
    return frame.with_columns(reason.alias("reason"), column.alias("reason_column"))


def ingest_exports(
    paths: Sequence[Path],
    mapping: Mapping,
    workspace: Workspace,
    *,
    sector_key: Callable[[str], SecretBytes] | None = None,
) -> IngestReport:
    """Ingest every export; return counts only (never row content)."""
    workspace.ensure()
    key_for = sector_key or workspace.sector_key
    report = IngestReport()
    periods: set[str] = set()
    for path in paths:
        if not path.is_file():
            raise UsageError(f"{path}: no such file", hint="check the export path")
        digest = file_digest(path)
        with workspace.connect() as db:
            seen = db.execute("SELECT 1 FROM ingested_files WHERE digest = ?", (digest,)).fetchone()
        if seen:
            report.files_skipped += 1
            continue
        raw, detected = _read_csv(path, mapping)
        if raw.height == 0:
            raise UsageError(f"{path}: the file has a header but no rows")
        report.detected[path.name] = detected
        frame = _with_reason(_normalised(_canonical(raw, mapping, path), mapping))
        rejected = frame.filter(pl.col("reason").is_not_null())
        accepted = frame.filter(pl.col("reason").is_null()).with_columns(
            period_of(pl.col("visit_date")).alias("period"),
            pl.lit(digest).alias("source_digest"),
        )
        for code, n in rejected.group_by("reason").len().iter_rows():
            report.rejected_by_reason[code] = report.rejected_by_reason.get(code, 0) + int(n)
        for value, n in accepted.filter("unmapped").group_by("discipline").len().iter_rows():
            report.unmapped_disciplines[value] = report.unmapped_disciplines.get(value, 0) + int(n)
        rejected.select(
            "source_row", pl.col("reason_column").alias("column"), "reason"
        ).write_parquet(workspace.quarantine_dir / f"{digest}.parquet")
        for (label,), part in accepted.group_by("period"):
            period = str(label)
            periods.add(period)
            uniq = part.select(pl.col("identity").unique())
            uniq = uniq.with_columns(household_keys(uniq["identity"], key_for(period)))
            out = part.join(uniq, on="identity", how="left").select(
                [pl.col(c).cast(t) for c, t in VISIT_SCHEMA.items()]
            )
            target = workspace.visits_dir / f"period={period}"
            target.mkdir(parents=True, exist_ok=True)
            out.write_parquet(target / f"{digest}.parquet")
        report.rows_read += raw.height
        report.rows_accepted += accepted.height
        report.rows_rejected += rejected.height
        with workspace.connect() as db:
            db.execute(
                "INSERT INTO ingested_files VALUES (?, ?, ?, ?, ?, ?)",
                (
                    digest,
                    path.name,
                    datetime.now(UTC).isoformat(),
                    raw.height,
                    accepted.height,
                    rejected.height,
                ),
            )
    report.periods = sorted(periods)
    report.households = sum(
        workspace.load_visits(p).select(pl.col("household_key").n_unique()).item()
        for p in report.periods
    )
    return report
