"""Box-office exports as institutions hand them to the agent, written from the
rows of a synthetic sector (:func:`demo.sector.generate_sector`).

Each writer renders one institution's rows in the shape of a kind of system
met in the field, so that what the operator runs into is what real exports
cause: a Ticketmatic-like CSV (``;``, cp1252 with a euro sign, dd-mm-yyyy),
a Tix-like one (an Excel ``sep=;`` first line, the house-number addition in a
column of its own, date and time), one with Dutch month names ("1 augustus
2026"), and a museum workbook with title rows above the header, real date
cells and no genre column. The rows are the same visits in every shape, so
the ground truth is computed from the sector's rows whatever shape carried
them.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from pathlib import Path

import polars as pl
import xlsxwriter

MONTHS_NL = (
    "januari", "februari", "maart", "april", "mei", "juni",
    "juli", "augustus", "september", "oktober", "november", "december",
)  # fmt: skip


def _day(text: str) -> date:
    """A sector row's visit date (dd-mm-yyyy)."""
    return datetime.strptime(text, "%d-%m-%Y").date()


def _number_and_addition(house: str) -> tuple[str, str]:
    """ "12-a" → ("12", "a"), read as the agent reads it: the leading digits, then
    the rest without separators, so the two columns join to the same address."""
    m = re.fullmatch(r"([0-9]*)[\s\-/]*(.*)", house.strip())
    assert m is not None
    return m[1], m[2]


def _csv(rows: list[list[str]], delimiter: str) -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def ticketmatic_csv(rows: pl.DataFrame, path: Path) -> Path:
    """``;``, cp1252, dd-mm-yyyy, prices with a euro sign and a decimal comma."""
    header = ["Bestelling", "Datum", "Evenement", "Genre", "Naam", "Postcode", "Huisnummer",
              "E-mail", "Aantal tickets", "Prijs"]  # fmt: skip
    body = [
        [r["order_id"], r["visit_date"], r["event"], r["discipline"], r["name"], r["postcode"],
         r["house_number"], r["email"], r["tickets"], f"€ {r['price']}"]
        for r in rows.iter_rows(named=True)
    ]  # fmt: skip
    path.write_bytes(_csv([header, *body], ";").encode("cp1252", errors="replace"))
    return path


def tix_csv(
    rows: pl.DataFrame, path: Path, *, changed_tickets: dict[str, int] | None = None
) -> Path:
    """Excel's ``sep=;`` first line, "Toev." apart from "Huisnr", date and time.

    ``changed_tickets``: order id → the ticket count this (older) export still
    had for that order, before a later refund or change."""
    changed = changed_tickets or {}
    header = ["Ordernummer", "Datum", "Voorstelling", "Genre", "Klantnaam", "Postcode",
              "Huisnr", "Toev.", "E-mailadres", "Aantal", "Bedrag"]  # fmt: skip
    body = []
    for r in rows.iter_rows(named=True):
        number, addition = _number_and_addition(r["house_number"])
        body.append(
            [r["order_id"], _day(r["visit_date"]).strftime("%d-%m-%Y 20:15"), r["event"],
             r["discipline"], r["name"], r["postcode"], number, addition, r["email"],
             str(changed.get(r["order_id"], r["tickets"])), r["price"]]
        )  # fmt: skip
    path.write_text("sep=;\r\n" + _csv([header, *body], ";"), encoding="utf-8")
    return path


def month_name_csv(rows: pl.DataFrame, path: Path) -> Path:
    """Comma-separated UTF-8 (with a byte-order mark), dates as "1 augustus 2026"."""
    header = ["Reservering", "Bezoekdatum", "Programma", "Soort", "Naam", "Postcode",
              "Huisnummer", "Emailadres", "Kaarten", "Prijs"]  # fmt: skip
    body = []
    for r in rows.iter_rows(named=True):
        d = _day(r["visit_date"])
        body.append(
            [r["order_id"], f"{d.day} {MONTHS_NL[d.month - 1]} {d.year}", r["event"],
             r["discipline"], r["name"], r["postcode"], r["house_number"], r["email"],
             r["tickets"], r["price"].replace(",", ".")]
        )  # fmt: skip
    path.write_text(_csv([header, *body], ","), encoding="utf-8-sig")
    return path


def museum_xlsx(rows: pl.DataFrame, path: Path, title: str) -> Path:
    """A workbook with a title and a period line above the header, date cells, and
    no genre column (a museum sells admissions, not genres)."""
    workbook = xlsxwriter.Workbook(path)
    sheet = workbook.add_worksheet("Bezoekers")
    dates = workbook.add_format({"num_format": "dd-mm-yyyy"})
    sheet.write(0, 0, title)
    sheet.write(1, 0, "Periode: 1 juli 2026 t/m 30 september 2026")
    header = ["Transactienummer", "Bezoekdatum", "Titel", "Naam", "Postcode",
              "Huisnummer", "E-mail", "Aantal", "Bedrag"]  # fmt: skip
    sheet.write_row(3, 0, header)
    for i, r in enumerate(rows.iter_rows(named=True), start=4):
        sheet.write_string(i, 0, r["order_id"])
        sheet.write_datetime(i, 1, datetime.combine(_day(r["visit_date"]), datetime.min.time()),
                             dates)  # fmt: skip
        for col, key in enumerate(("event", "name", "postcode", "house_number", "email"), 2):
            sheet.write_string(i, col, r[key])
        sheet.write_number(i, 7, int(r["tickets"]))
        sheet.write_number(i, 8, float(r["price"].replace(",", ".")))
    workbook.close()
    return path


def plain_csv(rows: pl.DataFrame, path: Path) -> Path:
    """Comma-separated UTF-8, ISO dates, decimal point: what a home-grown system writes."""
    header = ["order", "date", "title", "genre", "name", "postcode", "house_number", "email",
              "quantity", "amount"]  # fmt: skip
    body = [
        [r["order_id"], _day(r["visit_date"]).isoformat(), r["event"], r["discipline"],
         r["name"], r["postcode"], r["house_number"], r["email"], r["tickets"],
         r["price"].replace(",", ".")]
        for r in rows.iter_rows(named=True)
    ]  # fmt: skip
    path.write_text(_csv([header, *body], ","), encoding="utf-8")
    return path
