"""Ingest benchmark: 10 million visits from 2 million households, CSV → canonical Parquet.

Generates a Dutch-style box-office export (``;``-separated, dd-mm-yyyy dates,
decimal-comma prices, UTF-8) into a temporary folder from a seed, then runs in
separate subprocesses, one after the other:

1. ``polars``: ``pl.read_csv`` of the same file into memory (the baseline);
2. ``ingest``: ``publiek agent ingest`` with encoding, delimiter, decimal and
   date format left to detection, into a fresh workspace;

and that pair ``--rounds`` times (the box's speed drifts by a third within
minutes, so one pair says little): each round's ratio is printed, then the
median, the smallest and the largest.

Each child's wall time is measured here; its CPU time and peak RSS come from
``os.wait4`` (the rusage of exactly that child, the same figures
``getrusage(RUSAGE_CHILDREN)`` sums). The machine's load average is printed
before and after, because other work on a shared box inflates wall times.
Usage::

    .venv/bin/python bench/ingest_bench.py [--rows N] [--households N] [--seed 7] [--days 92]
        [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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

    The same seed gives the same file with the same polars version (its seeded
    hash and shuffle are the randomness).

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
        .join(
            hh.select("h", "Postcode", "Huisnummer", "E-mailadres"),
            on="h",
            how="left",
            maintain_order="left",
        )
    )
    # A few rows the agent must reject: one in 500 has an impossible date, one in
    # 400 no usable address or e-mail.
    keyless = pl.col("i") % 400 == 0
    day = pl.col("i").hash(seed + 1) % days
    visits = visits.select(
        pl.format("B{}", pl.col("i") // 2).alias("Bestelnummer"),
        pl.when(pl.col("i") % 500 == 0)
        .then(pl.lit("31-02-2026"))
        .otherwise((pl.date(2026, 7, 1) + pl.duration(days=day)).dt.strftime("%d-%m-%Y"))
        .alias("Voorstellingsdatum"),
        pl.format("Voorstelling {}", pl.col("i").hash(seed + 2) % 400).alias("Voorstelling"),
        pl.lit(pl.Series(_GENRES)).gather(pl.col("i").hash(seed + 3) % len(_GENRES)).alias("Genre"),
        pl.when(keyless).then(None).otherwise(pl.col("Postcode")).alias("Postcode"),
        pl.when(keyless).then(None).otherwise(pl.col("Huisnummer")).alias("Huisnummer"),
        pl.when(keyless)
        .then(pl.lit("onbekend"))
        .otherwise(pl.col("E-mailadres"))
        .alias("E-mailadres"),
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


@dataclass(frozen=True)
class Measured:
    wall_s: float
    cpu_s: float
    peak_rss_mib: float
    stdout: str


def run_child(argv: list[str], logs: Path) -> Measured:
    """Run one child; its own rusage comes from os.wait4, so figures never mix children."""
    out_path, err_path = logs.with_suffix(".out"), logs.with_suffix(".err")
    with out_path.open("wb") as out, err_path.open("wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"{argv[0]} failed: {err_path.read_text(errors='replace')}")
    return Measured(
        wall,
        usage.ru_utime + usage.ru_stime,
        usage.ru_maxrss / 1024,
        out_path.read_text(encoding="utf-8", errors="replace").strip(),
    )


def measure_round(publiek: str, export: Path, folder: Path) -> tuple[Measured, Measured, Any]:
    """One round: the baseline, then the ingest into a workspace of its own."""
    folder.mkdir()
    base = run_child([sys.executable, "-c", BASELINE, str(export)], folder / "baseline")
    report = folder / "report.json"
    ingest = run_child(
        [
            publiek, "agent", "ingest", str(export), "--mapping", str(export.with_name("map.toml")),
            "--workspace", str(folder / "ws"), "--report-json", str(report),
        ],
        folder / "ingest",
    )  # fmt: skip
    return base, ingest, json.loads(report.read_text(encoding="utf-8"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--households", type=int, default=2_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--days", type=int, default=92, help="days the visits span (92: a quarter)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="baseline and ingest, one after the other, this many times (the box's speed drifts)",
    )
    parser.add_argument("--generate-only", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate_only:
        generate(args.generate_only, args.rows, args.households, args.seed, args.days)
        return
    publiek = str(Path(sys.executable).with_name("publiek"))
    with tempfile.TemporaryDirectory(prefix="publiek-ingest-bench-") as tmp:
        root = Path(tmp)
        export = root / "export.csv"
        start = time.perf_counter()
        # Generated in a child: a forked child inherits its parent's peak RSS on
        # Linux, so the measuring parent must stay small.
        subprocess.run(
            [
                sys.executable, __file__, "--generate-only", str(export), "--rows", str(args.rows),
                "--households", str(args.households), "--seed", str(args.seed),
                "--days", str(args.days),
            ],
            check=True,
        )  # fmt: skip
        # The generator leaves about 900 MiB of dirty pages; flush them so their
        # write-back does not compete with the measured children's own I/O.
        os.sync()
        size = export.stat().st_size / 2**20
        print(f"generated {args.rows} rows, {size:.0f} MiB in {time.perf_counter() - start:.1f} s")
        (root / "map.toml").write_text(MAPPING, encoding="utf-8")
        print(f"load average before: {os.getloadavg()[0]:.2f}")

        ratios: list[float] = []
        walls: list[float] = []
        peaks: list[float] = []
        for n in range(1, args.rounds + 1):
            base, ingest, data = measure_round(publiek, export, root / f"round-{n}")
            ratios.append(ingest.wall_s / base.wall_s)
            walls.append(ingest.wall_s)
            peaks.append(ingest.peak_rss_mib)
            print(
                f"round {n}: polars read_csv:      wall {base.wall_s:6.2f} s, "
                f"cpu {base.cpu_s:6.2f} s, peak RSS {base.peak_rss_mib:6.0f} MiB "
                f"({base.stdout} rows)\n"
                f"round {n}: publiek agent ingest: wall {ingest.wall_s:6.2f} s, "
                f"cpu {ingest.cpu_s:6.2f} s, peak RSS {ingest.peak_rss_mib:6.0f} MiB "
                f"({data['rows_accepted']} rows accepted, {data['households']} households, "
                f"periods {data['periods']})\n"
                f"round {n}: ratio ingest / read_csv: wall {ratios[-1]:.2f}, "
                f"cpu {ingest.cpu_s / base.cpu_s:.2f} (load {os.getloadavg()[0]:.2f})"
            )
        print(
            f"over {args.rounds} round(s): ratio median {statistics.median(ratios):.2f} "
            f"(min {min(ratios):.2f}, max {max(ratios):.2f}); ingest wall max "
            f"{max(walls):.2f} s; peak RSS max {max(peaks):.0f} MiB"
        )
        print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
