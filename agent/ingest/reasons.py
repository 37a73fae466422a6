"""Reason codes for rejected rows: the stable vocabulary of the quarantine and the report.

A row gets the first reason that applies, in this order, so the counts per
reason add up to ``rows_rejected``. docs/operations.md lists the same codes.
"""

from __future__ import annotations

REASONS: dict[str, str] = {
    "repeated_header": "the row repeats the header row (exports glued together, or a page header)",
    "totals_row": "a totals row (Totaal, Subtotaal or Total where the date belongs, or no date)",
    "invalid_date": "the visit date is empty or does not match the date format",
    "invalid_tickets": "the ticket count is empty, not a whole number, or not positive",
    "invalid_price": "the price is not a number in the decimal convention, or is negative",
    "invalid_birth_year": "the birth year is not a whole number between 1900 and this year",
    "no_household_key": "neither a valid postcode with house number nor a valid e-mail address",
}

# Rows that are no visit at all but part of how the export is laid out: skipped with
# their reason, and left out of the rejected share that holds an export back (a
# short export with a header repeated per page is not a mapping mistake).
LAYOUT_REASONS = ("repeated_header", "totals_row")


def data_rows_rejected(rows_read: int, by_reason: dict[str, int]) -> tuple[int, int]:
    """(data rows read, data rows rejected): the rows the rejected-share rule weighs."""
    layout = sum(by_reason.get(code, 0) for code in LAYOUT_REASONS)
    return rows_read - layout, sum(by_reason.values()) - layout
