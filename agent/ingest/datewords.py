"""Month and weekday names as box offices write them in dates, in Dutch and English.

"1 augustus 2026", "za 12 okt 2026 20:15", "Aug 1, 2026" and "1-aug-2026"
are read by a ``date_format`` with ``%b`` (or ``%B``) for the month name and
a leading ``%a`` (or ``%A``) for a weekday, in either language: the month
names are replaced by their numbers and the weekday names by nothing, one
literal multi-pattern pass (:func:`agent.ingest.normalise.visit_date`), and the numeric format that
is left is parsed as every other date. The names are listed longest first,
so a leftmost-first match takes "augustus" before "aug".
"""

from __future__ import annotations

import re

_MONTHS: dict[int, tuple[str, ...]] = {
    1: ("januari", "january", "jan"),
    2: ("februari", "february", "feb"),
    3: ("maart", "march", "mrt", "mar"),
    4: ("april", "apr"),
    5: ("mei", "may"),
    6: ("juni", "june", "jun"),
    7: ("juli", "july", "jul"),
    8: ("augustus", "august", "aug"),
    9: ("september", "sept", "sep"),
    10: ("oktober", "october", "okt", "oct"),
    11: ("november", "nov"),
    12: ("december", "dec"),
}
_WEEKDAYS = (
    "maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag",
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    "thurs", "tues", "thur",
    "mon", "tue", "wed", "thu", "fri", "sat", "sun",
    "ma", "di", "wo", "do", "vr", "za", "zo",
)  # fmt: skip

# Each name, and each abbreviation with its dot ("okt."), → the month number.
_PAIRS = sorted(
    [
        (spelling, str(number))
        for number, names in _MONTHS.items()
        for name in names
        for spelling in (name, f"{name}.")
    ],
    key=lambda pair: -len(pair[0]),
)
MONTH_NAMES = [name for name, _ in _PAIRS]
MONTH_NUMBERS = [number for _, number in _PAIRS]
# The same with every weekday → "" (for a format with %a): one replacement
# pass instead of a regex, longest first so "maart" is not read as "ma" + "art".
_WITH_DAYS = sorted([*_PAIRS, *((day, "") for day in _WEEKDAYS)], key=lambda p: -len(p[0]))
NAMES_AND_DAYS = [name for name, _ in _WITH_DAYS]
NUMBERS_AND_BLANKS = [number for _, number in _WITH_DAYS]
MONTH = "(?:" + "|".join(re.escape(n) for n in MONTH_NAMES) + ")"
# A weekday that opens the value, with a dot or comma after it and the space.
LEADING_WEEKDAY = r"(?i)^\s*(?:" + "|".join(_WEEKDAYS) + r")\.?,?\s+"
NAME_CODES = ("%a", "%A", "%b", "%B")


def numeric_format(date_format: str) -> str:
    """The format left once month names are numbers and the weekday is gone:
    "%a %d %b %Y" → "%d %m %Y"."""
    text = date_format
    if text.startswith(("%a", "%A")):
        text = re.sub(r"^%[aA][.,]?\s*", "", text)
    return text.replace("%b", "%m").replace("%B", "%m")
