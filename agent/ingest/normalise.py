"""Vectorised normalisation rules of the household key and of the value columns.

The household-key rules are described in docs/architecture.md ("The household key").

Each function takes a string expression and returns an expression; none loops
over rows in Python. Invalid input becomes null so the ingest can reject the
row with a reason instead of guessing. The expressions are written for speed
on tens of millions of rows: literal replacements where a regex is not
needed, and one anchored regex per validity check.
"""

from __future__ import annotations

import polars as pl

from agent.ingest import datewords

# Four digits, the first 1–9, then two letters that are not SA, SD or SS.
_PC6 = r"^[1-9][0-9]{3}(?:[A-RT-Z][A-Z]|S[BCE-RT-Z])$"
_HOUSE = r"^([0-9]+)[\s\-/]*([A-Z0-9][A-Z0-9\s\-/]*)?$"
_EMAIL = r"^[^@\s]+@[^@\s]*\.[^@\s]*$"


def postcode_pc6(col: pl.Expr) -> pl.Expr:
    """ "1234 ab" → "1234AB"; anything else (including SA/SD/SS) → null."""
    pc = col.str.replace_all(r"\s", "").str.to_uppercase()
    return pl.when(pc.str.contains(_PC6)).then(pc).otherwise(None)


def postcode_pc6_of(values: pl.Series) -> pl.Series:
    """:func:`postcode_pc6` of a series, without the whitespace regex for most values.

    Removing plain spaces and uppercasing is a fifth of the cost of the regex
    ``\\s`` removal. A value whose result then passes the PC6 check held no
    other whitespace (that would have failed the check), so the full rule
    gives the same; only the values that fail go through the full rule."""
    fast = values.str.replace_all(" ", "", literal=True).str.to_uppercase()
    passed = fast.str.contains(_PC6).fill_null(value=False)
    result = fast.set(~passed, None)
    again = (~passed & values.is_not_null()).arg_true()
    if again.len():
        slow = values.gather(again).to_frame("x").select(postcode_pc6(pl.col("x"))).to_series()
        result = result.scatter(again, slow)
    return result.alias(values.name)


def house_number(col: pl.Expr) -> pl.Expr:
    """Struct {number: Int64, addition: String}: "12-a" → (12, "A"); "12/2" → (12, "2").

    The number is the leading integer; the addition is what follows, in
    uppercase with spaces, dashes and slashes removed. A number of 0 or a
    value that does not start with digits gives a null number."""
    parts = col.str.strip_chars().str.to_uppercase().str.extract_groups(_HOUSE)
    number = parts.struct.field("1").cast(pl.Int64, strict=False)
    addition = parts.struct.field("2").str.replace_all(r"[\s\-/]", "")
    number = pl.when(number > 0).then(number).otherwise(None)
    return pl.struct(number.alias("number"), addition.fill_null("").alias("addition"))


def email(col: pl.Expr) -> pl.Expr:
    """Trimmed, lower-cased address when it has one '@', a local part and a dotted domain."""
    e = col.str.strip_chars().str.to_lowercase()
    return pl.when(e.str.contains(_EMAIL)).then(e).otherwise(None)


def household_identity(pc6: pl.Expr, house: pl.Expr, mail: pl.Expr) -> pl.Expr:
    """The string that is keyed: "PC6|number|addition", else the e-mail, else null."""
    number = house.struct.field("number")
    address = pl.concat_str(
        pc6, number.cast(pl.String), house.struct.field("addition"), separator="|"
    )
    return pl.when(pc6.is_not_null() & number.is_not_null()).then(address).otherwise(mail)


def decimal_number(col: pl.Expr, decimal: str) -> pl.Expr:
    """A price such as "€ 1.234,50" (decimal ",") or "1,234.50" (decimal ".") as Float64.

    The other separator is read as a thousands separator and dropped; an
    unparseable value becomes null."""
    thousands = "." if decimal == "," else ","
    text = col.str.strip_chars(" €\t").str.replace_all(thousands, "", literal=True)
    if decimal == ",":
        text = text.str.replace(",", ".", literal=True)
    return text.cast(pl.Float64, strict=False)


def whole_number(col: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """An integer such as "2" (or " 2 ") or null.

    Spreadsheet whole numbers arrive as "2", not "2.0": the XLSX and Parquet
    readers render integral floats without a fraction."""
    return col.str.strip_chars().cast(dtype, strict=False)


def visit_date(col: pl.Expr, date_format: str) -> pl.Expr:
    """The visit date under one strptime format; a time part in the format is dropped.

    A format with a month name (``%b``/``%B``) or a leading weekday (``%a``/``%A``)
    reads Dutch and English names (:mod:`agent.ingest.datewords`): one literal
    multi-pattern replacement turns month names into numbers and, when the format
    has a weekday, weekday names into nothing (a third of the cost of a regex);
    numeric formats skip it."""
    text = col.str.strip_chars()
    if any(code in date_format for code in datewords.NAME_CODES):
        weekday = date_format.startswith(("%a", "%A"))
        text = text.str.replace_many(
            datewords.NAMES_AND_DAYS if weekday else datewords.MONTH_NAMES,
            datewords.NUMBERS_AND_BLANKS if weekday else datewords.MONTH_NUMBERS,
            ascii_case_insensitive=True,
            leftmost=True,
        )
        if weekday:
            text = text.str.strip_chars_start(" ,.")
        date_format = datewords.numeric_format(date_format)
    if "%H" in date_format:
        return text.str.strptime(pl.Datetime, date_format, strict=False).dt.date()
    return text.str.strptime(pl.Date, date_format, strict=False)
