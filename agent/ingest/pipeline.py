"""From export files to canonical visits in the workspace.

Per export: read it as strings (nothing is inferred behind the user's back),
detect what the mapping leaves out, then stream it once, group of rows by
group of rows: parse the values and set each row's reason in the polars
engine, number each row's raw address in a growing hash table
(:mod:`agent.ingest.address_index`), normalise the addresses met for the
first time, and write the group's visits with a household number. The HMACs
of the new addresses run meanwhile in a keying child process
(:mod:`agent.ingest.keying`; inline for small slices); at the end each
period's household table (number → key, PC4), the quarantine and the visits
are moved into place (ADR 0004, ADR 0009). A file whose digest (computed on
a thread beside the pass) was ingested before is skipped before anything
moves, so ingesting twice never double-counts. Rows are only
ever counted or located (row number, column, reason), never printed.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import polars as pl

from agent.file_scan import Scan, scan_bytes
from agent.ingest import dialect, normalise, readers
from agent.ingest.address_index import AddressIndex
from agent.ingest.disciplines import (
    discipline_of,
    discipline_table,
    looks_like_labels,
    shareable,
)
from agent.ingest.keying import Keying, PendingKeys
from agent.ingest.mapping import Mapping
from agent.ingest.reasons import REASONS
from agent.visits import HOUSEHOLD_SCHEMA, HOUSEHOLDS, STORED_SCHEMA, stored_name
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


def _period_label(code: int) -> str:
    return f"{code // 4}-Q{code % 4 + 1}"


@dataclass(frozen=True)
class _Plan:
    """How to read one export's string columns: mapped headers and the settled dialect."""

    columns: dict[str, str]  # canonical → header
    date_format: str
    decimal: str | None
    # Prices and genre labels are coded in the row pass (a Categorical of the
    # export's own), so that each group looks them up by code: parsing and
    # mapping run once per distinct value, and no group hashes their strings.
    prices: pl.Series = field(default_factory=lambda: _coded("prices"), compare=False)
    labels: pl.Series = field(default_factory=lambda: _coded("labels"), compare=False)


def _coded(name: str) -> pl.Series:
    """An empty column of a Categorical of its own.

    Polars drops a Categorical's values when no column of it is left, and then
    codes new values from 0 again; the plan holds this column for as long as
    the export is read, so a value keeps its code from group to group."""
    return pl.Series(name, dtype=pl.Categorical(pl.Categories.random()))


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


_FOLD = 0x9E3779B97F4A7C15  # odd, so multiplying by it is a bijection of 64-bit values


def _address_hash(seed: int) -> pl.Expr:
    """A 64-bit hash of (period, postcode, house number, e-mail).

    Each field is hashed with a seed of its own and folded in as hash_combine
    does (multiply by an odd constant, wrapping, then xor), so equal values in
    different fields, or the same values in another order, do not cancel out.
    Hashing the four as a struct row-encodes every row first: 73 against 27 ms
    per million rows for both hashes."""
    combined: pl.Expr | None = None
    for offset, name in enumerate(("period_code", *_ADDRESS)):
        hashed = pl.col(name).hash(seed + offset)
        combined = hashed if combined is None else (combined * _FOLD) ^ hashed
    assert combined is not None
    return combined


_ROW_COLUMNS = (
    "source_row", "visit_date", "period_code", *_ADDRESS, "h1", "h2",
    "order_id", "tickets", "price_text", "event", "raw_discipline", "birth_year",
)  # fmt: skip


def _row_pass(export: readers.Export, plan: _Plan) -> pl.LazyFrame:
    """Per-row work only: parse the value columns, hash the raw address, set row reasons.

    Address normalisation and discipline mapping are *not* done per row: they
    are functions of a few distinct values (households, genres), so they run
    on those distinct values and are found again by a 128-bit hash of the
    period and the raw address (two seeded 64-bit hashes; a collision among
    millions of addresses has a probability of about 10^-26)."""
    cols = plan.columns
    frame = export.frame.with_row_index("source_row", offset=FIRST_DATA_ROW).select(
        pl.col("source_row").cast(pl.Int64),
        *[pl.col(header).alias(name) for name, header in cols.items()],
    )

    def text(name: str) -> pl.Expr:
        return pl.col(name) if name in cols else pl.lit(None, pl.String)

    this_year = datetime.now(UTC).year
    tickets = normalise.whole_number(text("tickets"), pl.Int32()) if "tickets" in cols else None
    rows = frame.with_columns(
        normalise.visit_date(text("visit_date"), plan.date_format).alias("visit_date"),
        (tickets if tickets is not None else pl.lit(1, pl.Int32)).cast(pl.Int32).alias("tickets"),
        text("price").cast(plan.prices.dtype).alias("price_text"),
        normalise.whole_number(text("birth_year"), pl.Int32()).alias("birth_year"),
        text("discipline").cast(plan.labels.dtype).alias("raw_discipline"),
        *[text(n).alias(n) for n in (*_ADDRESS, "order_id", "event") if n not in cols],
        text("birth_year").is_not_null().alias("has_birth_year"),
    ).with_columns(
        (pl.col("visit_date").dt.year() * 4 + pl.col("visit_date").dt.quarter() - 1)
        .cast(pl.Int32)
        .alias("period_code"),
    )
    # The address hashes include the period: household keys are per period.
    rows = rows.with_columns(
        _address_hash(_HASH_SEEDS[0]).alias("h1"), _address_hash(_HASH_SEEDS[1]).alias("h2")
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
            # Prices are parsed per distinct value in each group (``_priced``): a box
            # office has a few hundred prices, and parsing ten million of them was a
            # sixth of this pass.
            pl.lit(value=False),
        ),
        (
            "invalid_birth_year",
            cols.get("birth_year", ""),
            pl.col("has_birth_year")
            & ~pl.col("birth_year").is_between(1900, this_year).fill_null(value=False),
        ),
    ]
    assert [c[0] for c in checks] == list(REASONS)[: len(checks)]
    assert list(REASONS).index("invalid_price") == _PRICE
    # The reason is carried as a small code (its position in REASONS), not as two
    # strings per row; the quarantine turns it back into reason and header.
    reason: pl.Expr = pl.lit(None, pl.UInt8)
    for position, (_code, _header, failed) in reversed(list(enumerate(checks))):
        reason = pl.when(failed).then(pl.lit(position, pl.UInt8)).otherwise(reason)
    return rows.select(*_ROW_COLUMNS, reason.alias("reason"))


_PRICE = 2  # position of invalid_price in REASONS


class _ByCode:
    """What each value of a coded column maps to, indexed by the value's code.

    Filled from the values each group holds, not from the Categorical's own
    list: polars reserves a code before it writes the value, and the engine
    codes rows ahead of the group being handled, so that list can hold codes
    whose value is not written yet. A group's own values are complete."""

    def __init__(self, compute: Callable[[pl.Series], pl.DataFrame]) -> None:
        self.compute = compute  # values (strings) → one row of results per value
        # "value" and the results, one row per code; no code met yet.
        self.frame = self._results(pl.Series(dtype=pl.String))
        self.known = pl.Series("known", [], dtype=pl.Boolean)

    def update(self, column: pl.Series) -> pl.DataFrame:
        """Map the values of ``column`` not met before; the map so far, by code."""
        present = column.unique().drop_nulls()
        codes = present.to_physical()
        if codes.len():
            grow = cast(int, codes.max()) + 1 - self.frame.height
            if grow > 0:
                self.frame = pl.concat([self.frame, self.frame.clear(grow)])
                self.known = pl.concat([self.known, pl.repeat(False, grow, eager=True)])
            new = ~self.known.gather(codes)
            if new.any():
                at = codes.filter(new)
                results = self._results(present.filter(new).cast(pl.String))
                self.frame = pl.DataFrame(
                    [self.frame[c].scatter(at, results[c]) for c in self.frame.columns]
                )
                self.known = self.known.scatter(at, True)
        return self.frame

    def _results(self, values: pl.Series) -> pl.DataFrame:
        return pl.concat([values.alias("value").to_frame(), self.compute(values)], how="horizontal")

    def table(self) -> pl.DataFrame:
        """Every value met, with its results."""
        return self.frame.filter(self.known)


def _price_of(decimal: str) -> Callable[[pl.Series], pl.DataFrame]:
    def compute(texts: pl.Series) -> pl.DataFrame:
        return texts.to_frame("text").select(
            normalise.decimal_number(pl.col("text"), decimal).alias("price")
        )

    return compute


def _priced(rows: pl.DataFrame, prices: pl.Series) -> pl.DataFrame:
    """Look a group's prices up by code and put the price reason in its place.

    A row whose price is given but not a price (or negative) gets
    ``invalid_price`` unless an earlier reason (date, tickets) already applies;
    it overrides the later birth-year reason, as in :func:`_row_pass`."""
    codes = rows["price_text"].to_physical()
    price = _aligned(prices.gather(codes), codes).alias("price")
    rows = rows.drop("price_text").with_columns(price)
    invalid = codes.is_not_null() & (price.is_null() | (price < 0))
    reason = pl.col("reason")
    return rows.with_columns(
        pl.when(reason < _PRICE)
        .then(reason)
        .when(invalid)
        .then(pl.lit(_PRICE, pl.UInt8))
        .otherwise(reason)
        .alias("reason")
    )


def _aligned(series: pl.Series, like: pl.Series) -> pl.Series:
    """``series`` cut into the chunks of ``like`` (slices: nothing is copied).

    A group's columns arrive in the engine's chunks, about fifty per million
    rows; a column computed over the whole group is one chunk. Selecting or
    filtering a frame whose columns are chunked differently first copies every
    column into one chunk: with the group's strings, that was a third of the
    main thread's CPU (``memmove`` in ``perf``)."""
    lengths = like.chunk_lengths()
    if series.chunk_lengths() == lengths:
        return series
    offsets = [0, *itertools.accumulate(lengths)]
    return pl.concat(
        [series.slice(start, n) for start, n in zip(offsets, lengths, strict=False)],
        rechunk=False,
    )


def _row_reasons(plan: _Plan) -> tuple[list[str], list[str]]:
    """Reason codes and the header each one names, by position (see ``_row_pass``)."""
    cols = plan.columns
    headers = [
        cols["visit_date"],
        cols.get("tickets", ""),
        cols.get("price", ""),
        cols.get("birth_year", ""),
    ]
    return list(REASONS)[: len(headers)], headers


def _households(addresses: pl.DataFrame) -> pl.DataFrame:
    """Distinct raw addresses → identity ("PC6|number|addition", else e-mail) and PC4.

    The house-number rule runs once per distinct house-number spelling (an
    export has a few thousand at most) and the e-mail rule only where the
    postcode and house number do not make an identity: the regexes are the
    costly part of keying millions of households."""
    houses = addresses.select(pl.col("house_number").unique()).with_columns(
        normalise.house_number(pl.col("house_number")).alias("house")
    )
    frame = addresses.join(
        houses, on="house_number", how="left", nulls_equal=True, maintain_order="left"
    ).with_columns(normalise.postcode_pc6_of(addresses["postcode"]).alias("pc6"))
    by_address = frame.select(
        pl.col("pc6").is_not_null() & pl.col("house").struct.field("number").is_not_null()
    ).to_series()
    by_mail = (~by_address).arg_true()
    mail = pl.repeat(None, frame.height, dtype=pl.String, eager=True).scatter(
        by_mail,
        frame["email"]
        .gather(by_mail)
        .to_frame()
        .select(normalise.email(pl.col("email")))
        .to_series(),
    )
    return frame.with_columns(mail.alias("email_norm")).select(
        "period_code",
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
    early_scans: dict[Path, Future[Scan]] | None = None,
) -> IngestReport:
    """Ingest every export; return counts only (never row content).

    Fails with :class:`UsageError` before writing anything for a file that
    cannot be used at all; a file is recorded as ingested only after its
    visits and quarantine are in place. ``early_scans``: scans of exports
    already under way (:func:`agent.file_scan.start`), used instead of
    starting them again."""
    workspace.ensure()
    # A run that was killed leaves its tmp folder (which may hold a transcoded copy
    # of an export) behind; nothing else uses tmp/, so it goes before anything new.
    shutil.rmtree(workspace.root / "tmp", ignore_errors=True)
    key_for = sector_key or workspace.sector_key
    # Created on the first ingest of a workspace that has none (docs/operations.md).
    link = workspace.link_key()
    report = IngestReport()
    keyed: list[pl.DataFrame] = []
    for path in paths:
        _ingest_one(
            path,
            mapping,
            workspace,
            key_for=key_for,
            link=link,
            report=report,
            keyed=keyed,
            early=(early_scans or {}).get(path),
        )
    report.periods = sorted(
        {_period_label(p) for frame in keyed for p in frame["period_code"].unique().to_list()}
    )
    if keyed:
        report.households = _distinct_households(pl.concat(keyed))
    return report


_PERIOD_MIX = 0x5075626C  # fixed seed: the mixed values are only compared within one run
_KEY_PARTS = ("key0", "key8")


def _key_columns(households: pl.DataFrame) -> pl.DataFrame:
    """(period, key) of one export's household table, for the report's distinct count:
    the period, and two 64-bit parts of the key (bytes 0–7 and 8–15), each mixed with
    the period so that the same key in two periods counts twice."""
    mixed = pl.col("period_code").hash(_PERIOD_MIX)
    return households.select(
        "period_code",
        *[
            (
                pl.col("household_key").bin.slice(at, 8).bin.reinterpret(dtype=pl.UInt64) ^ mixed
            ).alias(f"key{at}")
            for at in (0, 8)
        ],
    )


def _distinct_households(keys: pl.DataFrame) -> int:
    """Distinct (period, key) pairs, counted on each 64-bit part alone.

    A part never tells equal pairs apart, and takes two different pairs for one
    only when their 64 bits collide; so the larger of the two counts is exact
    unless both parts have a collision (about 10^-12 at six million keys, the
    count then one short). Counting a
    single ``UInt64`` series needs only its hash set: ``DataFrame.n_unique`` of
    (period, 128 key bits) held about 1 GB more at six million keys, the peak
    of a four-quarter ingest."""
    return max(keys.get_column(part).n_unique() for part in _KEY_PARTS)


def _size_seen(workspace: Workspace, size: int) -> bool:
    """Whether an export of this size was ingested before (or one whose size was not
    recorded, by an older agent): only then can its digest be an ingested one."""
    with workspace.connect() as db:
        return bool(
            db.execute(
                "SELECT 1 FROM ingested_files f LEFT JOIN ingested_file_sizes s USING (digest) "
                "WHERE s.size IS NULL OR s.size = ? LIMIT 1",
                (size,),
            ).fetchone()
        )


def _checked_as(early: Future[Scan], *, check_utf8: bool) -> Future[Scan]:
    """An early scan (always UTF-8 checked) as this export needs it: without the
    UTF-8 finding where the file is not read as UTF-8 (not a CSV, or another
    encoding in the mapping)."""
    if check_utf8:
        return early
    scanning: Future[Scan] = Future()

    def settle(done: Future[Scan]) -> None:
        failed = done.exception()
        if failed is None:
            scanning.set_result(done.result().without_utf8_check())
        else:
            scanning.set_exception(failed)

    early.add_done_callback(settle)
    return scanning


def _seen(workspace: Workspace, digest: str) -> bool:
    with workspace.connect() as db:
        return bool(
            db.execute("SELECT 1 FROM ingested_files WHERE digest = ?", (digest,)).fetchone()
        )


@dataclass
class _Attempt:
    """One pass over an export into a tmp folder, not yet moved into place."""

    out: _Outputs
    detected: dict[str, str]


def _attempt(
    path: Path,
    mapping: Mapping,
    scan: Scan,
    tmp: Path,
    *,
    key_for: Callable[[str], SecretBytes],
    link: SecretBytes,
) -> _Attempt:
    export = readers.open_export(path, mapping.source, scan, tmp, wanted=mapping.columns.values())
    plan = _detect(export, mapping)
    out = _Outputs(
        tmp=tmp,
        digest=scan.digest,
        name=path.name,
        key_headers="+".join(mapping.columns[n] for n in _ADDRESS if n in mapping.columns)
        or "(no postcode, house number or e-mail mapped)",
    )
    _stream(export, plan, mapping, out, key_for, link=link)
    return _Attempt(out, dict(export.detected))


def _ingest_one(
    path: Path,
    mapping: Mapping,
    workspace: Workspace,
    *,
    key_for: Callable[[str], SecretBytes],
    link: SecretBytes,
    report: IngestReport,
    keyed: list[pl.DataFrame],
    early: Future[Scan] | None,
) -> None:
    if not path.exists():
        raise UsageError(f"{path}: no such file", hint="check the export path")
    kind = readers.kind_of(path)
    wants_utf8 = mapping.source.encoding is None or dialect.canonical_encoding(
        mapping.source.encoding
    ) in ("utf-8", "utf-8-sig")
    check_utf8 = kind == "csv" and wants_utf8
    tmp_root = workspace.root / "tmp"
    tmp_root.mkdir(mode=0o700, exist_ok=True)
    tmp_root.chmod(0o700)
    # The digest (and the whole-file UTF-8 check) runs beside the pass instead of
    # before it: "ingested before?" and "was the file UTF-8 after all?" are decided
    # at the end, before anything moves into place; a file that turns out not to
    # be UTF-8 is read again with what the whole-file check found.
    size = path.stat().st_size
    scanning = None if early is None else _checked_as(early, check_utf8=check_utf8)
    if _size_seen(workspace, size):
        # Maybe the very export ingested before (a cron job re-running on an unchanged
        # file): decide that from the digest first, without a pass. Exports of a size
        # never ingested cannot have an ingested digest, so they skip this.
        if scanning is None:
            scanning = Future()
            scanning.set_result(scan_bytes(path, check_utf8=check_utf8))
        if _seen(workspace, scanning.result().digest):
            report.files_skipped.append(path.name)
            return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="digest") as digesting:
        if scanning is None:
            scanning = digesting.submit(scan_bytes, path, check_utf8=check_utf8)
        # Read as UTF-8 until the whole-file check says otherwise, unless that check
        # is already done (an export of a size seen before).
        first = scanning.result() if scanning.done() else Scan(digest="", first_bad_utf8=None)
        tmp = Path(tempfile.mkdtemp(prefix="run-", dir=tmp_root))
        try:
            failed: UsageError | None = None
            attempt: _Attempt | None = None
            try:
                attempt = _attempt(path, mapping, first, tmp, key_for=key_for, link=link)
            except UsageError as exc:  # decided below: a skipped file is no error
                failed = exc
            scan = scanning.result()
            if _seen(workspace, scan.digest):
                report.files_skipped.append(path.name)
                return
            if failed is not None and (scan.first_bad_utf8 is None or scan is first):
                raise failed
            if attempt is None or (scan is not first and scan.first_bad_utf8 is not None):
                shutil.rmtree(tmp, ignore_errors=True)
                tmp = Path(tempfile.mkdtemp(prefix="run-", dir=tmp_root))
                attempt = _attempt(path, mapping, scan, tmp, key_for=key_for, link=link)
            out = attempt.out
            out.digest = scan.digest
            report.detected[path.name] = attempt.detected
            report.source_from_mapping[path.name] = {
                k: v for k, v in asdict(mapping.source).items() if v is not None
            }
            unmapped = _finish(out, workspace)
            # Only the key columns are kept; distinct keys are counted at the end, when
            # the household table is gone (counting beside ``_finish`` on a thread, or
            # before the table is let go, held up to 250 MB more with six million keys).
            keyed.append(_key_columns(out.households))
            out.households = pl.DataFrame()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    read, by_reason = out.rows_read, out.by_reason
    accepted = read - sum(by_reason.values())
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
        db.execute("INSERT OR REPLACE INTO ingested_file_sizes VALUES (?, ?)", (scan.digest, size))


# Parts are written before the export's digest is known (it is computed beside the
# pass) and get their digest name when they move into place.
_PART = "part"
_GROUP_ROWS = 1_000_000  # rows handled at once (in the engine's chunks of ~20,000 rows)
# What the engine parses ahead while a group is handled. A whole group ahead was no
# faster within the noise and held ~400 MB more (four quarters then passed 2 GB).
_BATCH_ROWS = 100_000
# What the writer needs of a group's rows (the stored columns it does not add itself).
_WRITTEN = (
    "visit_date", "order_id", "tickets", "price", "event", "birth_year", "source_row",
    "period_code", "raw_discipline",
)  # fmt: skip


@dataclass
class _Outputs:
    """What one export's pass has produced so far, and where its files go."""

    tmp: Path
    digest: str
    name: str
    key_headers: str
    rows_read: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)
    rejected: list[pl.DataFrame] = field(default_factory=list)
    genres: list[pl.DataFrame] = field(default_factory=list)
    parts: dict[str, int] = field(default_factory=dict)
    keyless: int = 0
    households: pl.DataFrame = field(default_factory=pl.DataFrame)

    def count(self, code: str, n: int) -> None:
        if n:
            self.by_reason[code] = self.by_reason.get(code, 0) + n


class _Households:
    """The distinct raw addresses met so far in one export, each with a number.

    An address (per period) gets its number the first time a row carries it
    (see :class:`AddressIndex`) and is normalised at once, so a group's rows
    can be written as soon as the group is read: the visits store the number,
    and whether the address has an identity at all decides whether its rows
    are accepted. The HMACs run beside the pass (:class:`Keying`), one per
    distinct address per period (spelling variants of one address are keyed
    once each, to the same bytes, instead of being joined on the identity),
    and are needed only for the household tables written at the end."""

    def __init__(
        self,
        key_for: Callable[[str], SecretBytes],
        keying: Keying,
        *,
        link: SecretBytes | None = None,
        expected: int = 0,
    ) -> None:
        self.key_for = key_for
        self.keying = keying
        self.link = link  # the workspace's link key; None: no link keys (null)
        self.index = AddressIndex(expected)
        self.keyless = pl.Series("keyless", [], dtype=pl.Boolean)
        self.pc4: list[pl.Series] = []
        self.periods: list[pl.Series] = []
        self.keys: list[tuple[int, list[tuple[pl.Series, PendingKeys]]]] = []

    def numbers(self, rows: pl.DataFrame, accepted: pl.Series | None) -> pl.Series:
        """The address number of each row (null for rejected rows), adding new addresses."""
        # A group arrives in about a hundred engine batches; probing contiguous hashes
        # is a fifth faster, and making them contiguous costs about 1 ms.
        h1, h2 = rows["h1"].rechunk(), rows["h2"].rechunk()
        # Rejected rows are looked up too and their numbers dropped afterwards:
        # probing hashes without nulls is faster than skipping those rows.
        found = self.index.find(h1, h2)
        if accepted is not None:
            found = found.set(~accepted, None)
        while (
            missing := found.is_null() if accepted is None else found.is_null() & accepted
        ).any():
            # One row per new address, the first row that carries it (so numbers follow
            # the rows' order), told apart by h1 alone: a quarter of the cost of telling
            # (h1, h2) pairs apart. A row whose address shares its h1 with another new
            # address (a 64-bit collision) is still missing after this round and is
            # added, with a later number, in the next.
            at = missing.arg_true()
            first = h1.gather(at).is_first_distinct()
            start = len(self.index)
            self._add(rows.select("period_code", "h1", "h2", *_ADDRESS)[at.filter(first)])
            numbers = pl.int_range(start, len(self.index), dtype=pl.UInt32, eager=True)
            found = found.scatter(at.filter(first), numbers)
            later = at.filter(~first)  # an address met twice in this group: look it up
            if later.len():
                found = found.scatter(later, self.index.find(h1.gather(later), h2.gather(later)))
        return _aligned(found, rows["h1"])

    def _add(self, new: pl.DataFrame) -> None:
        """Number new addresses, normalise them and send their identities for keying."""
        self.index.add(new["h1"], new["h2"])
        households = _households(new)
        self.keyless = pl.concat([self.keyless, households["identity"].is_null()], rechunk=True)
        self.pc4.append(households["pc4"])
        self.periods.append(households["period_code"])
        self.keys.append(
            (
                households.height,
                [
                    (
                        part["at"],
                        self.keying.submit(
                            part["identity"],
                            self.key_for(_period_label(int(str(code)))),
                            self.link,
                        ),
                    )
                    for (code,), part in households.with_row_index("at").group_by("period_code")
                ],
            )
        )

    def table(self) -> pl.DataFrame:
        """Every address with a key: number, period code, key, link key and PC4.

        Built group by group, each group's keys released as soon as they are
        in the table, so that six million keys are held about once, not
        three times (answers, one long series, the filtered frame)."""
        frames = []
        offset = 0
        while self.keys:
            size, parts = self.keys.pop(0)
            household_key, link_key = _keys(size, parts)
            frames.append(
                pl.DataFrame(
                    {
                        "household": pl.int_range(
                            offset, offset + size, dtype=pl.UInt32, eager=True
                        ),
                        "period_code": self.periods.pop(0),
                        "household_key": household_key,
                        "link_key": link_key,
                        "pc4": self.pc4.pop(0),
                    }
                ).filter(pl.col("household_key").is_not_null())
            )
            offset += size
        if not frames:
            return pl.DataFrame(
                schema={
                    "household": pl.UInt32,
                    "period_code": pl.Int32,
                    "household_key": pl.Binary,
                    "link_key": pl.Binary,
                    "pc4": pl.String,
                }
            )
        return pl.concat(frames)


def _keys(size: int, parts: list[tuple[pl.Series, PendingKeys]]) -> tuple[pl.Series, pl.Series]:
    """The household and link keys of one group's new addresses, in their order, from
    the slices per period."""
    keys = pl.repeat(None, size, dtype=pl.Binary, eager=True).alias("household_key")
    links = keys.alias("link_key")
    for at, pending in parts:
        keys = keys.scatter(at, pending.result())
        links = links.scatter(at, pending.link_keys())
    return keys, links


def _write_group(
    rows: pl.DataFrame,
    numbers: pl.Series,
    keyless_addresses: pl.Series,
    out: _Outputs,
    disciplines: pl.Expr,
) -> None:
    """Write one group's accepted rows as visits per period (and note its keyless rows).

    Runs on the writer thread, one group at a time, while the main thread
    numbers the next group: of ``out`` it sets only ``keyless`` and ``parts``,
    which the main thread reads only at the end, and appends to ``rejected``
    (a list append is atomic; the quarantine is sorted by row at the end)."""
    keyless = _aligned(keyless_addresses.gather(numbers), numbers)
    found = keyless.not_()  # null (rejected row) stays null and is filtered out
    n_keyless = int(keyless.sum())
    if n_keyless:
        out.keyless += n_keyless
        out.rejected.append(
            rows.select("source_row")
            .filter(keyless)
            .select(
                "source_row",
                pl.lit(out.key_headers).alias("column"),
                pl.lit("no_household_key").alias("reason"),
            )
        )
    # One lazy query, so that only the stored columns are filtered and copied.
    visits = (
        rows.lazy()
        .with_columns(numbers.alias("household"), disciplines)
        .select([pl.col(c).cast(t) for c, t in STORED_SCHEMA.items()] + ["period_code"])
        .filter(found)
        .collect()
    )
    codes = visits["period_code"].unique()
    periods = (
        [(int(codes[0]), visits)]
        if codes.len() == 1
        else [(int(str(c)), part) for (c,), part in visits.group_by("period_code")]
    )
    for code, part in periods:
        period = _period_label(code)
        folder = out.tmp / "visits" / f"period={period}"
        folder.mkdir(parents=True, exist_ok=True)
        n = out.parts.get(period, 0)
        out.parts[period] = n + 1
        # No column statistics: the visits are always read whole per period. Not
        # compressed: lz4 cost a sixth of the write's CPU (0.25 CPU s for ten million
        # visits) to save 40 % of the bytes (ADR 0011).
        part.drop("period_code").write_parquet(
            folder / stored_name(_PART, n), compression="uncompressed", statistics=False
        )


def _stream(
    export: readers.Export,
    plan: _Plan,
    mapping: Mapping,
    out: _Outputs,
    key_for: Callable[[str], SecretBytes],
    *,
    link: SecretBytes | None,
) -> _Households:
    """One pass over the export: per group of rows, reasons, address numbers and visits."""
    keying = Keying()
    try:
        households = _Households(key_for, keying, link=link, expected=_expected_addresses(export))
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="visits-writer") as writer:
            _stream_groups(export, plan, mapping, out, households=households, writer=writer)
        out.households = households.table()
    except BaseException:
        keying.close(abort=True)
        raise
    keying.close()
    return households


_BYTES_PER_ADDRESS = 400  # about four visits of a hundred bytes a household, in a CSV


def _expected_addresses(export: readers.Export) -> int:
    """A rough count of an export's distinct addresses, to size the address table:
    too low costs a few re-placements, too high a few MiB (the table's start is capped)."""
    return export.path.stat().st_size // _BYTES_PER_ADDRESS if export.kind == "csv" else 0


def _groups(export: readers.Export, plan: _Plan) -> Iterator[pl.DataFrame]:
    """The row pass in groups of ``_GROUP_ROWS`` rows (the last one shorter), each in
    the engine's chunks (nothing is copied to make a group); a file that cannot be
    parsed to the end is the user's error. (Only the engine's own errors: a
    failure while a group is handled is not the file's fault and is not
    re-labelled.)"""
    try:
        pending: list[pl.DataFrame] = []
        size = 0
        batches = _row_pass(export, plan).collect_batches(chunk_size=min(_BATCH_ROWS, _GROUP_ROWS))
        for batch in batches:
            pending.append(batch)
            size += batch.height
            if size >= _GROUP_ROWS:
                yield pl.concat(pending)
                pending, size = [], 0
        if pending:
            yield pl.concat(pending)
    except pl.exceptions.PolarsError as exc:
        raise UsageError(
            f"{export.path}: cannot be read to the end ({type(exc).__name__})",
            hint="check delimiter, quoting and encoding in the mapping's [source]",
        ) from exc


def _stream_groups(
    export: readers.Export,
    plan: _Plan,
    mapping: Mapping,
    out: _Outputs,
    *,
    households: _Households,
    writer: ThreadPoolExecutor,
) -> None:
    codes, headers = _row_reasons(plan)
    prices = _ByCode(_price_of(plan.decimal or ","))
    # The genre labels met so far, by code, with their discipline.
    labels = _ByCode(
        lambda values: discipline_table(values.alias("raw_discipline").to_frame(), mapping).drop(
            "raw_discipline"
        )
    )
    table = labels.frame

    writing: list[Future[None]] = []

    def handle(rows: pl.DataFrame) -> None:
        nonlocal table
        out.rows_read += rows.height
        rows = _priced(rows, prices.update(rows["price_text"])["price"])
        ok = rows["reason"].is_null()
        accepted: pl.Series | None = ok
        bad = rows.filter(~ok)
        if bad.height:
            for (reason,), part in bad.group_by("reason"):
                out.count(codes[int(str(reason))], part.height)
            out.rejected.append(
                bad.select(
                    "source_row",
                    pl.lit(pl.Series(headers, dtype=pl.String))
                    .gather(pl.col("reason"))
                    .alias("column"),
                    pl.lit(pl.Series(codes, dtype=pl.String))
                    .gather(pl.col("reason"))
                    .alias("reason"),
                )
            )
            genre_codes = rows["raw_discipline"].to_physical().filter(ok)
        else:
            accepted = None
            genre_codes = rows["raw_discipline"].to_physical()
        out.genres.append(genre_codes.value_counts(name="len"))
        table = labels.update(rows["raw_discipline"])
        numbers = households.numbers(rows, accepted)
        writing.append(
            writer.submit(
                _write_group,
                # Only what the writer needs, so the address strings can go now.
                rows.select(*_WRITTEN),
                numbers,
                households.keyless,
                out,
                discipline_of(table, mapping),
            )
        )
        # At most one group waits to be written: memory stays at two groups.
        while len(writing) > 1:
            writing.pop(0).result()

    for group in _groups(export, plan):
        handle(group)
        del group  # not held while the next group's rows arrive
    for job in writing:
        job.result()
    out.count("no_household_key", out.keyless)
    counts = pl.concat(out.genres).group_by("raw_discipline").agg(pl.col("len").sum())
    label = table["value"].gather(counts["raw_discipline"]).alias("raw_discipline")
    out.genres = [
        counts.with_columns(label),
        labels.table().rename({"value": "raw_discipline"}),
    ]


def _finish(out: _Outputs, workspace: Workspace) -> dict[str, int]:
    """Quarantine, household tables and visits into place (replacing a killed run's)."""
    genres, table = out.genres
    unmapped = shareable(
        {
            str(v): int(n)
            for v, n in genres.join(table, on="raw_discipline", nulls_equal=True)
            .filter("unmapped")
            .select("raw_discipline", "len")
            .iter_rows()
        }
    )
    if out.rejected:
        quarantine = out.tmp / "quarantine.parquet"
        pl.concat(out.rejected).sort("source_row").select(
            pl.lit(out.name).alias("source_file"),
            pl.lit(out.digest).alias("source_digest"),
            "source_row",
            "column",
            "reason",
        ).write_parquet(quarantine)
        quarantine.replace(workspace.quarantine_dir / f"{out.digest}.parquet")
    for period in out.parts:
        written = out.tmp / "visits" / f"period={period}"
        code = int(period[:4]) * 4 + int(period[-1]) - 1
        out.households.filter(pl.col("period_code") == code).select(
            [pl.col(c).cast(t) for c, t in HOUSEHOLD_SCHEMA.items()]
        ).write_parquet(
            # Mostly random 32-byte keys: compressing them is wasted work.
            written / f"{out.digest}.households",
            compression="uncompressed",
            statistics=False,
        )
        target = workspace.visits_dir / f"period={period}"
        (target / HOUSEHOLDS).mkdir(parents=True, exist_ok=True)
        for old in [target / f"{out.digest}.parquet", *target.glob(f"{out.digest}-*.parquet")]:
            old.unlink(missing_ok=True)
        (written / f"{out.digest}.households").replace(
            target / HOUSEHOLDS / f"{out.digest}.parquet"
        )
        for n in range(out.parts[period]):
            (written / stored_name(_PART, n)).replace(target / stored_name(out.digest, n))
    return unmapped
