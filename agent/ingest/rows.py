"""Per-row work: each row's values, its period, its raw-address hashes and its reason.

The row pass (:func:`row_pass`) is one lazy polars query over the export's
strings, run by the streaming engine; everything it does is a function of
the row alone. Prices are the one value finished per group instead
(:func:`priced`): they are parsed per distinct value, looked up by code.

A row's reason is carried as a small code, its position in
:data:`agent.ingest.reasons.REASONS`, not as two strings per row; the
quarantine turns it back into reason and header (:func:`row_reasons`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import polars as pl

from agent.ingest import normalise, readers
from agent.ingest.chunks import aligned
from agent.ingest.plan import ReadPlan
from agent.ingest.reasons import REASONS
from agent.periods import period_code

ADDRESS_FIELDS = ("postcode", "house_number", "email")
HASH_SEEDS = (0x5075626C, 0x69656B21)  # fixed seeds: the hashes only join within one run
PRICE_REASON = 4  # position of invalid_price in REASONS
# A totals row names itself ("Totaal", "Subtotaal", "Total:", "TOTALS") in its date
# cell, or in its order or event cell while its date cell is empty: where box offices
# write that word. A row with a date that does not parse stays invalid_date. Two
# label columns, not every text column: each costs about 3% of the row pass.
_TOTALS = r"(?i)^\s*(?:sub)?tota(?:al|l|ls)\b"
_LABEL_FIELDS = ("order_id", "event")

_FOLD = 0x9E3779B97F4A7C15  # odd, so multiplying by it is a bijection of 64-bit values


def address_hash(seed: int) -> pl.Expr:
    """A 64-bit hash of (period, postcode, house number, e-mail).

    Each field is hashed with a seed of its own and folded in as hash_combine
    does (multiply by an odd constant, wrapping, then xor), so equal values in
    different fields, or the same values in another order, do not cancel out.
    Hashing the four as a struct row-encodes every row first: 73 against 27 ms
    per million rows for both hashes."""
    combined: pl.Expr | None = None
    for offset, name in enumerate(("period_code", *ADDRESS_FIELDS)):
        hashed = pl.col(name).hash(seed + offset)
        combined = hashed if combined is None else (combined * _FOLD) ^ hashed
    assert combined is not None
    return combined


def totals_row(date_text: pl.Expr, labels: list[pl.Expr]) -> pl.Expr:
    """Whether a row is a totals row: its date cell says Totaal (or Total, Subtotaal),
    or its date cell is empty and one of ``labels`` says so."""
    says = date_text.str.contains(_TOTALS).fill_null(value=False)
    if not labels:
        return says
    named = pl.any_horizontal(*[t.str.contains(_TOTALS).fill_null(value=False) for t in labels])
    return says | (date_text.fill_null("").eq("") & named)


def with_addition(number: pl.Expr, addition: pl.Expr) -> pl.Expr:
    """The house number with a separate addition column joined on: ("12", "a") → "12 a".

    Tix and others export the addition ("Toev.") in a column of its own; joined
    with a space it is the spelling :func:`agent.ingest.normalise.house_number`
    already reads, so "12" + "a" and "12a" in one column key the same household.
    An empty addition leaves the number as it is."""
    extra = addition.str.strip_chars()
    return (
        pl.when(extra.is_null() | (extra == ""))
        .then(number)
        .otherwise(pl.concat_str(number, pl.lit(" "), extra))
        .alias("house_number")
    )


_ROW_COLUMNS = (
    "source_row", "visit_date", "period_code", *ADDRESS_FIELDS, "h1", "h2",
    "order_id", "line_id", "tickets", "price_text", "event", "raw_discipline", "birth_year",
)  # fmt: skip


def row_pass(export: readers.Export, plan: ReadPlan) -> pl.LazyFrame:
    """Per-row work only: parse the value columns, hash the raw address, set row reasons.

    Address normalisation and discipline mapping are *not* done per row: they
    are functions of a few distinct values (addresses, genres), so they run
    on those distinct values and are found again by a 128-bit hash of the
    period and the raw address (two seeded 64-bit hashes; a collision among
    millions of addresses has a probability of about 10^-26)."""
    cols = plan.columns
    frame = export.frame.with_row_index(
        # Rows are numbered as a spreadsheet shows them: the header's row, then 1 more.
        "source_row",
        offset=export.header_row + 1,
    ).select(
        pl.col("source_row").cast(pl.Int64),
        *[pl.col(header).alias(name) for name, header in cols.items()],
    )

    def text(name: str) -> pl.Expr:
        return pl.col(name) if name in cols else pl.lit(None, pl.String)

    if "house_number_addition" in cols and "house_number" in cols:
        frame = frame.with_columns(
            with_addition(pl.col("house_number"), pl.col("house_number_addition"))
        )

    this_year = datetime.now(UTC).year
    tickets = normalise.whole_number(text("tickets"), pl.Int32()) if "tickets" in cols else None
    date_text = text("visit_date").str.strip_chars()
    rows = frame.with_columns(
        (date_text == cols["visit_date"].strip()).fill_null(value=False).alias("is_header"),
        totals_row(date_text, [text(n) for n in cols if n in _LABEL_FIELDS]).alias("is_total"),
        normalise.visit_date(text("visit_date"), plan.date_format).alias("visit_date"),
        (tickets if tickets is not None else pl.lit(1, pl.Int32)).cast(pl.Int32).alias("tickets"),
        text("price").cast(plan.prices.dtype).alias("price_text"),
        normalise.whole_number(text("birth_year"), pl.Int32()).alias("birth_year"),
        text("discipline").cast(plan.labels.dtype).alias("raw_discipline"),
        *[
            text(n).alias(n)
            for n in (*ADDRESS_FIELDS, "order_id", "line_id", "event")
            if n not in cols
        ],
        text("birth_year").is_not_null().alias("has_birth_year"),
    ).with_columns(period_code(pl.col("visit_date")).alias("period_code"))
    # The address hashes include the period: household keys are per period.
    rows = rows.with_columns(
        address_hash(HASH_SEEDS[0]).alias("h1"), address_hash(HASH_SEEDS[1]).alias("h2")
    )
    checks: list[tuple[str, str, pl.Expr]] = [
        ("repeated_header", cols["visit_date"], pl.col("is_header")),
        (
            "totals_row",
            cols["visit_date"],
            pl.col("is_total"),
        ),
        ("invalid_date", cols["visit_date"], pl.col("visit_date").is_null()),
        (
            "invalid_tickets",
            cols.get("tickets", ""),
            pl.col("tickets").is_null() | (pl.col("tickets") <= 0),
        ),
        (
            "invalid_price",
            cols.get("price", ""),
            # Prices are parsed per distinct value in each group (``priced``): a box
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
    assert list(REASONS).index("invalid_price") == PRICE_REASON
    reason: pl.Expr = pl.lit(None, pl.UInt8)
    for position, (_code, _header, failed) in reversed(list(enumerate(checks))):
        reason = pl.when(failed).then(pl.lit(position, pl.UInt8)).otherwise(reason)
    return rows.select(*_ROW_COLUMNS, reason.alias("reason"))


def row_reasons(plan: ReadPlan) -> tuple[list[str], list[str]]:
    """Reason codes and the header each one names, by position (see :func:`row_pass`)."""
    cols = plan.columns
    headers = [
        cols["visit_date"],
        cols["visit_date"],
        cols["visit_date"],
        cols.get("tickets", ""),
        cols.get("price", ""),
        cols.get("birth_year", ""),
    ]
    return list(REASONS)[: len(headers)], headers


def price_of(decimal: str) -> Callable[[pl.Series], pl.DataFrame]:
    """Price texts → their prices (null where a text is no number), for
    :class:`agent.ingest.coded_values.ByCode`."""

    def compute(texts: pl.Series) -> pl.DataFrame:
        return texts.to_frame("text").select(
            normalise.decimal_number(pl.col("text"), decimal).alias("price")
        )

    return compute


def priced(rows: pl.DataFrame, prices: pl.Series) -> pl.DataFrame:
    """Look a group's prices up by code and put the price reason in its place.

    A row whose price is given but not a price (or negative) gets
    ``invalid_price`` unless an earlier reason (date, tickets) already applies;
    it overrides the later birth-year reason, as in :func:`row_pass`."""
    codes = rows["price_text"].to_physical()
    price = aligned(prices.gather(codes), codes).alias("price")
    rows = rows.drop("price_text").with_columns(price)
    invalid = codes.is_not_null() & (price.is_null() | (price < 0))
    reason = pl.col("reason")
    return rows.with_columns(
        pl.when(reason < PRICE_REASON)
        .then(reason)
        .when(invalid)
        .then(pl.lit(PRICE_REASON, pl.UInt8))
        .otherwise(reason)
        .alias("reason")
    )
