"""Ingest benchmark: 10 million visits from 2 million households, CSV → canonical Parquet.

Generates a Dutch-style box-office export (``;``-separated, dd-mm-yyyy dates,
decimal-comma prices, UTF-8) into a temporary folder from a seed, then runs in
separate subprocesses, one after the other:

1. ``polars``: ``pl.read_csv`` of the same file into memory (the baseline);
2. ``ingest``: ``publiek agent ingest`` with encoding, delimiter, decimal and
   date format left to detection, into a fresh workspace.

Each child's wall time is measured here and its peak RSS is read from
``resource.getrusage(RUSAGE_CHILDREN)`` right after it ends (the children run
one at a time, so the maximum belongs to the child just finished only if it
is larger than every earlier one; the baseline runs first for that reason and
the figures print both). Usage::

    .venv/bin/python bench/ingest_bench.py [--rows N] [--households N] [--seed 7] [--days 92]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

MAPPING = """\
[columns]
order_id = "Bestelnummer"
visit_date = "Voorstellingsdatum"
postcode = "Postcode"
house_number = "Huisnummer"
email = "E-mailadres"
tickets = "Aantal kaarten"
price = "Prijs"
event = "Voorstelling"
discipline = "Genre"
birth_year = "Geboortejaar"

[discipline_map]
"Toneel" = "theater"
"Klassiek" = "music"
"Dans" = "dance"
"Cabaret" = "cabaret"
"""

_LETTERS = "ABCEFGHJKLMNPRTVWXZ"  # no S: never SA/SD/SS by construction
_GENRES = ["Toneel", "Klassiek", "Dans", "Cabaret", "Jeugd"]


def generate(path: Path, rows: int, households: int, seed: int, days: int = 92) -> None:
    """Write the export: every household visits rows // households times, shuffled by seed.

    Visits fall in the ``days`` days from 1 July 2026: 92 days is one quarter, the period
    the agent keys and releases households by; 365 spreads them over four periods and so
    costs one household key per household per quarter."""
    per = rows // households
    hh = pl.DataFrame({"h": pl.int_range(households, eager=True)}).with_columns(
        (pl.col("h") % 9000 + 1000).cast(pl.String).alias("pc4"),
        (pl.col("h") // 9000 % len(_LETTERS)).alias("l1"),
        (pl.col("h") // (9000 * len(_LETTERS)) % len(_LETTERS)).alias("l2"),
        ((pl.col("h") * 7919) % 250 + 1).alias("nr"),
        (pl.col("h").hash(seed) % 20).alias("r"),
    )
    letters = pl.Series(list(_LETTERS))
    hh = hh.with_columns(
        # one household in twenty has no address and is keyed by e-mail
        pl.when(pl.col("r") > 0)
        .then(
            pl.format(
                "{} {}", "pc4", pl.concat_str(letters.gather(hh["l1"]), letters.gather(hh["l2"]))
            )
        )
        .alias("Postcode"),
        pl.when(pl.col("r") > 0)
        .then(
            pl.format(
                "{}{}",
                "nr",
                pl.when(pl.col("nr") % 7 == 0).then(pl.lit("-a")).otherwise(pl.lit("")),
            )
        )
        .alias("Huisnummer"),
        pl.format("bezoeker{}@voorbeeld.nl", "h").alias("E-mailadres"),
    )
    visits = (
        pl.DataFrame({"h": pl.int_range(households, eager=True)})
        .select(pl.col("h").repeat_by(per).explode())
        .select(pl.col("h").shuffle(seed=seed))
        .with_row_index("i")
        .join(hh.select("h", "Postcode", "Huisnummer", "E-mailadres"), on="h", how="left")
    )
    day = pl.col("i").hash(seed + 1) % days
    visits = visits.select(
        pl.format("B{}", pl.col("i") // 2).alias("Bestelnummer"),
        (pl.date(2026, 7, 1) + pl.duration(days=day))
        .dt.strftime("%d-%m-%Y")
        .alias("Voorstellingsdatum"),
        pl.format("Voorstelling {}", pl.col("i").hash(seed + 2) % 400).alias("Voorstelling"),
        pl.lit(pl.Series(_GENRES)).gather(pl.col("i").hash(seed + 3) % len(_GENRES)).alias("Genre"),
        "Postcode",
        "Huisnummer",
        "E-mailadres",
        (pl.col("i").hash(seed + 4) % 4 + 1).cast(pl.String).alias("Aantal kaarten"),
        pl.format("{},{}", pl.col("i").hash(seed + 5) % 60 + 5, pl.lit("50")).alias("Prijs"),
        (pl.col("i").hash(seed + 6) % 70 + 1940).cast(pl.String).alias("Geboortejaar"),
    )
    visits.write_csv(path, separator=";")


BASELINE = """
import sys, polars as pl
frame = pl.read_csv(sys.argv[1], separator=";")
print(frame.height)
"""


def run_child(argv: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run(argv, check=True, capture_output=True, text=True)
    return time.perf_counter() - start, out.stdout.strip()


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--households", type=int, default=2_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--days", type=int, default=92, help="days the visits span (92: a quarter)")
    args = parser.parse_args()
    publiek = str(Path(sys.executable).with_name("publiek"))
    with tempfile.TemporaryDirectory(prefix="publiek-bench-") as tmp:
        root = Path(tmp)
        export = root / "export.csv"
        start = time.perf_counter()
        generate(export, args.rows, args.households, args.seed, args.days)
        gen_s = time.perf_counter() - start
        print(f"generated {export.stat().st_size / 2**20:.0f} MiB in {gen_s:.1f} s")
        (root / "map.toml").write_text(MAPPING, encoding="utf-8")

        base_s, base_rows = run_child([sys.executable, "-c", BASELINE, str(export)])
        base_rss = peak_rss_mib()
        print(f"polars read_csv: {base_s:.2f} s, peak RSS {base_rss:.0f} MiB, {base_rows} rows")

        report = root / "report.json"
        ingest_s, _ = run_child(
            [
                publiek,
                "agent",
                "ingest",
                str(export),
                "--mapping",
                str(root / "map.toml"),
                "--workspace",
                str(root / "ws"),
                "--report-json",
                str(report),
            ]
        )
        ingest_rss = peak_rss_mib()
        data = json.loads(report.read_text(encoding="utf-8"))
        print(
            f"publiek agent ingest: {ingest_s:.2f} s, peak RSS {ingest_rss:.0f} MiB "
            f"(max over both children), rows_accepted {data['rows_accepted']}, "
            f"households {data['households']}"
        )
        print(f"ratio ingest / polars read_csv: {ingest_s / base_s:.2f}")


if __name__ == "__main__":
    main()
