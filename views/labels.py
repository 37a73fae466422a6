"""Human labels, in Dutch and English, for every table, dimension and key of the
release design (publiek-tables/3, ``dp.release_design``).

The pages show these instead of identifiers such as
``households_by_segment_discipline``: the readers are the sector's staff, most
of whom read Dutch first. Dutch is the default (``DEFAULT_LANGUAGE``).

Every name the design can put on a page has an entry here; a test checks that
each has both languages. A name outside the design (a table of an older
design still stored) is shown as it is rather than not at all.
"""

from __future__ import annotations

from collections.abc import Mapping

from dp.release_design import months_of

LANGUAGES = ("nl", "en")
DEFAULT_LANGUAGE = "nl"
Text = Mapping[str, str]  # language → text


def bilingual(nl: str, en: str) -> Text:
    """A text in Dutch and English: every phrase module of the pages and the
    report writes its phrases with this."""
    return {"nl": nl, "en": en}


_t = bilingual


TABLES: Mapping[str, Text] = {
    "households_by_segment_discipline": _t(
        "Huishoudens per segment en discipline", "Households by segment and discipline"
    ),
    "households_by_segment_province": _t(
        "Huishoudens per segment en provincie", "Households by segment and province"
    ),
    "households_by_segment_catchment": _t(
        "Huishoudens per segment en afstand tot de instelling",
        "Households by segment and distance to the venue",
    ),
    "households_by_segment": _t("Huishoudens per segment", "Households by segment"),
    "households_by_discipline": _t("Huishoudens per discipline", "Households by discipline"),
    "households_by_province": _t("Huishoudens per provincie", "Households by province"),
    "households_by_frequency_band": _t(
        "Huishoudens naar aantal bezoeken", "Households by number of visits"
    ),
    "households_by_recency": _t(
        "Huishoudens naar tijd sinds het laatste bezoek", "Households by time since the last visit"
    ),
    "households_by_discipline_count": _t(
        "Huishoudens naar aantal bezochte disciplines",
        "Households by number of disciplines visited",
    ),
    "households_by_returning": _t(
        "Nieuwe en terugkerende huishoudens", "New and returning households"
    ),
    "earlier_households_by_loyalty": _t(
        "Huishoudens van de vorige vier kwartalen: teruggekomen of niet",
        "Households of the previous four quarters: came back or not",
    ),
    "visits_by_month": _t("Bezoeken per maand", "Visits by month"),
    "visits_by_discipline": _t("Bezoeken per discipline", "Visits by discipline"),
    "visits_by_segment": _t("Bezoeken per segment", "Visits by segment"),
    "visits_by_discipline_month": _t(
        "Bezoeken per discipline en maand", "Visits by discipline and month"
    ),
}

MEASURES: Mapping[str, Text] = {
    "households": _t("huishoudens", "households"),
    "earlier_households": _t("huishoudens", "households"),
    "visits": _t("bezoeken", "visits"),
}

DIMENSIONS: Mapping[str, Text] = {
    "segment": _t("segment", "segment"),
    "discipline": _t("discipline", "discipline"),
    "province": _t("provincie", "province"),
    "catchment": _t("afstand tot de instelling", "distance to the venue"),
    "frequency_band": _t("aantal bezoeken", "number of visits"),
    "recency": _t("tijd sinds het laatste bezoek", "time since the last visit"),
    "discipline_count": _t("aantal disciplines", "number of disciplines"),
    "returning": _t("nieuw of terugkerend", "new or returning"),
    "loyalty": _t("teruggekomen", "came back"),
    "month": _t("maand", "month"),
}

_UNKNOWN = _t("onbekend", "unknown")
# Keyed by dimension: the same key means different things in two of them
# ("returning" in returning and in loyalty).
KEYS: Mapping[str, Mapping[str, Text]] = {
    "discipline": {
        "theater": _t("theater", "theatre"),
        "music": _t("muziek", "music"),
        "dance": _t("dans", "dance"),
        "opera": _t("opera", "opera"),
        "cabaret": _t("cabaret", "cabaret"),
        "film": _t("film", "film"),
        "museum": _t("museum", "museum"),
        "festival": _t("festival", "festival"),
        "heritage": _t("erfgoed", "heritage"),
        "library": _t("bibliotheek", "library"),
        "youth": _t("jeugd", "youth"),
        "other": _t("overig", "other"),
    },
    "province": {
        "groningen": _t("Groningen", "Groningen"),
        "friesland": _t("Fryslân", "Friesland"),
        "drenthe": _t("Drenthe", "Drenthe"),
        "overijssel": _t("Overijssel", "Overijssel"),
        "flevoland": _t("Flevoland", "Flevoland"),
        "gelderland": _t("Gelderland", "Gelderland"),
        "utrecht": _t("Utrecht", "Utrecht"),
        "noord-holland": _t("Noord-Holland", "North Holland"),
        "zuid-holland": _t("Zuid-Holland", "South Holland"),
        "zeeland": _t("Zeeland", "Zeeland"),
        "noord-brabant": _t("Noord-Brabant", "North Brabant"),
        "limburg": _t("Limburg", "Limburg"),
        "unknown": _UNKNOWN,
    },
    "catchment": {
        "within_15_km": _t("binnen 15 km", "within 15 km"),
        "15_to_30_km": _t("15 tot 30 km", "15 to 30 km"),
        "30_to_60_km": _t("30 tot 60 km", "30 to 60 km"),
        "beyond_60_km": _t("verder dan 60 km", "beyond 60 km"),
        "unknown": _UNKNOWN,
    },
    "frequency_band": {
        "1": _t("1 bezoek", "1 visit"),
        "2": _t("2 bezoeken", "2 visits"),
        "3-4": _t("3 of 4 bezoeken", "3 or 4 visits"),
        "5-9": _t("5 tot 9 bezoeken", "5 to 9 visits"),
        "10+": _t("10 of meer bezoeken", "10 or more visits"),
    },
    "recency": {
        "0-13": _t("0 tot 13 dagen", "0 to 13 days"),
        "14-29": _t("14 tot 29 dagen", "14 to 29 days"),
        "30-59": _t("30 tot 59 dagen", "30 to 59 days"),
        "60+": _t("60 dagen of meer", "60 days or more"),
    },
    "discipline_count": {
        "1": _t("1 discipline", "1 discipline"),
        "2": _t("2 disciplines", "2 disciplines"),
        "3_or_more": _t("3 of meer disciplines", "3 or more disciplines"),
    },
    "returning": {
        "new": _t("nieuw", "new"),
        "returning": _t("terugkerend", "returning"),
    },
    "loyalty": {
        "returning": _t("teruggekomen", "came back"),
        "lapsed": _t("niet teruggekomen", "did not come back"),
    },
    "segment": {
        "urban-young": _t("jonge stedelingen", "young urbanites"),
        "students": _t("studenten", "students"),
        "young-families": _t("jonge gezinnen", "young families"),
        "established-families": _t("gevestigde gezinnen", "established families"),
        "culture-lovers": _t("cultuurliefhebbers", "culture lovers"),
        "comfortable-seniors": _t("welgestelde senioren", "comfortable seniors"),
        "village-life": _t("dorpsleven", "village life"),
        "unknown": _UNKNOWN,
    },
}

_MONTHS: Mapping[str, tuple[str, ...]] = {
    "nl": ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
           "september", "oktober", "november", "december"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
}  # fmt: skip


def language(asked: str | None) -> str:
    """The language of a page: the one asked for if the pages have it, else Dutch."""
    return asked if asked in LANGUAGES else DEFAULT_LANGUAGE


def table_title(name: str, lang: str) -> str:
    entry = TABLES.get(name)
    return entry[lang] if entry else name


def measure_name(measure: str, lang: str) -> str:
    entry = MEASURES.get(measure)
    return entry[lang] if entry else measure


def dimension_name(dimension: str, lang: str) -> str:
    entry = DIMENSIONS.get(dimension)
    return entry[lang] if entry else dimension


def key_label(dimension: str, key: str, lang: str) -> str:
    """The label of one key: months are named from the key itself (``2026-07``
    is ``juli 2026``), every other key from ``KEYS``."""
    if dimension == "month":
        return month_name(key, lang) or key
    entry = KEYS.get(dimension, {}).get(key)
    return entry[lang] if entry else key


def month_name(key: str, lang: str) -> str | None:
    """``2026-07`` → ``juli 2026`` (``July 2026``); None for anything else."""
    year, _, month = key.partition("-")
    if not (year.isdigit() and month.isdigit() and 1 <= int(month) <= 12):
        return None
    quarter = f"{year}-Q{(int(month) - 1) // 3 + 1}"
    if key not in months_of(quarter):
        return None
    return f"{_MONTHS[lang][int(month) - 1]} {year}"


LEVELS: Mapping[str, Text] = {
    "province": _t("provincie", "province"),
    "part_of_country": _t("landsdeel", "part of the country"),
    "national": _t("landelijk", "national"),
    "discipline": _t("discipline", "discipline"),
    "sector": _t("hele sector", "whole sector"),
}


def level_name(level: str, lang: str) -> str:
    entry = LEVELS.get(level)
    return entry[lang] if entry else level
