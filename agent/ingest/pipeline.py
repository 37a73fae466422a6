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
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from agent.ingest import dialect, normalise, readers
from agent.ingest.disciplines import (
    discipline_of,
    discipline_table,
    looks_like_labels,
    shareable,
)
from agent.ingest.households import household_keys
from agent.ingest.mapping import Mapping
from agent.ingest.reasons import REASONS
from agent.visits import VISIT_SCHEMA
from agent.workspace import Workspace
from protocol.errors import UsageError
from protocol.keys import SecretBytes

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
    source_from_mapping: dict[str, dict[str, str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def detected_line(self, name: str) -> str:
        """One line saying how a file was read, e.g. for the terminal."""

        def show(values: dict[str, str]) -> str:
            return ", ".join(f"{k} {v!r}" if len(v) == 1 else f"{k} {v}" for k, v in values.items())

        detected = dict(self.detected.get(name, {}))
        kind = detected.pop("format", "")
        line = f"{name} ({kind})" if kind else name
        if detected:
            line += f": detected {show(detected)}"
        given = self.source_from_mapping.get(name, {})
        if given:
            line += f"{';' if detected else ':'} from the mapping {show(given)}"
        return line


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes: the identity of an export for "ingested before?"."""
    return readers.scan_bytes(path, check_utf8=False).digest


def _period_label(code: int) -> str:
    return f"{code // 4}-Q{code % 4 + 1}"


@dataclass(frozen=True)
class _Plan:
    """How to read one export's string columns: mapped headers and the settled dialect."""

    columns: dict[str, str]  # canonical → header
    date_format: str
    decimal: str | None


def _detect(export: readers.Export, mapping: Mapping) -> _Plan:
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
    return _Plan(dict(columns), date_format, decimal)


_ADDRESS = ("postcode", "house_number", "email")
_HASH_SEEDS = (0x5075626C, 0x69656B21)  # fixed seeds: the hashes only join within one run


def _staged_rows(export: readers.Export, plan: _Plan) -> pl.LazyFrame:
    """Per-row work only: parse the value columns, hash the raw address, set row reasons.

    Address normalisation and discipline mapping are *not* done per row: they
    are functions of a few distinct values (households, genres), so they run
    on those distinct values later and join back on a 128-bit hash of the raw
    address (two seeded 64-bit hashes; a collision among millions of
    addresses has a probability of about 10^-26)."""
    cols = plan.columns
    frame = export.frame.with_row_index("source_row", offset=FIRST_DATA_ROW).select(
        pl.col("source_row").cast(pl.Int64),
        *[pl.col(header).alias(name) for name, header in cols.items()],
    )

    def text(name: str) -> pl.Expr:
        return pl.col(name) if name in cols else pl.lit(None, pl.String)

    this_year = datetime.now(UTC).year
    tickets = normalise.whole_number(text("tickets"), pl.Int32()) if "tickets" in cols else None
    address = pl.struct([text(n).alias(n) for n in _ADDRESS])
    staged = frame.with_columns(
        normalise.visit_date(text("visit_date"), plan.date_format).alias("visit_date"),
        (tickets if tickets is not None else pl.lit(1, pl.Int32)).cast(pl.Int32).alias("tickets"),
        normalise.decimal_number(text("price"), plan.decimal or ",").alias("price"),
        normalise.whole_number(text("birth_year"), pl.Int32()).alias("birth_year"),
        text("discipline").alias("raw_discipline"),
        *[text(n).alias(n) for n in (*_ADDRESS, "order_id", "event") if n not in cols],
        address.hash(_HASH_SEEDS[0]).alias("address_hash"),
        address.hash(_HASH_SEEDS[1]).alias("address_hash2"),
        text("price").is_not_null().alias("has_price"),
        text("birth_year").is_not_null().alias("has_birth_year"),
    ).with_columns(
        (pl.col("visit_date").dt.year() * 4 + pl.col("visit_date").dt.quarter() - 1)
        .cast(pl.Int32)
        .alias("period_code"),
    )
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
    ]
    assert [c[0] for c in checks] == list(REASONS)[: len(checks)]
    # The reason is staged as a small code (its position in REASONS), not as two
    # strings per row; the quarantine turns it back into reason and header.
    reason: pl.Expr = pl.lit(None, pl.UInt8)
    for position, (_code, _header, failed) in reversed(list(enumerate(checks))):
        reason = pl.when(failed).then(pl.lit(position, pl.UInt8)).otherwise(reason)
    return staged.with_columns(reason.alias("reason"))


def _row_reasons(plan: _Plan) -> tuple[list[str], list[str]]:
    """Reason codes and the header each one names, by position (see ``_staged_rows``)."""
    cols = plan.columns
    headers = [
        cols["visit_date"],
        cols.get("tickets", ""),
        cols.get("price", ""),
        cols.get("birth_year", ""),
    ]
    return list(REASONS)[: len(headers)], headers


_STAGED = (
    "source_row", "visit_date", "period_code", "postcode", "house_number", "email",
    "address_hash", "address_hash2", "order_id", "tickets", "price", "event",
    "raw_discipline", "birth_year", "reason",
)  # fmt: skip
_JOIN = ["period_code", "address_hash", "address_hash2"]
_STAGED_FILE_ROWS = 1_000_000


def _stage(export: readers.Export, plan: _Plan, staged: Path) -> None:
    """Stream the export once through the per-row work into ``staged`` (a folder of Parquet files).

    The rows are split over files of at most a million rows: polars writes
    the files in parallel, where one file is encoded on one thread (the
    string columns made that the slowest part of the whole ingest)."""
    try:
        _staged_rows(export, plan).select(_STAGED).sink_parquet(
            pl.PartitionBy(staged, max_rows_per_file=_STAGED_FILE_ROWS),
            compression="uncompressed",
            statistics=False,
            mkdir=True,
            engine="streaming",
        )
    except pl.exceptions.PolarsError as exc:
        raise UsageError(
            f"{export.path}: cannot be read to the end ({type(exc).__name__})",
            hint="check delimiter, quoting and encoding in the mapping's [source]",
        ) from exc


def _households(addresses: pl.DataFrame) -> pl.DataFrame:
    """Distinct raw addresses → identity ("PC6|number|addition", else e-mail) and PC4."""
    pc6 = normalise.postcode_pc6(pl.col("postcode"))
    return addresses.with_columns(
        pc6.alias("pc6"),
        normalise.house_number(pl.col("house_number")).alias("house"),
        normalise.email(pl.col("email")).alias("email_norm"),
    ).select(
        *_JOIN,
        normalise.household_identity(pl.col("pc6"), pl.col("house"), pl.col("email_norm")).alias(
            "identity"
        ),
        pl.col("pc6").str.slice(0, 4).alias("pc4"),
    )


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
    # A run that was killed leaves its staging folder (which holds raw addresses)
    # behind; nothing else uses tmp/, so it goes before anything new is written.
    shutil.rmtree(workspace.root / "tmp", ignore_errors=True)
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
    tmp.parent.mkdir(mode=0o700, exist_ok=True)
    tmp.parent.chmod(0o700)
    tmp.mkdir(mode=0o700, exist_ok=True)
    try:
        export = readers.open_export(
            path, mapping.source, scan, tmp, wanted=mapping.columns.values()
        )
        plan = _detect(export, mapping)
        report.detected[path.name] = dict(export.detected)
        report.source_from_mapping[path.name] = {
            k: v for k, v in asdict(mapping.source).items() if v is not None
        }
        staged = tmp / "staged"
        _stage(export, plan, staged)
        counts = _write_outputs(
            staged,
            plan=plan,
            digest=scan.digest,
            name=path.name,
            mapping=mapping,
            key_headers="+".join(mapping.columns[n] for n in _ADDRESS if n in mapping.columns)
            or "(no postcode, house number or e-mail mapped)",
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


_KEY_SLICE = 250_000  # households normalised per slice while the previous slice is keyed


def _slice_keys(households: pl.DataFrame, key_for: Callable[[str], SecretBytes]) -> pl.Series:
    """The household key of each row of one slice of distinct addresses (null without identity).

    Each row is a distinct raw address in one period, so this is one HMAC per
    distinct address per period: spelling variants of one address ("1234 ab",
    "1234AB") are keyed once each, to the same bytes, instead of being joined
    on the identity string."""
    keys = pl.Series("household_key", [None] * households.height, dtype=pl.Binary)
    for (code,), part in households.with_row_index("at").group_by("period_code"):
        period_keys = household_keys(part["identity"], key_for(_period_label(int(str(code)))))
        keys = keys.scatter(part["at"], period_keys)
    return keys


def _keyed_households(
    addresses: pl.DataFrame, key_for: Callable[[str], SecretBytes], pool: ThreadPoolExecutor
) -> tuple[pl.DataFrame, list[tuple[pl.DataFrame, Future[pl.Series]]]]:
    """Normalise the distinct addresses slice by slice, keying each slice on ``pool``.

    The HMACs are a Python loop (it holds the GIL) and polars releases the GIL
    while it works, so slice n is keyed while slice n + 1 is normalised."""
    parts = []
    keying = []
    for offset in range(0, max(addresses.height, 1), _KEY_SLICE):
        part = _households(addresses.slice(offset, _KEY_SLICE))
        parts.append(part)
        keying.append((part, pool.submit(_slice_keys, part, key_for)))
    return pl.concat(parts), keying


def _period_keys(
    keying: list[tuple[pl.DataFrame, Future[pl.Series]]],
) -> tuple[list[pl.DataFrame], list[pl.DataFrame]]:
    """Per period: the households with their keys, and the (period, key) pairs for the report."""
    keyed_rows = pl.concat([part.with_columns(keys.result()) for part, keys in keying]).filter(
        pl.col("household_key").is_not_null()
    )
    keys_parts = keyed_rows.drop("identity").partition_by("period_code")
    keyed = [
        part.select(
            pl.lit(_period_label(int(part["period_code"][0]))).alias("period"), "household_key"
        )
        for part in keys_parts
    ]
    return keys_parts, keyed


def _write_outputs(
    staged: Path,
    *,
    plan: _Plan,
    digest: str,
    name: str,
    mapping: Mapping,
    key_headers: str,
    workspace: Workspace,
    tmp: Path,
    key_for: Callable[[str], SecretBytes],
    keyed: list[pl.DataFrame],
) -> tuple[int, int, dict[str, int], dict[str, int]]:
    """Households, keys, quarantine, counts and per-period canonical visits from staged rows."""
    rows = pl.scan_parquet(staged / "*.parquet")
    good = rows.filter(pl.col("reason").is_null())
    codes, headers = _row_reasons(plan)
    summary = rows.group_by("reason").len().collect().sort("reason")
    by_reason = {codes[int(r)]: int(n) for r, n in summary.iter_rows() if r is not None}
    read = int(summary["len"].sum())

    # One raw address per distinct hash: find one row number per hash on integers
    # only, then read the address strings of just those rows (a unique() carrying
    # the strings costs twice as much).
    firsts = good.group_by(_JOIN).agg(pl.col("source_row").min()).collect(engine="streaming")
    addresses = (
        good.filter(pl.col("source_row").is_in(firsts["source_row"].implode()))
        .select(*_JOIN, *_ADDRESS)
        .collect(engine="streaming")
    )
    del firsts
    # Keying runs on a second thread while the households are normalised and
    # the quarantine and the counts below are written (see _keyed_households).
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="household-keys") as pool:
        households, keying = _keyed_households(addresses, key_for, pool)
        del addresses
        keyless = households.filter(pl.col("identity").is_null()).select(_JOIN)
        no_key = good.join(keyless.lazy(), on=_JOIN, how="semi")
        if keyless.height:
            by_reason["no_household_key"] = int(no_key.select(pl.len()).collect().item())
        rejected = rows.filter(pl.col("reason").is_not_null()).select(
            "source_row",
            pl.lit(pl.Series(headers, dtype=pl.String)).gather(pl.col("reason")).alias("column"),
            pl.lit(pl.Series(codes, dtype=pl.String)).gather(pl.col("reason")).alias("reason"),
        )
        if by_reason:
            no_key_rows = no_key.select(
                "source_row",
                pl.lit(key_headers).alias("column"),
                pl.lit("no_household_key").alias("reason"),
            )
            pl.concat([rejected, no_key_rows]).sort("source_row").select(
                pl.lit(name).alias("source_file"),
                pl.lit(digest).alias("source_digest"),
                "source_row",
                "column",
                "reason",
            ).sink_parquet(tmp / "quarantine.parquet")
            (tmp / "quarantine.parquet").replace(workspace.quarantine_dir / f"{digest}.parquet")
        accepted = read - sum(by_reason.values())

        genres = good.group_by("raw_discipline").len().collect()
        disciplines = discipline_table(genres, mapping)
        unmapped = shareable(
            {
                str(v): int(n)
                for v, n in genres.join(disciplines, on="raw_discipline", nulls_equal=True)
                .filter("unmapped")
                .select("raw_discipline", "len")
                .iter_rows()
            }
        )
        keys_parts, period_keys = _period_keys(keying)
    keyed.extend(period_keys)
    del households
    for keys in sorted(keys_parts, key=lambda k: int(k["period_code"][0])):
        period = _period_label(int(keys["period_code"][0]))
        # Within one period the first 64-bit hash alone almost always tells the
        # addresses apart, and a one-column join costs a third of a three-column one.
        join_on = ["address_hash"]
        if keys["address_hash"].n_unique() != keys.height:
            join_on = ["address_hash", "address_hash2"]
        out = (
            good.filter(pl.col("period_code") == keys["period_code"][0])
            .join(keys.lazy().select(*join_on, "pc4", "household_key"), on=join_on, how="inner")
            .with_columns(
                discipline_of(disciplines, mapping),
                pl.lit(period).alias("period"),
                pl.lit(digest).alias("source_digest"),
            )
            .select([pl.col(c).cast(t) for c, t in VISIT_SCHEMA.items()])
        )
        target = workspace.visits_dir / f"period={period}"
        target.mkdir(parents=True, exist_ok=True)
        part_path = tmp / f"visits-{period}.parquet"
        # No column statistics: the visits are always read whole per period
        # (Workspace.visits), and min/max over ten million 32-byte keys and
        # strings cost about a second of CPU.
        out.sink_parquet(part_path, compression="lz4", statistics=False, engine="streaming")
        part_path.replace(target / f"{digest}.parquet")
    return read, accepted, by_reason, unmapped
