"""What the benchmarks should say, and what must never leave: shared by the demo
flow (tests/integration/test_demo_flow.py) and the operator's deployment
(tests/e2e/test_operator_deployment.py).

The truth is recomputed from the synthetic export rows with a plain Python
reading of the household-key rules of docs/architecture.md (independent of the
agent's polars pipeline). The leak scan looks for the rows' postcodes, e-mail
addresses and names in any text: terminal output, logs, a state folder.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import math
import re
from pathlib import Path
from typing import Any

import polars as pl

from agent.regions import province_of
from agent.segment_install import model_of
from agent.segments import SegmentModel
from protocol.segment_release import verify_release
from segments.synthetic import signed_synthetic, synthetic_model_key, synthetic_tables


@functools.cache
def synthetic_model() -> SegmentModel:
    """The synthetic release's model (``synthetic-2026.1``), which the demo and the
    operator's deployment publish and release with."""
    data = signed_synthetic(synthetic_tables())
    return model_of(verify_release(data, model_key=synthetic_model_key().public, where="test"))


def pc6(raw: str) -> str | None:
    pc = raw.upper().replace(" ", "")
    ok = re.fullmatch(r"[1-9][0-9]{3}[A-Z]{2}", pc) and pc[4:] not in ("SA", "SD", "SS")
    return pc if ok else None


def house(raw: str) -> tuple[int, str] | None:
    m = re.fullmatch(r"([0-9]+)[\s\-/]*([A-Z0-9\s\-/]*)", raw.strip().upper())
    if not m or int(m[1]) == 0:
        return None
    return int(m[1]), re.sub(r"[\s\-/]+", "", m[2])


def email(raw: str) -> str | None:
    e = raw.strip().lower()
    local, _, domain = e.partition("@")
    return e if e.count("@") == 1 and local and "." in domain else None


def household_identity(row: dict[str, Any]) -> str | None:
    """What is keyed: "PC6|number|addition", else the e-mail address; ``None``
    for a row that cannot be attributed to a household (the agent rejects it)."""
    code, number = pc6(row["postcode"]), house(row["house_number"])
    return f"{code}|{number[0]}|{number[1]}" if code and number else email(row["email"])


FREQUENCY = ((10, "10+"), (5, "5-9"), (3, "3-4"), (2, "2"), (1, "1"))
MAX_VISITS = 12  # tickets per household per institution and period (the default bound)

# Tables whose exact value can be recomputed without the agent's tie-breaks
# (which discipline is a household's main one, which tickets a cap cuts), by the
# dimension that labels their cells.
CHECKED = {
    "households_by_segment": "segment",
    "visits_by_segment": "segment",
    "households_by_province": "province",
    "households_by_frequency_band": "frequency_band",
    "households_by_returning": "returning",
}


def truth(rows: pl.DataFrame, sector_key: bytes, model: SegmentModel) -> dict[tuple[str, str], int]:
    """Exact sector totals per (table, label) of the tables in :data:`CHECKED`.

    ``rows``: every export row that counts, with ``institution``, ``postcode``,
    ``house_number``, ``email``, ``visit_date`` and ``tickets``. Each
    institution's household has its lowest PC4 (for province), its distinct
    visit days (frequency band) and its tickets capped at :data:`MAX_VISITS`;
    all are new in a sector's first period. Its segment (``model``'s draw from
    its key, docs/segment-model.md) is that of its PC6 where all its rows agree
    on one, else that of its lowest PC4."""
    keyed = []
    for r in rows.iter_rows(named=True):
        identity = household_identity(r)
        if identity is None:
            continue
        code = pc6(r["postcode"])
        keyed.append(
            {
                "institution": r["institution"],
                "household_key": hmac.new(sector_key, identity.encode(), hashlib.sha256).digest(),
                "pc4": code[:4] if code else None,
                "pc6": code,
                "day": r["visit_date"],
                "tickets": int(r["tickets"]),
            }
        )
    frame = pl.DataFrame(keyed)
    placement = model.placement
    placed = placement.segments(frame["household_key"], placement.areas(frame["pc6"]))
    households = (
        frame.with_columns(placed.cast(pl.String).alias("placed"))
        .group_by("institution", "household_key")
        .agg(
            pl.col("pc4").min(),
            pl.col("placed").unique().alias("placed"),
            pl.col("day").n_unique().alias("days"),
            pl.col("tickets").sum().clip(upper_bound=MAX_VISITS).alias("tickets"),
        )
    )
    by_pc4 = model.segment_of(households).cast(pl.String)
    households = households.with_columns(
        pl.when(pl.col("placed").list.len() == 1)
        .then(pl.col("placed").list.first())
        .otherwise(by_pc4)
        .fill_null("unknown")
        .alias("segment"),
        province_of(pl.col("pc4")).fill_null("unknown").alias("province"),
    )
    out: dict[tuple[str, str], int] = {}
    for row in households.iter_rows(named=True):
        band = next(label for edge, label in FREQUENCY if row["days"] >= edge)
        for table, label, amount in (
            ("households_by_segment", row["segment"], 1),
            ("visits_by_segment", row["segment"], row["tickets"]),
            ("households_by_province", row["province"], 1),
            ("households_by_frequency_band", band, 1),
            ("households_by_returning", "new", 1),
        ):
            out[(table, label)] = out.get((table, label), 0) + amount
    return out


def label(cell: dict[str, Any]) -> tuple[str, str]:
    """A benchmark cell's (table, label) as :func:`truth` keys it."""
    return cell["table"], cell[CHECKED[cell["table"]]]


def checked_cells(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The published cells (not too uncertain) of the tables in :data:`CHECKED`."""
    return [c for c in cells if c["published"] and c["table"] in CHECKED]


def misses_allowed(n: int) -> float:
    """How many of ``n`` true values may fall outside their 95% intervals: at 95%
    coverage, more misses than 5% + 3 sd + 1 happen with probability < 1%."""
    return 0.05 * n + 3 * math.sqrt(0.0475 * n) + 1


_PC6_TOKEN = re.compile(r"(?<![A-Za-z0-9])([1-9][0-9]{3} ?[A-Za-z]{2})(?![A-Za-z0-9])")


def personal_data(rows: pl.DataFrame) -> tuple[set[str], set[str]]:
    """(PC6 postcodes in compact upper case, e-mail addresses and names in lower case)."""
    postcodes = {pc.upper().replace(" ", "") for pc in rows["postcode"].to_list() if pc}
    texts = {e.lower() for e in rows["email"].to_list() if e}
    texts |= {n.lower() for n in rows["name"].unique().to_list()}
    return postcodes, texts


def leaks(rows: pl.DataFrame, text: str) -> list[str]:
    """Personal data from the synthetic export ``rows`` that occur in ``text``.

    A postcode counts when it stands as a token of its own (in any case, with
    or without the space), so random base64 or hex in envelopes and digests,
    which can contain any six characters by chance, is not a false alarm."""
    postcodes, texts = personal_data(rows)
    tokens = {t.upper().replace(" ", "") for t in _PC6_TOKEN.findall(text)}
    # Every occurrence of any of the addresses and names at once (Aho-Corasick), so
    # that a state folder or a whole deployment's output is scanned in well under
    # a second instead of one pass per visitor.
    found = pl.Series([text.lower()]).str.extract_many(sorted(texts), overlapping=True)
    return sorted(tokens & postcodes) + sorted(set(found.explode().drop_nulls().to_list()))


def all_bytes(folder: Path) -> str:
    """Every file under ``folder``, decoded as far as it is text."""
    return "\n".join(
        p.read_bytes().decode("utf-8", errors="replace")
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    )
