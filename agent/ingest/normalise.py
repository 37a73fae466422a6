"""Vectorised normalisation rules of DESIGN "Household key".

Each function takes a string expression and returns an expression; none loops
over rows in Python. Invalid input becomes null so the pipeline can reject the
row with a reason instead of guessing.
"""

from __future__ import annotations

import polars as pl

_PC6 = r"^[1-9][0-9]{3}[A-Z]{2}$"
_FORBIDDEN_LETTERS = ("SA", "SD", "SS")
_HOUSE = r"^([0-9]+)[\s\-/]*([A-Z0-9\s\-/]*)$"


def postcode_pc6(col: pl.Expr) -> pl.Expr:
    """ "1234 ab" → "1234AB"; anything else (including SA/SD/SS) → null."""
    pc = col.str.to_uppercase().str.replace_all(r"\s+", "")
    valid = pc.str.contains(_PC6) & ~pc.str.slice(4, 2).is_in(_FORBIDDEN_LETTERS)
    return pl.when(valid).then(pc).otherwise(None)


def house_number(col: pl.Expr) -> pl.Expr:
    """Struct {number: Int64, addition: String}: "12-a" → (12, "A"); "12/2" → (12, "2")."""
    text = col.str.strip_chars().str.to_uppercase()
    parts = text.str.extract_groups(_HOUSE)
    number = parts.struct.field("1").cast(pl.Int64, strict=False)
    addition = parts.struct.field("2").str.replace_all(r"[\s\-/]+", "")
    number = pl.when(number > 0).then(number).otherwise(None)
    return pl.struct(number.alias("number"), addition.fill_null("").alias("addition"))


def email(col: pl.Expr) -> pl.Expr:
    """Trimmed, lower-cased address when it has one '@', a local part and a dotted domain."""
    e = col.str.strip_chars().str.to_lowercase()
    valid = e.str.contains(r"^[^@\s]+@[^@\s]*\.[^@\s]*$") & (e.str.count_matches("@") == 1)
    return pl.when(valid).then(e).otherwise(None)


def household_identity(pc6: pl.Expr, house: pl.Expr, mail: pl.Expr) -> pl.Expr:
    """The string that is keyed: "PC6|number|addition", else the e-mail, else null."""
    number = house.struct.field("number")
    address = pl.format("{}|{}|{}", pc6, number, house.struct.field("addition"))
    return pl.when(pc6.is_not_null() & number.is_not_null()).then(address).otherwise(mail)
