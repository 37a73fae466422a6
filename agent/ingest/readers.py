"""Readers: one export file (CSV, XLSX or Parquet) in, a lazy frame of strings out.

Every reader hands the ingest the same thing: a :class:`polars.LazyFrame`
whose columns are the export's headers and whose values are all strings, so
parsing rules live in one place (``normalise``) instead of three. CSV and
Parquet are scanned lazily so a ten-million-row export streams instead of
being held in memory; CSV in another encoding than UTF-8 is first transcoded
to a UTF-8 copy in the workspace's temporary folder, because polars reads
UTF-8 only. Every failure is a :class:`UsageError` naming the file and,
where there is one, the line and column — never a value.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from agent.ingest import dialect
from agent.ingest.file_scan import CHUNK, Scan, open_export_file
from agent.ingest.mapping import SourceOptions
from protocol.errors import UsageError

SAMPLE_BYTES = 1 << 20
TITLE_ROWS = 30  # how far down a sheet the header row is looked for
_SEP_LINE = re.compile(r"\Asep=(?P<sep>[^\r\n])[ \t]*\r?\n", re.IGNORECASE)
SAMPLE_ROWS = 50_000
_UTF8 = ("utf-8", "utf-8-sig")


@dataclass
class Export:
    """An opened export: its rows as strings, its headers and what was detected."""

    path: Path
    kind: str
    frame: pl.LazyFrame
    columns: list[str]
    sample: pl.DataFrame
    detected: dict[str, str] = field(default_factory=dict)
    # The file's line or sheet row (1-based) that holds the header: 1 unless a
    # ``sep=`` line or a workbook's title rows come first. Rows are numbered
    # from it, so the quarantine names the row a spreadsheet shows.
    header_row: int = 1


def kind_of(path: Path) -> str:
    """ "csv", "xlsx" or "parquet", from the file's first bytes (its name can lie)."""
    with open_export_file(path) as fh:
        magic = fh.read(8)
    if magic.startswith(b"PAR1"):
        return "parquet"
    if magic.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        return "xlsx"
    return "csv"


def open_export(
    path: Path,
    source: SourceOptions,
    scan: Scan,
    tmp: Path,
    wanted: Collection[str] = (),
) -> Export:
    """Open one export with the mapping's [source] options, detecting what they leave out.

    ``wanted`` are the headers the mapping needs; a workbook without a
    ``sheet`` in the mapping is read from the first sheet that has them all."""
    if path.stat().st_size == 0:
        raise UsageError(f"{path}: the file is empty", hint="export again from the box office")
    kind = kind_of(path)
    if kind == "parquet":
        return _open_parquet(path)
    if kind == "xlsx":
        return _open_xlsx(path, source, wanted)
    return _open_csv(path, source, scan, tmp)


def _require_rows(path: Path, sample: pl.DataFrame, where: str = "") -> None:
    if sample.height == 0:
        raise UsageError(
            f"{path}{where}: the file has a header but no rows",
            hint="export again with the visits included",
        )


def _as_strings(frame: pl.LazyFrame, schema: pl.Schema) -> pl.LazyFrame:
    """Typed columns to strings; dates as ISO so the date detection reads them exactly."""
    exprs = []
    for name, dtype in schema.items():
        col = pl.col(name)
        if dtype == pl.Date or isinstance(dtype, pl.Datetime):
            exprs.append(col.dt.strftime("%Y-%m-%d").alias(name))
        elif dtype.is_float():
            whole = col == col.floor()
            exprs.append(
                pl.when(whole)
                .then(col.cast(pl.Int64, strict=False).cast(pl.String))
                .otherwise(col.cast(pl.String))
                .alias(name)
            )
        else:
            exprs.append(col.cast(pl.String).alias(name))
    return frame.select(exprs)


def _open_parquet(path: Path) -> Export:
    try:
        lazy = pl.scan_parquet(path)
        schema = lazy.collect_schema()
        sample = lazy.head(SAMPLE_ROWS).collect()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise UsageError(
            f"{path}: cannot be read as Parquet ({type(exc).__name__})",
            hint="check that the export finished writing and is not damaged",
        ) from exc
    _require_rows(path, sample)
    frame = _as_strings(lazy, schema)
    return Export(
        path,
        "parquet",
        frame,
        list(schema.names()),
        _as_strings(sample.lazy(), schema).collect(),
        {"format": "parquet"},
    )


def _open_xlsx(path: Path, source: SourceOptions, wanted: Collection[str]) -> Export:
    import fastexcel

    try:
        workbook = fastexcel.read_excel(path)
        sheets = list(workbook.sheet_names)
        sheet = source.sheet or sheets[0]
        if source.sheet is None and len(sheets) > 1:
            sheet = _sheet_with(workbook, sheets, wanted) or sheet
        if source.sheet is not None and source.sheet not in sheets:
            raise UsageError(
                f"{path}: no sheet named {source.sheet!r}",
                hint=f"the workbook has: {', '.join(repr(s) for s in sheets)}",
            )
        header_row = _header_row(workbook, sheet, wanted)[0]
    except UsageError:
        raise
    except Exception as exc:  # fastexcel raises its own untyped errors
        raise UsageError(
            f"{path}: cannot be read as a spreadsheet ({type(exc).__name__})",
            hint="save it again as .xlsx, or export as CSV",
        ) from exc
    try:
        frame = pl.read_excel(
            path,
            sheet_name=sheet,
            engine="calamine",
            infer_schema_length=0,
            read_options={"header_row": header_row},
        )
    except Exception as exc:  # calamine surfaces sheet errors as plain exceptions
        raise UsageError(
            f"{path}: sheet {sheet!r} cannot be read ({type(exc).__name__})",
            hint="check that the sheet starts with a header row",
        ) from exc
    _require_rows(path, frame, f", sheet {sheet!r}")
    frame = frame.select(pl.all().cast(pl.String))
    detected = {"format": "xlsx", "sheet": sheet}
    if header_row:
        detected["header_row"] = str(header_row + 1)
    return Export(
        path,
        "xlsx",
        frame.lazy(),
        frame.columns,
        frame.head(SAMPLE_ROWS),
        detected,
        header_row=header_row + 1,
    )


def _header_row(workbook: Any, sheet: str, wanted: Collection[str]) -> tuple[int, int]:
    """The sheet's header row (0-based) among its first rows, and how many wanted headers
    it holds.

    Workbooks saved by people often carry a title, a date or a blank line above
    the header. The header is the first row that holds every wanted header, or
    else the one holding the most; without wanted headers (``mapping suggest``)
    the first row with the most filled cells. Only the first rows are read."""
    rows = workbook.load_sheet(sheet, header_row=None, n_rows=TITLE_ROWS).to_polars()
    best = (0, -1)
    for index, row in enumerate(rows.select(pl.all().cast(pl.String)).iter_rows()):
        cells = {c.strip() for c in row if c is not None and c.strip()}
        found = len(set(wanted) & cells) if wanted else len(cells)
        if wanted and found == len(set(wanted)):
            return index, found
        if found > best[1]:
            best = (index, found)
    return best if best[1] > 0 else (0, 0)


def _sheet_with(workbook: Any, sheets: list[str], wanted: Collection[str]) -> str | None:
    """The first sheet that holds every wanted header in one of its first rows (or most,
    for a draft)."""
    best: tuple[int, str] | None = None
    for name in sheets:
        found = _header_row(workbook, name, wanted)[1]
        if wanted and found == len(set(wanted)):
            return name
        if best is None or found > best[0]:
            best = (found, name)
    return best[1] if best and best[0] else None


def _open_csv(path: Path, source: SourceOptions, scan: Scan, tmp: Path) -> Export:
    detected = {"format": "csv"}
    with open_export_file(path) as fh:
        head = fh.read(SAMPLE_BYTES)
    if source.encoding:
        encoding = dialect.canonical_encoding(source.encoding)
    else:
        encoding = dialect.detect_encoding(head)
        if encoding in _UTF8 and scan.first_bad_utf8 is not None:
            window = _window(path, scan.first_bad_utf8)
            encoding = dialect.detect_encoding(window)
            if encoding in _UTF8:
                encoding = "cp1252"
        detected["encoding"] = encoding
    if encoding in _UTF8 or encoding == "ascii":
        if scan.first_bad_utf8 is not None:
            raise _undecodable(path, scan.first_bad_utf8, "utf-8", source.delimiter)
        readable = path
    else:
        readable = _transcode(path, encoding, tmp, source.delimiter)
    with readable.open("rb") as fh:
        text = codecs.getincrementaldecoder("utf-8-sig")(errors="replace").decode(
            fh.read(SAMPLE_BYTES)
        )
    # Excel writes "sep=;" as the first line of a CSV it should split on ";".
    declared = _SEP_LINE.match(text)
    skip = 0
    if declared:
        skip = 1
        text = text[declared.end() :]
    if source.delimiter:
        delimiter = "\t" if source.delimiter.lower() in ("tab", "\\t") else source.delimiter
    elif declared:
        delimiter = declared["sep"]
        detected["delimiter"] = delimiter
    else:
        delimiter = dialect.detect_delimiter(text)
        detected["delimiter"] = delimiter
    header = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
    if not any(h.strip() for h in header):
        raise UsageError(f"{path}: line 1 has no header", hint="the first line must name columns")

    def scan_csv(n_rows: int | None = None) -> pl.LazyFrame:
        return pl.scan_csv(
            readable,
            separator=delimiter,
            infer_schema=False,
            encoding="utf8",
            n_rows=n_rows,
            skip_lines=skip,
            truncate_ragged_lines=True,
            with_column_names=_strip_names,
        )

    try:
        sample = scan_csv(SAMPLE_ROWS).collect()
    except pl.exceptions.PolarsError as exc:
        raise _structure_error(path, exc) from exc
    _require_rows(path, sample)
    return Export(path, "csv", scan_csv(), sample.columns, sample, detected, header_row=1 + skip)


def _strip_names(names: list[str]) -> list[str]:
    return [n.lstrip("\ufeff").strip() for n in names]


def _structure_error(path: Path, exc: Exception) -> UsageError:
    """A polars parse failure without its message, which may quote row content."""
    return UsageError(
        f"{path}: cannot be parsed as CSV ({type(exc).__name__})",
        hint="check delimiter and quoting (an unclosed quote swallows the rest of the file)",
    )


def _window(path: Path, offset: int) -> bytes:
    with open_export_file(path) as fh:
        fh.seek(max(offset - SAMPLE_BYTES // 2, 0))
        return fh.read(SAMPLE_BYTES)


def _transcode(path: Path, encoding: str, tmp: Path, delimiter: str | None) -> Path:
    """A UTF-8 copy of the file in the workspace's temporary folder, or a usage error."""
    tmp.mkdir(parents=True, exist_ok=True)
    target = tmp / "export.utf8.csv"
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    with open_export_file(path) as src, target.open("wb") as dst:
        while chunk := src.read(CHUNK):
            try:
                dst.write(decoder.decode(chunk).encode("utf-8"))
            except UnicodeDecodeError as exc:
                raise _undecodable(path, offset + max(exc.start, 0), encoding, delimiter) from exc
            offset += len(chunk)
        try:
            dst.write(decoder.decode(b"", final=True).encode("utf-8"))
        except UnicodeDecodeError as exc:
            raise _undecodable(path, max(offset - 1, 0), encoding, delimiter) from exc
    return target


def _undecodable(path: Path, offset: int, encoding: str, delimiter: str | None) -> UsageError:
    line, column = locate(path, offset, delimiter)
    return UsageError(
        f"{path}: line {line}, column {column}: bytes that are not valid {encoding}",
        hint="set encoding in the mapping's [source] (for example cp1252) or re-export as UTF-8",
    )


def locate(path: Path, offset: int, delimiter: str | None) -> tuple[int, str]:
    """Line number and column (header name or position) of a byte offset.

    Counts newlines and delimiters before the offset; a quoted field with a
    newline or delimiter inside can shift the count, which is why the column
    is named as well as numbered."""
    line_no, line_start = 1, 0
    with open_export_file(path) as fh:
        position = 0
        while position < offset:
            chunk = fh.read(min(CHUNK, offset - position))
            if not chunk:
                break
            count = chunk.count(b"\n")
            if count:
                line_no += count
                line_start = position + chunk.rfind(b"\n") + 1
            position += len(chunk)
        fh.seek(0)
        header = fh.readline().decode("utf-8", errors="replace")
        if _SEP_LINE.match(header.lstrip("\ufeff")):
            header = fh.readline().decode("utf-8", errors="replace")
        fh.seek(line_start)
        prefix = fh.read(offset - line_start)
    sep = delimiter or max(dialect.DELIMITERS, key=header.count)
    index = prefix.count(sep.encode("ascii", errors="replace"))
    names = next(csv.reader(io.StringIO(header), delimiter=sep), [])
    name = names[index].lstrip("\ufeff").strip() if index < len(names) else ""
    return line_no, f"{index + 1} ({name!r})" if name else str(index + 1)


def sheet_names(path: Path) -> list[str]:
    """The sheets of a workbook, for messages and for ``mapping suggest``."""
    import fastexcel

    return list(fastexcel.read_excel(path).sheet_names)
