"""A draft mapping file from an export's header row (``publiek agent mapping suggest``).

Institution IT should not have to learn the canonical names before the first
run: headers are matched, after lower-casing and dropping everything but
letters and digits, against the Dutch and English names that box-office
systems use. What was detected about the file goes into ``[source]``; every
canonical column and every export column that could not be placed is listed
as a comment, so the draft says what is left to decide. Only headers and the
discipline column's distinct values are read, never a visitor's data.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import tomli_w

from agent.ingest import dialect, readers
from agent.ingest.disciplines import looks_like_labels
from agent.ingest.file_scan import scan_bytes
from agent.ingest.mapping import CANONICAL_COLUMNS, SourceOptions
from protocol.errors import UsageError

SYNONYMS: dict[str, tuple[str, ...]] = {
    "order_id": (
        "bestelnummer", "ordernummer", "ordernr", "bestelnr", "order", "orderid", "ordernumber",
        "bestelling", "bestellingid", "transactie", "transactienummer", "transactionid",
        "reservering", "reserveringsnummer", "booking", "bookingid", "bookingreference",
    ),
    "line_id": (
        "regelnummer", "orderregel", "orderregelnummer", "regelid", "lineid", "orderline",
        "orderlineid", "linenumber", "ticketid", "ticketnummer", "barcode",
    ),
    "visit_date": (
        "voorstellingsdatum", "datum", "bezoekdatum", "speeldatum", "evenementdatum",
        "datumvoorstelling", "datumbezoek", "visitdate", "date", "eventdate",
        "performancedate", "showdate",
    ),
    "postcode": ("postcode", "pc", "pc6", "zip", "zipcode", "postalcode", "postcodeklant"),
    "house_number": (
        "huisnummer", "huisnr", "huisnummertoevoeging", "nummer", "nr", "number", "housenumber",
        "houseno", "housenr", "streetnumber",
    ),
    "house_number_addition": (
        "toev", "toevoeging", "huisnummertoev", "huisnrtoev", "addition", "housenumberaddition",
        "housenumbersuffix", "suffix",
    ),
    "email": (
        "email", "emailadres", "mail", "mailadres", "emailaddress", "emailklant",
    ),
    "tickets": (
        "aantalkaarten", "aantal", "aantaltickets", "kaarten", "tickets", "qty", "quantity",
        "numberoftickets", "ticketcount", "stuks",
    ),
    "price": (
        "prijs", "bedrag", "ticketprijs", "totaal", "totaalbedrag", "price", "amount", "total",
    ),
    "event": (
        "voorstelling", "evenement", "titel", "productie", "programma", "event", "title",
        "show", "performance", "eventname",
    ),
    "discipline": ("genre", "discipline", "categorie", "category", "soort", "type"),
    "birth_year": ("geboortejaar", "birthyear", "yearofbirth", "jaargeboorte"),
}  # fmt: skip

GENRES: dict[str, str] = {
    "toneel": "theater", "theater": "theater", "drama": "theater", "musical": "theater",
    "muziek": "music", "klassiek": "music", "pop": "music", "jazz": "music", "concert": "music",
    "music": "music", "wereldmuziek": "music", "dans": "dance", "dance": "dance",
    "ballet": "dance", "opera": "opera", "muziektheater": "opera", "cabaret": "cabaret",
    "comedy": "cabaret", "kleinkunst": "cabaret", "film": "film", "cinema": "film",
    "museum": "museum", "tentoonstelling": "museum", "expositie": "museum",
    "festival": "festival", "erfgoed": "heritage", "heritage": "heritage",
    "bibliotheek": "library", "library": "library", "jeugd": "youth", "familie": "youth",
    "youth": "youth", "kinderen": "youth",
}  # fmt: skip

_MAX_GENRES = 200


def _key(header: str) -> str:
    return re.sub(r"[^0-9a-z]", "", header.lower())


def place_columns(headers: list[str]) -> dict[str, str]:
    """Canonical column → export header, each header used at most once."""
    placed: dict[str, str] = {}
    used: set[str] = set()
    by_key: dict[str, str] = {}
    for header in headers:
        by_key.setdefault(_key(header), header)
    for canonical in CANONICAL_COLUMNS:
        for synonym in SYNONYMS[canonical]:
            found = by_key.get(synonym)
            if found is not None and found not in used:
                placed[canonical] = found
                used.add(found)
                break
    return placed


def _toml_string(value: str) -> str:
    """``value`` as a TOML basic string, written by the TOML writer (every escape it needs)."""
    return tomli_w.dumps({"v": value}).removeprefix("v = ").rstrip("\n")


def _date_format(export: readers.Export, column: str | None) -> str | None:
    """The date format this export's sample of visit dates supports, if it settles it
    (the draft then names the format the ingest would detect, not an example)."""
    if column is None:
        return None
    values = export.sample.get_column(column).drop_nulls().str.strip_chars().to_list()
    try:
        return dialect.date_format_from(dialect.date_evidence(values), where=column)
    except UsageError:  # no dates, or ambiguous ones: the comment says what to set
        return None


def suggest_mapping(path: Path, *, sheet: str | None = None, enrolled: str | None = None) -> str:
    """The text of a draft mapping file for one export.

    ``enrolled``: the discipline the institution enrolled with, proposed as
    ``default_discipline`` when no genre column is found (the ingest uses it
    then anyway; written out, the operator sees and can change it)."""
    with tempfile.TemporaryDirectory(prefix="publiek-suggest-") as tmp:
        kind = readers.kind_of(path)
        scan = scan_bytes(path, check_utf8=kind == "csv")
        export = readers.open_export(path, SourceOptions(sheet=sheet), scan, Path(tmp))
        if not looks_like_labels(list(export.columns)):
            # Without a header row the "headers" are a visitor's data: never echo them.
            raise UsageError(
                f"{path}: the first row ({len(export.columns)} fields) does not look like a "
                "header row",
                hint="export with the header row included, then run mapping suggest again",
            )
        placed = place_columns(export.columns)
        date_format = _date_format(export, placed.get("visit_date"))
        genres: list[str] = []
        if "discipline" in placed:
            genres = sorted(
                export.sample.get_column(placed["discipline"])
                .drop_nulls()
                .str.strip_chars()
                .unique()
                .head(_MAX_GENRES)
                .to_list()
            )
    lines = [
        f"# Draft mapping for {path.name}, written by `publiek agent mapping suggest`.",
        "# Check every line; keys left out of [source] are detected on each run.",
        "",
    ]
    if "discipline" not in placed:
        # A top-level key: it must stand before the first [table].
        lines += [
            "# No genre column found: every visit counts as this discipline.",
            f"default_discipline = {_toml_string(enrolled)}"
            if enrolled
            else '# default_discipline = "theater"   # the discipline of your institution',
            "",
        ]
    lines += ["[source]"]
    detected = export.detected
    for key in ("encoding", "delimiter", "sheet"):
        if key in detected:
            lines.append(f"{key} = {_toml_string(detected[key])}")
    lines.append('# decimal = ","            # detected from the prices when left out')
    if date_format:
        lines.append(f"date_format = {_toml_string(date_format)}   # as this export's dates read")
    else:
        lines.append(
            '# date_format = "%d-%m-%Y" # the dates of this export do not say: set it to how '
            "they are written (%d day, %m month, %b month name, %Y year)"
        )
    lines += ["", "[columns]"]
    for canonical in CANONICAL_COLUMNS:
        if canonical in placed:
            lines.append(f"{canonical} = {_toml_string(placed[canonical])}")
    missing = [c for c in CANONICAL_COLUMNS if c not in placed]
    if missing:
        lines.append("# Not found in the header (map them if the export has them):")
        lines += [f'# {c} = ""' for c in missing]
    unplaced = [h for h in export.columns if h not in placed.values()]
    if unplaced:
        lines.append("# Export columns not placed (not needed, or map one by hand):")
        lines += [f"#   {_toml_string(h)}" for h in unplaced]
    if "visit_date" not in placed:
        lines.append("# visit_date is required: map the column that holds the visit date.")
    lines += ["", "[discipline_map]"]
    if not looks_like_labels(genres):
        lines.append(
            f"# {len(genres)} values in {placed['discipline']!r} look like no genre labels"
        )
        genres = []
    for genre in genres:
        sector = GENRES.get(_key(genre))
        if sector:
            lines.append(f"{_toml_string(genre)} = {_toml_string(sector)}")
        else:
            lines.append(f'# {_toml_string(genre)} = "other"   # not recognised: choose one')
    if not genres:
        lines.append('# "Toneel" = "theater"')
    return "\n".join(lines) + "\n"


__all__ = ["GENRES", "SYNONYMS", "place_columns", "suggest_mapping"]
