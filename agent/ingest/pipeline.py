"""From export files to canonical visits in the workspace.

Per export: read it as strings (nothing is inferred behind the user's back),
detect what the mapping leaves out, then stream it once through the
normalisation into a temporary Parquet file in the workspace; from that file
the quarantine, the counts, the distinct households (one HMAC each) and the
canonical visits per period are written. A file whose digest was ingested
before is skipped, so ingesting twice never double-counts. Rows are only ever
counted or located (row number, column, reason), never printed.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from agent.ingest import dialect, normalise, readers
from agent.ingest.households import household_keys
from agent.ingest.mapping import Mapping
from agent.ingest.reasons import REASONS
from agent.visits import DISCIPLINES, VISIT_SCHEMA
from agent.workspace import Workspace
from protocol.errors import UsageError
from protocol.keys import SecretBytes

IDENTITY_HASH_SEED = 0x5075626C  # any fixed seed: the hash only joins keys back within one run
FIRST_DATA_ROW = 2  # rows are numbered as a spreadsheet shows them: the header is row 1


@dataclass
class IngestReport:
    """Counts and detections of one ingest run; never row content."""

    rows_read: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    households: int = 0
    files_ingested: list[str] = field(default_factory=list)
    files_skipped: list[str] = field(default_factory=list)
    unmapped_disciplines: dict[str, int] = field(default_factory=dict)
    detected: dict[str, dict[str, str]] = field(default_factory=dict)
    periods: list[str] = field(default_factory=list)
    quarantine: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def detected_line(self, name: str) -> str:
        """One line saying how a file was read, e.g. for the terminal."""
        info = self.detected.get(name, {})
        parts = [f"{k} {v!r}" if k == "delimiter" else f"{k} {v}" for k, v in info.items()]
        return f"{name}: {', '.join(parts)}"


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes: the identity of an export for "ingested before?"."""
    return readers.scan_bytes(path, check_utf8=False).digest


def _period_label(code: int) -> str:
    return f"{code // 4}-Q{code % 4 + 1}"


@dataclass(frozen=True)
class _Plan:
    """The expressions that turn one export's string columns into canonical ones."""

    columns: dict[str, str]  # canonical → header
    date_format: str
    decimal: str | None

    def has(self, name: str) -> bool:
        return name in self.columns


def _detect(export: readers.Export, mapping: Mapping) -> _Plan:
    columns = mapping.columns
    missing = [h for h in columns.values() if h not in export.columns]
    if missing:
        raise UsageError(
            f"{export.path}: mapped column(s) {', '.join(repr(m) for m in missing)} "
            "not in the file's header",
            hint=f"the file has: {', '.join(repr(c) for c in export.columns)}",
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
    return _Plan(dict(columns), date_format, decimal)


def _normalised(export: readers.Export, plan: _Plan, mapping: Mapping) -> pl.LazyFrame:
    """Canonical columns plus ``identity``, ``period_code``, ``reason`` and ``column``."""
    cols = plan.columns
    frame = export.frame.with_row_index("source_row", offset=FIRST_DATA_ROW).select(
        pl.col("source_row").cast(pl.Int64),
        *[pl.col(header).alias(name) for name, header in cols.items()],
    )
    raw = {name: (pl.col(name) if name in cols else pl.lit(None, pl.String)) for name in cols}

    def text(name: str) -> pl.Expr:
        return raw.get(name, pl.lit(None, pl.String))

    this_year = datetime.now(UTC).year
    date = normalise.visit_date(text("visit_date"), plan.date_format)
    tickets = (
        normalise.whole_number(text("tickets"), pl.Int32()) if plan.has("tickets") else pl.lit(1)
    )
    price = (
        normalise.decimal_number(text("price"), plan.decimal or ",")
        if plan.has("price")
        else pl.lit(None, pl.Float64)
    )
    birth = normalise.whole_number(text("birth_year"), pl.Int32())
    raw_disc = text("discipline").str.strip_chars()
    # A when/then chain, not replace_strict: replace_strict makes polars leave the
    # streaming engine and hold the whole export in memory.
    mapped: pl.Expr = pl.lit(None, pl.String)
    for value, discipline in mapping.discipline_map.items():
        mapped = pl.when(raw_disc == value).then(pl.lit(discipline)).otherwise(mapped)
    lowered = raw_disc.str.to_lowercase()
    native = pl.when(lowered.is_in(DISCIPLINES)).then(lowered)
    fallback = pl.lit(mapping.default_discipline or "other")
    pc6 = normalise.postcode_pc6(text("postcode"))
    house = normalise.house_number(text("house_number"))
    mail = normalise.email(text("email"))

    staged = frame.with_columns(
        date.alias("visit_date"),
        tickets.cast(pl.Int32).alias("tickets"),
        price.alias("price"),
        birth.alias("birth_year"),
        pl.coalesce(mapped, native, fallback).alias("discipline"),
        (raw_disc.is_not_null() & mapped.is_null() & native.is_null()).alias("unmapped"),
        raw_disc.alias("raw_discipline"),
        pc6.alias("pc6"),
        house.alias("house"),
        mail.alias("email_norm"),
        text("price").is_not_null().alias("has_price"),
        text("birth_year").is_not_null().alias("has_birth_year"),
        *[text(n).alias(n) for n in ("order_id", "event") if n not in cols],
    ).with_columns(
        normalise.household_identity(pl.col("pc6"), pl.col("house"), pl.col("email_norm")).alias(
            "identity"
        ),
        pl.col("pc6").str.slice(0, 4).alias("pc4"),
        normalise.household_identity(pl.col("pc6"), pl.col("house"), pl.col("email_norm"))
        .hash(IDENTITY_HASH_SEED)
        .alias("identity_hash"),
        (pl.col("visit_date").dt.year() * 4 + pl.col("visit_date").dt.quarter() - 1)
        .cast(pl.Int32)
        .alias("period_code"),
    )
    key_headers = "+".join(cols[n] for n in ("postcode", "house_number", "email") if n in cols)
    checks: list[tuple[str, str, pl.Expr]] = [
        ("invalid_date", cols["visit_date"], pl.col("visit_date").is_null()),
        (
            "invalid_tickets",
            cols.get("tickets", ""),
            pl.col("tickets").is_null() | (pl.col("tickets") <= 0),
        ),
        (
            "invalid_price",
            cols.get("price", ""),
            pl.col("has_price") & (pl.col("price").is_null() | (pl.col("price") < 0)),
        ),
        (
            "invalid_birth_year",
            cols.get("birth_year", ""),
            pl.col("has_birth_year")
            & ~pl.col("birth_year").is_between(1900, this_year).fill_null(value=False),
        ),
        (
            "no_household_key",
            key_headers or "(no key columns mapped)",
            pl.col("identity").is_null(),
        ),
    ]
    assert [c[0] for c in checks] == list(REASONS)
    reason: pl.Expr = pl.lit(None, pl.String)
    column: pl.Expr = pl.lit(None, pl.String)
    for code, header, failed in reversed(checks):
        reason = pl.when(failed).then(pl.lit(code)).otherwise(reason)
        column = pl.when(failed).then(pl.lit(header)).otherwise(column)
    return staged.with_columns(reason.alias("reason"), column.alias("column"))


_STAGED = (
    "source_row", "visit_date", "period_code", "identity", "identity_hash", "pc4", "order_id",
    "tickets", "price", "event", "discipline", "birth_year", "unmapped", "raw_discipline",
    "reason", "column",
)  # fmt: skip


def _stage(export: readers.Export, plan: _Plan, mapping: Mapping, staged: Path) -> None:
    """Stream the export once through normalisation into ``staged`` (a Parquet file)."""
    try:
        _normalised(export, plan, mapping).select(_STAGED).sink_parquet(
            staged, compression="lz4", engine="streaming"
        )
    except pl.exceptions.PolarsError as exc:
        raise UsageError(
            f"{export.path}: cannot be read to the end ({type(exc).__name__})",
            hint="check delimiter, quoting and encoding in the mapping's [source]",
        ) from exc


def ingest_exports(
    paths: Sequence[Path],
    mapping: Mapping,
    workspace: Workspace,
    *,
    sector_key: Callable[[str], SecretBytes] | None = None,
) -> IngestReport:
    """Ingest every export; return counts only (never row content).

    Fails with :class:`UsageError` before writing anything for a file that
    cannot be used at all; a file is recorded as ingested only after its
    visits and quarantine are in place."""
    workspace.ensure()
    key_for = sector_key or workspace.sector_key
    report = IngestReport()
    keyed: list[pl.DataFrame] = []
    for path in paths:
        _ingest_one(path, mapping, workspace, key_for=key_for, report=report, keyed=keyed)
    report.periods = sorted({p for frame in keyed for p in frame["period"].unique().to_list()})
    if keyed:
        report.households = pl.concat(keyed).n_unique()
    return report


def _ingest_one(
    path: Path,
    mapping: Mapping,
    workspace: Workspace,
    *,
    key_for: Callable[[str], SecretBytes],
    report: IngestReport,
    keyed: list[pl.DataFrame],
) -> None:
    if not path.exists():
        raise UsageError(f"{path}: no such file", hint="check the export path")
    kind = readers.kind_of(path)
    wants_utf8 = mapping.source.encoding is None or dialect.canonical_encoding(
        mapping.source.encoding
    ) in ("utf-8", "utf-8-sig")
    scan = readers.scan_bytes(path, check_utf8=kind == "csv" and wants_utf8)
    with workspace.connect() as db:
        seen = db.execute(
            "SELECT 1 FROM ingested_files WHERE digest = ?", (scan.digest,)
        ).fetchone()
    if seen:
        report.files_skipped.append(path.name)
        return
    tmp = workspace.root / "tmp" / scan.digest
    tmp.mkdir(parents=True, exist_ok=True)
    tmp.parent.chmod(0o700)
    try:
        export = readers.open_export(path, mapping.source, scan, tmp)
        plan = _detect(export, mapping)
        report.detected[path.name] = dict(export.detected)
        staged = tmp / "staged.parquet"
        _stage(export, plan, mapping, staged)
        counts = _write_outputs(
            staged,
            digest=scan.digest,
            name=path.name,
            workspace=workspace,
            tmp=tmp,
            key_for=key_for,
            keyed=keyed,
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    read, accepted, by_reason, unmapped = counts
    report.rows_read += read
    report.rows_accepted += accepted
    report.rows_rejected += read - accepted
    for code, n in by_reason.items():
        report.rejected_by_reason[code] = report.rejected_by_reason.get(code, 0) + n
    for value, n in unmapped.items():
        report.unmapped_disciplines[value] = report.unmapped_disciplines.get(value, 0) + n
    report.files_ingested.append(path.name)
    if read > accepted:
        report.quarantine.append(str(workspace.quarantine_dir / f"{scan.digest}.parquet"))
    with workspace.connect() as db:
        db.execute(
            "INSERT INTO ingested_files VALUES (?, ?, ?, ?, ?, ?)",
            (
                scan.digest,
                path.name,
                datetime.now(UTC).isoformat(),
                read,
                accepted,
                read - accepted,
            ),
        )


def _write_outputs(
    staged: Path,
    *,
    digest: str,
    name: str,
    workspace: Workspace,
    tmp: Path,
    key_for: Callable[[str], SecretBytes],
    keyed: list[pl.DataFrame],
) -> tuple[int, int, dict[str, int], dict[str, int]]:
    """Quarantine, counts and per-period canonical visits from the staged rows."""
    rows = pl.scan_parquet(staged)
    summary = rows.group_by("reason").len().collect()
    by_reason = {str(r): int(n) for r, n in summary.iter_rows() if r is not None}
    read = int(summary["len"].sum())
    accepted = read - sum(by_reason.values())
    unmapped = {
        str(v): int(n)
        for v, n in rows.filter(pl.col("reason").is_null() & pl.col("unmapped"))
        .group_by("raw_discipline")
        .len()
        .collect()
        .iter_rows()
    }
    quarantine = workspace.quarantine_dir / f"{digest}.parquet"
    if by_reason:
        rows.filter(pl.col("reason").is_not_null()).select(
            pl.lit(name).alias("source_file"),
            pl.lit(digest).alias("source_digest"),
            "source_row",
            "column",
            "reason",
        ).sink_parquet(tmp / "quarantine.parquet")
        (tmp / "quarantine.parquet").replace(quarantine)
    good = rows.filter(pl.col("reason").is_null())
    distinct = (
        good.select("period_code", "identity", "identity_hash")
        .unique(subset=["period_code", "identity"])
        .collect(engine="streaming")
    )
    # Join the keys back on a 64-bit hash of the identity rather than on the
    # identity string: a far smaller and faster join. Two identities sharing a
    # hash in one period would be merged, so that case joins on the string.
    join_on = ["period_code", "identity_hash"]
    if distinct.select(pl.struct(join_on).n_unique()).item() != distinct.height:
        join_on = ["period_code", "identity"]
    for (code,), households in sorted(distinct.group_by("period_code"), key=lambda g: str(g[0])):
        period = _period_label(int(str(code)))
        keys = households.select(*join_on).with_columns(
            household_keys(households["identity"], key_for(period))
        )
        keyed.append(keys.select(pl.lit(period).alias("period"), "household_key"))
        out = (
            good.filter(pl.col("period_code") == code)
            .join(keys.lazy(), on=join_on, how="left")
            .with_columns(pl.lit(period).alias("period"), pl.lit(digest).alias("source_digest"))
            .select([pl.col(c).cast(t) for c, t in VISIT_SCHEMA.items()])
        )
        target = workspace.visits_dir / f"period={period}"
        target.mkdir(parents=True, exist_ok=True)
        part = tmp / f"visits-{period}.parquet"
        out.sink_parquet(part, compression="lz4", engine="streaming")
        part.replace(target / f"{digest}.parquet")
    return read, accepted, by_reason, unmapped
