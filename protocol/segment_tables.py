"""The three tables of a segment model release, and the checks they pass.

``municipalities`` (code, name, province), ``pc4`` (the area, its
municipality, province and centroid, and its households per segment: the
population) and ``pc6`` (each PC6's share of households per segment). The
columns and their types are fixed (:data:`MUNICIPALITY_COLUMNS`,
:func:`pc4_columns`, :func:`pc6_columns`); the segment columns are named by
the segment ids, in the release's order.

:func:`check_tables` runs when a release is built (on the model owner's
input) and again when it is verified (on the signed tables), with the caller's
error class: one definition of a consistent model. Areas are named in errors
by their codes, public area codes that describe no household.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import polars as pl

from protocol.errors import PubliekError

# The provinces, as slugs: the release design's key set of the province
# dimension (``dp.release_design.PROVINCES``; tests/segments keeps them equal).
PROVINCES: tuple[str, ...] = (
    "groningen", "friesland", "drenthe", "overijssel", "flevoland", "gelderland",
    "utrecht", "noord-holland", "zuid-holland", "zeeland", "noord-brabant", "limburg",
)  # fmt: skip
# A box around the Netherlands (with its coastal waters): a centroid outside it
# is a swapped latitude and longitude or a projected (RD) coordinate.
LAT_RANGE = (50.6, 53.7)
LON_RANGE = (3.2, 7.3)
PC6_CODE = r"[1-9][0-9]{3}[A-Z]{2}"
PC6_NEVER = ("SA", "SD", "SS")  # letter pairs never issued
MUNICIPALITY_CODE = r"GM[0-9]{4}"
MAX_NAME_CHARS = 80
SHARE_TOLERANCE = 1e-6
# A real model has about 4,100 PC4 areas (of 9,000 possible codes), 470,000
# PC6 codes and 350 municipalities; the limits leave room and no more.
MAX_ROWS = {"municipalities": 1_000, "pc4": 9_000, "pc6": 600_000}

# Column names of the tables besides the segment columns; a segment id may not
# be one of them, nor the label of households without a segment.
KEY_COLUMNS = ("pc4", "pc6", "municipality", "province", "lat", "lon", "code", "name")
RESERVED_IDS = frozenset({*KEY_COLUMNS, "unknown"})
MUNICIPALITY_COLUMNS: dict[str, pl.DataType] = {
    "code": pl.String(),
    "name": pl.String(),
    "province": pl.String(),
}


def pc4_columns(segments: Sequence[str]) -> dict[str, pl.DataType]:
    """pc4: the area, where it lies, and its households per segment."""
    return {
        "pc4": pl.Int32(),
        "municipality": pl.String(),
        "province": pl.String(),
        "lat": pl.Float64(),
        "lon": pl.Float64(),
        **{segment: pl.Int64() for segment in segments},
    }


def pc6_columns(segments: Sequence[str]) -> dict[str, pl.DataType]:
    """pc6: each PC6's share of households per segment."""
    return {"pc6": pl.String(), **{segment: pl.Float64() for segment in segments}}


Fail = Callable[[str, str], PubliekError]


def check_tables(
    segments: Sequence[str],
    municipalities: pl.DataFrame,
    pc4: pl.DataFrame,
    pc6: pl.DataFrame,
    *,
    fail: Fail,
) -> None:
    """Raise ``fail(what, hint)`` unless the tables are a consistent model.

    Areas are named by their codes (public area codes, never a household):
    the first offending one and how many there are, so that a model owner can
    find the row whatever file it came from."""
    _check_schema("municipalities", municipalities, MUNICIPALITY_COLUMNS, fail)
    _check_schema("pc4", pc4, pc4_columns(segments), fail)
    _check_schema("pc6", pc6, pc6_columns(segments), fail)
    for name, frame in (("municipalities", municipalities), ("pc4", pc4), ("pc6", pc6)):
        if frame.height == 0 and name != "pc6":
            raise fail(f"the {name} table is empty", "a model covers the whole country")
        if frame.height > MAX_ROWS[name]:
            raise fail(
                f"the {name} table has {frame.height:,} rows, more than {MAX_ROWS[name]:,}",
                "each row is one area; check for repeated rows",
            )
    _check_municipalities(municipalities, fail)
    _check_pc4(segments, municipalities, pc4, fail)
    _check_pc6(segments, pc4, pc6, fail)


def _check_schema(
    name: str, frame: pl.DataFrame, expected: Mapping[str, pl.DataType], fail: Fail
) -> None:
    if list(frame.columns) != list(expected):
        raise fail(
            f"the {name} table's columns are not the expected ones in their order",
            f"the columns are: {', '.join(expected)}",
        )
    for column, dtype in expected.items():
        if frame.schema[column] != dtype:
            raise fail(
                f"the {name} table's column {column} is {frame.schema[column]}, not {dtype}",
                "write the table with the types docs/segment-model.md gives",
            )
    nulls = [c for c in frame.columns if frame[c].null_count()]
    if nulls:
        raise fail(f"the {name} table has empty cells in column {nulls[0]}", "fill every cell")


def _first(frame: pl.DataFrame, bad: pl.Expr, code: str) -> tuple[int, str] | None:
    """How many rows ``bad`` holds for, and the code of the first of them."""
    hits = frame.filter(bad).get_column(code)
    return (hits.len(), str(hits[0])) if hits.len() else None


def _require(found: tuple[int, str] | None, what: str, hint: str, fail: Fail) -> None:
    if found is not None:
        count, first = found
        many = f"{count:,} rows" if count > 1 else "1 row"
        raise fail(f"{what}: {many} (the first: {first})", hint)


def _is_text(column: str, max_chars: int) -> pl.Expr:
    length = pl.col(column).str.len_chars()
    return (
        length.is_between(1, max_chars)
        & ~pl.col(column).str.contains(r"[\x00-\x1f\x7f-\x9f]")
        & (pl.col(column) == pl.col(column).str.strip_chars())
    )


def _check_municipalities(frame: pl.DataFrame, fail: Fail) -> None:
    _require(
        _first(frame, ~pl.col("code").str.contains(rf"^{MUNICIPALITY_CODE}$"), "code"),
        "municipalities: a code is not GM followed by four digits",
        "use the CBS municipality code, e.g. GM0363",
        fail,
    )
    _require(
        _first(frame, pl.col("code").is_duplicated(), "code"),
        "municipalities: a code appears more than once",
        "list each municipality once",
        fail,
    )
    _require(
        _first(frame, ~_is_text("name", MAX_NAME_CHARS), "code"),
        f"municipalities: a name is empty, longer than {MAX_NAME_CHARS} characters, "
        "padded with spaces or holds a control character",
        "give each municipality its name as written",
        fail,
    )
    _require(
        _first(frame, ~pl.col("province").is_in(PROVINCES), "code"),
        "municipalities: a province is not one of the twelve",
        f"use one of: {', '.join(PROVINCES)}",
        fail,
    )


def _check_pc4(
    segments: Sequence[str], municipalities: pl.DataFrame, pc4: pl.DataFrame, fail: Fail
) -> None:
    _require(
        _first(pc4, ~pl.col("pc4").is_between(1000, 9999), "pc4"),
        "pc4: a PC4 is not a number from 1000 to 9999",
        "give the four digits of the postcode area",
        fail,
    )
    _require(
        _first(pc4, pl.col("pc4").is_duplicated(), "pc4"),
        "pc4: a PC4 appears more than once",
        "list each PC4 once, with its households per segment",
        fail,
    )
    _require(
        _first(pc4, ~pl.col("province").is_in(PROVINCES), "pc4"),
        "pc4: a province is not one of the twelve",
        f"use one of: {', '.join(PROVINCES)}",
        fail,
    )
    home = pc4.join(
        municipalities.select(pl.col("code").alias("municipality"), pl.col("province").alias("_p")),
        on="municipality",
        how="left",
    )
    _require(
        _first(home, pl.col("_p").is_null(), "pc4"),
        "pc4: a PC4's municipality is not in the municipalities table",
        "add the municipality, or correct the PC4's municipality code",
        fail,
    )
    _require(
        _first(home, pl.col("_p") != pl.col("province"), "pc4"),
        "pc4: a PC4's province is not its municipality's",
        "give a PC4 the province of the municipality that holds most of it",
        fail,
    )
    inside = pl.col("lat").is_between(*LAT_RANGE) & pl.col("lon").is_between(*LON_RANGE)
    _require(
        _first(pc4, ~inside, "pc4"),
        f"pc4: a centroid lies outside the Netherlands (latitude {LAT_RANGE[0]}–{LAT_RANGE[1]}, "
        f"longitude {LON_RANGE[0]}–{LON_RANGE[1]})",
        "give WGS 84 degrees (latitude about 52, longitude about 5), not RD coordinates",
        fail,
    )
    negative = pl.any_horizontal(pl.col(s) < 0 for s in segments)
    _require(
        _first(pc4, negative, "pc4"),
        "pc4: a number of households is negative",
        "give households per segment as whole numbers of 0 or more",
        fail,
    )


def _check_pc6(segments: Sequence[str], pc4: pl.DataFrame, pc6: pl.DataFrame, fail: Fail) -> None:
    _require(
        _first(
            pc6,
            ~pl.col("pc6").str.contains(rf"^{PC6_CODE}$")
            | pl.col("pc6").str.slice(4).is_in(PC6_NEVER),
            "pc6",
        ),
        "pc6: a PC6 is not four digits and two capital letters (not SA, SD or SS)",
        "write PC6 codes without a space, e.g. 1234AB",
        fail,
    )
    _require(
        _first(pc6, pl.col("pc6").is_duplicated(), "pc6"),
        "pc6: a PC6 appears more than once",
        "list each PC6 once",
        fail,
    )
    bad_share = pl.any_horizontal(
        ~pl.col(s).is_finite() | (pl.col(s) < 0) | (pl.col(s) > 1) for s in segments
    )
    _require(
        _first(pc6, bad_share, "pc6"),
        "pc6: a share is not a number from 0 to 1",
        "give each segment's share of the PC6's households as a fraction",
        fail,
    )
    total = pl.sum_horizontal(*segments)
    _require(
        _first(pc6, (total - 1).abs() > SHARE_TOLERANCE, "pc6"),
        f"pc6: a PC6's shares do not sum to 1 ± {SHARE_TOLERANCE:g}",
        "the shares of one PC6 are fractions of its households and add up to 1",
        fail,
    )
    area = pc6.select("pc6", pl.col("pc6").str.slice(0, 4).cast(pl.Int32).alias("pc4"))
    orphans = area.join(pc4.select("pc4"), on="pc4", how="anti")
    _require(
        _first(orphans, pl.lit(value=True), "pc6"),
        "pc6: a PC6 lies in a PC4 the pc4 table does not have",
        "add the PC4 (with its households), or leave the PC6 out",
        fail,
    )


def pc4_shares(segments: Sequence[str], pc4: pl.DataFrame) -> pl.DataFrame:
    """The fallback for a household with a PC4 and no (known) PC6: the share of
    each segment among the PC4's households (columns ``pc4``, ``segment``,
    ``share``, ``households``, segments in release order). A PC4 without any
    households has no shares: its households fall in ``unknown``."""
    order = pl.Enum(list(segments))
    long = pc4.unpivot(
        index="pc4", on=list(segments), variable_name="segment", value_name="households"
    ).with_columns(pl.col("segment").cast(order))
    total = pl.col("households").sum().over("pc4")
    return (
        long.filter(total > 0)
        .with_columns((pl.col("households") / total).alias("share"))
        .sort("pc4", "segment")
        .select("pc4", pl.col("segment").cast(pl.String), "share", "households")
    )
