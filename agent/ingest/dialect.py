"""Detection of how an export is written: encoding, delimiter, decimal separator, date format.

Only what the mapping's ``[source]`` leaves out is detected, and every
detected value is reported, so an operator can copy it into the mapping once
it is right. Detection looks at a sample from the start of the file; a guess
that could silently change the data is never made: dates whose day and month
can both be read either way are an error asking for ``date_format``.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from charset_normalizer import from_bytes

from agent.ingest import datewords
from protocol.errors import UsageError

DELIMITERS = (";", ",", "\t", "|")

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Single-byte encodings a Dutch Windows export can come in (UTF-16 is recognised
# by its BOM). charset-normalizer chooses among these and UTF-8 so it cannot
# wander off to an unrelated code page on a short, mostly-ASCII sample.
_CANDIDATES = ["utf_8", "cp1252", "iso8859_15", "latin_1"]
_DATE = re.compile(
    r"^\s*(?P<a>\d{1,4})(?P<sep>[-/.])(?P<b>\d{1,2})(?P=sep)(?P<c>\d{1,4})"
    r"(?P<time>[ T]\d{1,2}:\d{2}(?P<sec>:\d{2})?)?\s*$"
)
# Dates with a month name: "1 augustus 2026", "za 12 okt 2026 20:15", "1-aug-2026"
# (day first) and "Aug 1, 2026" (month first), optionally after a weekday.
_WEEKDAY = r"(?P<weekday>" + datewords.LEADING_WEEKDAY.removeprefix("(?i)^\\s*") + ")?"
_NAMED_TIME = r"(?P<time>[ T]\d{1,2}:\d{2}(?P<sec>:\d{2})?)?\s*$"
_NAMED_DAY_FIRST = re.compile(
    r"^\s*" + _WEEKDAY + r"\d{1,2}(?P<sep>[ \-/])" + datewords.MONTH + r"(?P=sep)\d{4}"
    + _NAMED_TIME,
    re.IGNORECASE,
)  # fmt: skip
_NAMED_MONTH_FIRST = re.compile(
    r"^\s*" + _WEEKDAY + datewords.MONTH + r"\s+\d{1,2}(?P<comma>,?)\s+\d{4}" + _NAMED_TIME,
    re.IGNORECASE,
)  # fmt: skip


def canonical_encoding(name: str) -> str:
    """The Python codec name for an encoding label, or a usage error if unknown."""
    try:
        return codecs.lookup(name).name
    except LookupError as exc:
        raise UsageError(
            f"unknown encoding {name!r} in the mapping's [source]",
            hint="use a name such as utf-8, cp1252 or latin-1",
        ) from exc


def detect_encoding(sample: bytes) -> str:
    """BOM first, then strict UTF-8, then charset-normalizer's best guess among Western codecs."""
    for bom, name in _BOMS:
        if sample.startswith(bom):
            return name
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is still UTF-8.
        if exc.start < len(sample) - 3:
            best = from_bytes(sample, cp_isolation=_CANDIDATES).best()
            if best is None:
                return "cp1252"
            name = codecs.lookup(best.encoding).name
            # latin-1 and iso8859-15 read the same letters as cp1252 except in
            # 0x80–0x9F, where cp1252 has € and quotes that Windows exports use.
            return "cp1252" if name in ("latin-1", "iso8859-15") else name
    return "utf-8"


def detect_delimiter(text: str) -> str:
    """The delimiter that splits the sample's records into the most consistent columns.

    Each candidate parses the sample with the csv module (so quoted fields
    with delimiters or newlines count correctly); the last record is dropped
    as it may be cut off. Score: records with the header's field count, then
    the number of fields."""
    best: tuple[float, int, str] | None = None
    for delimiter in DELIMITERS:
        rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
        if len(rows) > 2:
            rows = rows[:-1]
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        consistent = sum(len(r) == width for r in rows) / len(rows)
        score = (consistent, width, delimiter)
        if best is None or score[:2] > best[:2]:
            best = score
    if best is None:
        raise UsageError(
            "cannot detect the delimiter: the header has one column for ; , tab and |",
            hint='set delimiter in the mapping\'s [source], e.g. delimiter = ";"',
        )
    return best[2]


def detect_decimal(values: Sequence[str]) -> str | None:
    """ "," or "." from price-like values, or None when no value has a fractional part.

    "12,50" and "1.234,50" say decimal comma; "12.50" and "1,234.50" say
    decimal point; a value with one separator and three digits after it
    ("1.234") could be either and does not vote."""
    votes: Counter[str] = Counter()
    for raw in values:
        v = raw.strip().lstrip("€").strip()
        if re.fullmatch(r"-?\d{1,3}(\.\d{3})+,\d+|-?\d+,\d{1,2}|-?\d+,\d{4,}", v):
            votes[","] += 1
        elif re.fullmatch(r"-?\d{1,3}(,\d{3})+\.\d+|-?\d+\.\d{1,2}|-?\d+\.\d{4,}", v):
            votes["."] += 1
    if not votes:
        return None
    return votes.most_common(1)[0][0]


@dataclass(frozen=True)
class DateEvidence:
    """What the date values say about their format, as counts only.

    ``day_first`` counts values whose first field is above 12 and second is
    not (only day-month reads them), ``month_first`` the reverse."""

    pattern: str  # "ymd", "xyz" (day and month first, in some order) or "none"
    separator: str
    day_first: int
    month_first: int
    time: str  # "", " %H:%M", "T%H:%M:%S", ...
    year_digits: int
    named: str = ""  # pattern "named": the format of dates with a month name


def named_format(raw: str) -> str | None:
    """The format of a date written with a month name ("%d %b %Y", "%b %d, %Y"), or None."""
    if m := _NAMED_DAY_FIRST.match(raw):
        body = f"%d{m['sep']}%b{m['sep']}%Y"
    elif m := _NAMED_MONTH_FIRST.match(raw):
        body = f"%b %d{m['comma']} %Y"
    else:
        return None
    time = ""
    if m["time"]:
        time = m["time"][0] + ("%H:%M:%S" if m["sec"] else "%H:%M")
    return ("%a " if m["weekday"] else "") + body + time


def date_evidence(values: Sequence[str]) -> DateEvidence:
    """Summarise date strings: which layout most of them follow and which order they allow."""
    layouts: Counter[tuple[str, str, str, int]] = Counter()
    named: Counter[str] = Counter()
    day_first: Counter[tuple[str, str, str, int]] = Counter()
    month_first: Counter[tuple[str, str, str, int]] = Counter()
    for raw in values:
        m = _DATE.match(raw)
        if not m:
            if (found := named_format(raw)) is not None:
                named[found] += 1
            continue
        a, b, c = m["a"], m["b"], m["c"]
        time = ""
        if m["time"]:
            time = m["time"][0] + ("%H:%M:%S" if m["sec"] else "%H:%M")
        if len(a) == 4:
            key = ("ymd", m["sep"], time, 4)
        elif len(c) in (2, 4):
            key = ("xyz", m["sep"], time, len(c))
            first, second = int(a), int(b)
            day_first[key] += first > 12 >= second
            month_first[key] += second > 12 >= first
        else:
            continue
        layouts[key] += 1
    if named and named.total() > layouts.total():
        return DateEvidence("named", "", 0, 0, "", 0, named=named.most_common(1)[0][0])
    if not layouts:
        return DateEvidence("none", "", 0, 0, "", 0)
    key = layouts.most_common(1)[0][0]
    return DateEvidence(key[0], key[1], day_first[key], month_first[key], key[2], key[3])


def date_format_from(evidence: DateEvidence, *, where: str) -> str:
    """The strptime format the evidence supports, or a usage error naming what to set."""
    sep, year = evidence.separator, "%Y" if evidence.year_digits == 4 else "%y"
    if evidence.pattern == "named":
        return evidence.named
    if evidence.pattern == "none":
        raise UsageError(
            f"{where}: no value looks like a date (dd-mm-yyyy, yyyy-mm-dd or 1 augustus 2026)",
            hint='set date_format in the mapping\'s [source], e.g. date_format = "%d-%m-%Y"',
        )
    if evidence.pattern == "ymd":
        return f"%Y{sep}%m{sep}%d{evidence.time}"
    if evidence.day_first and evidence.day_first >= evidence.month_first:
        return f"%d{sep}%m{sep}{year}{evidence.time}"
    if evidence.month_first:
        return f"%m{sep}%d{sep}{year}{evidence.time}"
    raise UsageError(
        f"{where}: the dates are ambiguous (every day and month is 12 or less, "
        "so dd-mm and mm-dd read them differently)",
        hint=f"set date_format in the mapping's [source], e.g. date_format = \"%d{sep}%m{sep}"
        f'{year}"',
    )
