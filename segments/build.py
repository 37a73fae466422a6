"""``publiek segments build``: a release from the CSV files a model owner has.

Four files, UTF-8, comma-separated, decimal point, one header row
(docs/segment-model.md shows each with two rows):

* ``segments.csv``: ``id,name_nl,name_en,description_nl,description_en``, one
  row per segment, in the order the release lists them;
* ``municipalities.csv``: ``code,name,province`` (CBS code ``GM0363``, the
  province as a slug of ``protocol.segment_release.PROVINCES``);
* ``pc4.csv``: ``pc4,municipality,province,lat,lon`` and one column per
  segment id: the number of households of that segment in the PC4;
* ``pc6.csv``: ``pc6`` and one column per segment id: that segment's share
  of the PC6's households.

Published tables round their shares (to 3 or 4 decimals), so a PC6 whose
shares sum to within 1 ± :data:`ROUNDING` (but not within the format's
1 ± 1e-6) is normalised to sum to 1, and the build says how many were; a
sum further off is a wrong column or row and refused. Nothing else is
changed: every other check of the format
(``protocol.segment_tables.check_tables``) runs as it does on verification,
and the columns are written in the format's order and types.

Errors name the file and its line (reading) or the area code (checking),
never more of the data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from protocol.errors import PubliekError, UsageError
from protocol.keys import SigningKey
from protocol.segment_release import Segment, Texts, pack_release
from protocol.segment_tables import (
    MUNICIPALITY_COLUMNS,
    SHARE_TOLERANCE,
    pc4_columns,
    pc6_columns,
)

SEGMENTS_CSV = "segments.csv"
MUNICIPALITIES_CSV = "municipalities.csv"
PC4_CSV = "pc4.csv"
PC6_CSV = "pc6.csv"
SEGMENT_FIELDS = ("id", "name_nl", "name_en", "description_nl", "description_en")
ROUNDING = 0.005


@dataclass(frozen=True)
class ModelTables:
    """A model before it is signed: its segments and its three tables, with the
    format's columns (``protocol.segment_release``)."""

    segments: tuple[Segment, ...]
    municipalities: pl.DataFrame = field(repr=False)
    pc4: pl.DataFrame = field(repr=False)
    pc6: pl.DataFrame = field(repr=False)

    @property
    def segment_ids(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.segments)

    def pack(self, *, version: str, created: str, synthetic: bool, key: SigningKey) -> bytes:
        """These tables as a signed release (:func:`protocol.segment_release.pack_release`)."""
        return pack_release(
            version=version,
            created=created,
            synthetic=synthetic,
            segments=self.segments,
            municipalities=self.municipalities,
            pc4=self.pc4,
            pc6=self.pc6,
            key=key,
        )


@dataclass(frozen=True)
class BuildInputs:
    """Where the four CSV files are."""

    segments: Path
    municipalities: Path
    pc4: Path
    pc6: Path

    @classmethod
    def in_folder(cls, folder: Path) -> BuildInputs:
        """The four files by their usual names in one folder."""
        return cls(
            segments=folder / SEGMENTS_CSV,
            municipalities=folder / MUNICIPALITIES_CSV,
            pc4=folder / PC4_CSV,
            pc6=folder / PC6_CSV,
        )


@dataclass(frozen=True)
class Built:
    """A built release and what the model owner should know about it."""

    data: bytes = field(repr=False)
    tables: ModelTables
    normalised: int  # PC6 rows whose rounded shares were scaled to sum to 1


def build_release(
    inputs: BuildInputs,
    *,
    version: str,
    created: str,
    key: SigningKey,
    synthetic: bool = False,
) -> Built:
    """Read, check and sign: the release's bytes (``VERSION.segments``)."""
    tables, normalised = read_inputs(inputs)
    data = tables.pack(version=version, created=created, synthetic=synthetic, key=key)
    return Built(data=data, tables=tables, normalised=normalised)


def read_inputs(inputs: BuildInputs) -> tuple[ModelTables, int]:
    """The model in the four CSV files, and how many PC6 rows were normalised."""
    segments = _read_segments(inputs.segments)
    ids = tuple(s.id for s in segments)
    municipalities = _cast(_read(inputs.municipalities, tuple(MUNICIPALITY_COLUMNS)),
                           MUNICIPALITY_COLUMNS, inputs.municipalities)  # fmt: skip
    pc4 = _cast(_read(inputs.pc4, tuple(pc4_columns(ids))), pc4_columns(ids), inputs.pc4)
    pc6 = _cast(_read(inputs.pc6, tuple(pc6_columns(ids))), pc6_columns(ids), inputs.pc6)
    pc6, normalised = _normalise(pc6, ids, inputs.pc6)
    return ModelTables(segments, municipalities, pc4, pc6), normalised


def write_inputs(tables: ModelTables, folder: Path) -> BuildInputs:
    """The inverse of :func:`read_inputs`: a model as the four CSV files (for
    tests and the bench, and to show a model owner the files' shape)."""
    folder.mkdir(parents=True, exist_ok=True)
    inputs = BuildInputs.in_folder(folder)
    pl.DataFrame(
        [(s.id, s.name.nl, s.name.en, s.description.nl, s.description.en) for s in tables.segments],
        schema=list(SEGMENT_FIELDS),
        orient="row",
    ).write_csv(inputs.segments)
    tables.municipalities.write_csv(inputs.municipalities)
    tables.pc4.write_csv(inputs.pc4)
    tables.pc6.write_csv(inputs.pc6, float_precision=None)
    return inputs


def _read(path: Path, columns: Sequence[str]) -> pl.DataFrame:
    """A CSV file as text columns, exactly ``columns`` in any order."""
    try:
        frame = pl.read_csv(path, infer_schema=False, encoding="utf8")
    except FileNotFoundError as exc:
        raise UsageError(f"{path} does not exist", hint="give the path of the CSV file") from exc
    except (pl.exceptions.PolarsError, OSError, UnicodeError) as exc:
        raise UsageError(
            f"{path} is not a readable UTF-8 CSV file ({type(exc).__name__})",
            hint="save it as UTF-8 CSV with commas between fields and one header row",
        ) from exc
    header = [c.strip().lstrip("\ufeff") for c in frame.columns]
    frame.columns = header
    missing = [c for c in columns if c not in header]
    extra = [c for c in header if c not in columns]
    if missing or extra or len(set(header)) != len(header):
        parts = [f"lacks the columns {', '.join(missing)}"] if missing else []
        if extra:
            parts.append(f"has columns it should not: {', '.join(extra[:5])}")
        if not parts:
            parts.append("names a column twice")
        raise UsageError(
            f"{path} {' and '.join(parts)}",
            hint=f"the columns are exactly: {', '.join(columns)} (any order)",
        )
    return frame.select(columns)


def _cast(frame: pl.DataFrame, schema: dict[str, pl.DataType], path: Path) -> pl.DataFrame:
    """The text columns as the format's types; the first cell that is not one
    is named by its line and column."""
    out = {}
    for column, dtype in schema.items():
        text = frame.get_column(column).str.strip_chars()
        if dtype == pl.String():
            out[column] = text
            continue
        typed = text.cast(dtype, strict=False)
        bad = (typed.is_null() & text.is_not_null()) | text.is_null()
        if dtype.is_float():
            bad = bad | ~typed.is_finite().fill_null(value=False)
        if bad.any():
            line = int(bad.arg_true()[0]) + 2  # the header is line 1
            kind = "a whole number" if dtype.is_integer() else "a number with a decimal point"
            raise UsageError(
                f"{path} line {line}, column {column}: not {kind}",
                hint="fill every cell; write numbers without thousands separators",
            )
        out[column] = typed
    return pl.DataFrame(out)


def _normalise(pc6: pl.DataFrame, ids: Sequence[str], path: Path) -> tuple[pl.DataFrame, int]:
    total = pl.sum_horizontal(*ids)
    sums = pc6.select(total.alias("_t")).get_column("_t")
    off = (sums - 1).abs()
    rounded = (off > SHARE_TOLERANCE) & (off <= ROUNDING)
    too_far = off > ROUNDING
    if too_far.any():
        line = int(too_far.arg_true()[0]) + 2
        raise UsageError(
            f"{path} line {line}: the shares sum to {sums[line - 2]:.4f}, not 1",
            hint=f"give each segment's share of the PC6's households as a fraction (0.25, "
            f"not 25); sums within 1 ± {ROUNDING:g} are normalised as rounding",
        )
    count = int(rounded.sum())
    if count:
        scale = (total - 1).abs() > SHARE_TOLERANCE
        pc6 = pc6.with_columns(
            pl.when(scale).then(pl.col(s) / total).otherwise(pl.col(s)).alias(s) for s in ids
        )
    return pc6, count


def _read_segments(path: Path) -> tuple[Segment, ...]:
    frame = _read(path, SEGMENT_FIELDS)
    segments = []
    for line, row in enumerate(frame.iter_rows(named=True), start=2):
        if any(row[c] is None for c in SEGMENT_FIELDS):
            raise UsageError(f"{path} line {line}: a cell is empty", hint="fill every cell")
        try:
            segments.append(
                Segment(
                    id=row["id"].strip(),
                    name=Texts(nl=row["name_nl"].strip(), en=row["name_en"].strip()),
                    description=Texts(
                        nl=row["description_nl"].strip(), en=row["description_en"].strip()
                    ),
                )
            )
        except PubliekError as exc:
            raise UsageError(f"{path} line {line}: {exc.detail}", hint=exc.hint) from exc
    if not segments:
        raise UsageError(f"{path} lists no segments", hint="one row per segment")
    ids = [s.id for s in segments]
    if len(set(ids)) != len(ids):
        twice = next(i for i in ids if ids.count(i) > 1)
        raise UsageError(
            f"{path} lists segment {twice} more than once", hint="each segment id appears once"
        )
    return tuple(segments)
