"""Exact private-set-intersection cardinality between two institutions: the baseline of issue 17.

Issue 17 asks what household overlaps between institutions cost when
computed from DP sketches, side by side with exact private set intersection
cardinality (PSI-CA) in the same run. This module is the PSI half (ADR 0035):
the ``openmined-psi`` package (ECDH over P-256 with a Golomb-compressed set,
semi-honest security), set up as its own tests and examples do (a fresh key
per party, false-positive rate 1e-9 for the whole query, the default GCS
data structure, ``reveal_intersection=False``), between two sets of random
32-byte keys as the household keys are (HMAC-SHA256 under the period's
sector key).

Each pair runs the package's one round trip, every message serialized as it
would cross the network, and is measured per part:

- setup: the server (institution B) encrypts its keys into a compressed set;
- request: the client (institution A) encrypts its keys;
- response: the server re-encrypts the client's keys, shuffled;
- intersection: the client strips its own key and counts the hits.

    .venv/bin/python bench/psi_baseline.py [--sizes 10000 100000] [--repeats 3] [--write]

``--write`` puts the table into docs/benchmarks.md (section "Overlaps:
private set intersection baseline"). A combined bench calls ``psi_pair_cost``
(or ``psi_cardinality_cost`` on keys of its own, so that both approaches
see the same households). The package is a bench-only dependency (the
``bench`` extra): nothing that ships imports it.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import private_set_intersection.python as psi

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/'s own modules

from sections import replace_section

KEY_BYTES = 32
# The package's own tests and examples use 1e-9: the probability that a query of the
# client's size counts one false positive at all (the setup grows with log(1/fpr)).
FALSE_POSITIVE_RATE = 1e-9
OVERLAP_SHARE = 0.10
INSTITUTIONS = 500
SECTION = "## Overlaps: private set intersection baseline"
ROOT = Path(__file__).resolve().parents[1]

T = TypeVar("T")


@dataclass(frozen=True)
class PairCost:
    """What one PSI-CA between two institutions costs, and whether it was right.

    ``n_a`` is the client's set (it learns the cardinality), ``n_b`` the
    server's. Seconds are wall clock (``*_s``) and the process's CPU
    (``*_cpu_s``): on a shared machine the CPU time is the steadier figure.
    """

    n_a: int
    n_b: int
    overlap: int
    found: int
    setup_s: float
    request_s: float
    response_s: float
    intersection_s: float
    setup_cpu_s: float
    request_cpu_s: float
    response_cpu_s: float
    intersection_cpu_s: float
    setup_bytes: int
    request_bytes: int
    response_bytes: int

    @property
    def seconds(self) -> float:
        return self.setup_s + self.request_s + self.response_s + self.intersection_s

    @property
    def cpu_seconds(self) -> float:
        return self.setup_cpu_s + self.request_cpu_s + self.response_cpu_s + self.intersection_cpu_s

    @property
    def bytes(self) -> int:
        return self.setup_bytes + self.request_bytes + self.response_bytes

    @property
    def exact(self) -> bool:
        return self.found == self.overlap


def keys_with_overlap(
    n_a: int, n_b: int, overlap: int, seed: int
) -> tuple[list[bytes], list[bytes]]:
    """Two sets of distinct random 32-byte keys, ``overlap`` of them in both.

    Random bytes stand for HMAC-SHA256 outputs (indistinguishable from them
    to anyone without the sector key); seeded, so that the sketch side of a
    combined bench can be given the very same households.
    """
    if not 0 <= overlap <= min(n_a, n_b):
        raise ValueError(f"an overlap of {overlap} does not fit sets of {n_a} and {n_b}")
    rng = random.Random(seed)
    keys: dict[bytes, None] = {}  # insertion-ordered, so the split below is seeded too
    while len(keys) < n_a + n_b - overlap:
        keys[rng.randbytes(KEY_BYTES)] = None
    ordered = list(keys)
    shared, rest = ordered[:overlap], ordered[overlap:]
    a = shared + rest[: n_a - overlap]
    b = shared + rest[n_a - overlap :]
    rng.shuffle(a)
    rng.shuffle(b)
    return a, b


def timed(step: Callable[[], T]) -> tuple[T, float, float]:
    """``step()``, its wall seconds and this process's CPU seconds (all threads)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = step()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def psi_cardinality_cost(
    client_keys: Sequence[bytes], server_keys: Sequence[bytes], overlap: int
) -> PairCost:
    """One PSI-CA round trip between ``client_keys`` (A) and ``server_keys`` (B).

    Every message is serialized and parsed again on the other side, as it
    would be on the wire: its size is the bytes exchanged, and the
    (de)serialization is part of the time of the side that does it.
    """
    client = psi.client.CreateWithNewKey(False)
    server = psi.server.CreateWithNewKey(False)
    client_items, server_items = list(client_keys), list(server_keys)

    def setup() -> bytes:
        message = server.CreateSetupMessage(FALSE_POSITIVE_RATE, len(client_items), server_items)
        return bytes(message.SerializeToString())

    def request() -> bytes:
        return bytes(client.CreateRequest(client_items).SerializeToString())

    def respond(wire: bytes) -> bytes:
        received = psi.Request()
        received.ParseFromString(wire)
        return bytes(server.ProcessRequest(received).SerializeToString())

    def intersect(setup_wire: bytes, response_wire: bytes) -> int:
        received_setup, received_response = psi.ServerSetup(), psi.Response()
        received_setup.ParseFromString(setup_wire)
        received_response.ParseFromString(response_wire)
        return int(client.GetIntersectionSize(received_setup, received_response))

    setup_wire, setup_s, setup_cpu = timed(setup)
    request_wire, request_s, request_cpu = timed(request)
    response_wire, response_s, response_cpu = timed(lambda: respond(request_wire))
    found, intersection_s, intersection_cpu = timed(lambda: intersect(setup_wire, response_wire))
    return PairCost(
        n_a=len(client_items),
        n_b=len(server_items),
        overlap=overlap,
        found=found,
        setup_s=setup_s,
        request_s=request_s,
        response_s=response_s,
        intersection_s=intersection_s,
        setup_cpu_s=setup_cpu,
        request_cpu_s=request_cpu,
        response_cpu_s=response_cpu,
        intersection_cpu_s=intersection_cpu,
        setup_bytes=len(setup_wire),
        request_bytes=len(request_wire),
        response_bytes=len(response_wire),
    )


def psi_pair_cost(n_a: int, n_b: int, overlap: int, seed: int) -> PairCost:
    """PSI-CA between seeded random key sets of ``n_a`` and ``n_b`` with ``overlap`` shared."""
    a, b = keys_with_overlap(n_a, n_b, overlap, seed)
    return psi_cardinality_cost(a, b, overlap)


def median_cost(costs: Sequence[PairCost]) -> PairCost:
    """Per part, the median over repeated runs of the same pair sizes."""
    first = costs[0]

    def mid(name: str) -> float:
        return float(statistics.median(getattr(c, name) for c in costs))

    return PairCost(
        n_a=first.n_a,
        n_b=first.n_b,
        overlap=first.overlap,
        found=max(costs, key=lambda c: abs(c.found - c.overlap)).found,  # the worst run
        **{
            name: mid(name)
            for name in (
                "setup_s",
                "request_s",
                "response_s",
                "intersection_s",
                "setup_cpu_s",
                "request_cpu_s",
                "response_cpu_s",
                "intersection_cpu_s",
            )
        },
        setup_bytes=first.setup_bytes,
        request_bytes=first.request_bytes,
        response_bytes=first.response_bytes,
    )


def size_label(n: int) -> str:
    return f"{n // 1000:,}k" if n % 1000 == 0 and n >= 1000 else f"{n:,}"


def bytes_label(n: float) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}" if n < 100 * scale else f"{n / scale:,.0f} {unit}"
    return f"{n:.0f} B"


def duration_label(seconds: float) -> str:
    if seconds >= 2 * 86_400:
        return f"{seconds / 86_400:,.0f} days"
    if seconds >= 2 * 3_600:
        return f"{seconds / 3_600:,.0f} hours"
    return f"{seconds:,.0f} s"


def table(costs: Sequence[PairCost]) -> list[str]:
    """Two tables: seconds per part (wall / CPU), then bytes per message."""
    lines = [
        "**Time per pair** (wall / CPU seconds; B is the server, A the client):",
        "",
        ("| pair (A × B, 10% overlap) | setup (B) | request (A) | response (B) "
         "| intersection (A) | per pair |"),
        "|---|---|---|---|---|---|",
    ]  # fmt: skip
    for c in costs:
        lines.append(
            f"| {size_label(c.n_a)} × {size_label(c.n_b)} | {c.setup_s:.2f} / {c.setup_cpu_s:.2f} "
            f"| {c.request_s:.2f} / {c.request_cpu_s:.2f} "
            f"| {c.response_s:.2f} / {c.response_cpu_s:.2f} "
            f"| {c.intersection_s:.2f} / {c.intersection_cpu_s:.2f} "
            f"| **{c.seconds:.2f} / {c.cpu_seconds:.2f}** |"
        )
    lines += [
        "",
        "**Bytes exchanged per pair** (each message serialized), and the count A found:",
        "",
        (
            "| pair (A × B, 10% overlap) | setup (B → A) | request (A → B) | response (B → A) "
            "| per pair | found / true |"
        ),
        "|---|---|---|---|---|---|",
    ]
    for c in costs:
        lines.append(
            f"| {size_label(c.n_a)} × {size_label(c.n_b)} | {bytes_label(c.setup_bytes)} "
            f"| {bytes_label(c.request_bytes)} | {bytes_label(c.response_bytes)} "
            f"| **{bytes_label(c.bytes)}** | {c.found:,} / {c.overlap:,} |"
        )
    return lines


def sector_projection(cost: PairCost, institutions: int = INSTITUTIONS) -> str:
    """All pairs of ``institutions`` at ``cost`` each, and the floor if every party
    reused one setup and one request for all its partners."""
    pairs = institutions * (institutions - 1) // 2
    per_pair_cpu = cost.cpu_seconds
    # Reuse: a server may answer every client of one size from one setup, and a client
    # may send one encrypted request to every server; re-encrypting the client's keys
    # (response) and counting the hits (intersection) stay per pair.
    floor_cpu = pairs * (cost.response_cpu_s + cost.intersection_cpu_s) + institutions * (
        cost.setup_cpu_s + cost.request_cpu_s
    )
    return (
        f"All {pairs:,} pairs of {institutions} institutions at {size_label(cost.n_a)} × "
        f"{size_label(cost.n_b)} households each: {pairs:,} × {per_pair_cpu:.1f} CPU s = "
        f"**{duration_label(pairs * per_pair_cpu)} of one core** and "
        f"**{bytes_label(pairs * cost.bytes)} exchanged** per period, each pair a session with "
        "both institutions online. Even if "
        f"every institution reused one setup and one encrypted request for all its "
        f"{institutions - 1} partners "
        "(the package allows both), the per-pair response and intersection remain: "
        f"{duration_label(floor_cpu)} of one core, and the same bytes (each request and response "
        "still crosses the network once per pair). The cost grows with the square of the "
        "number of institutions and linearly with their sizes."
    )


REVEALS = (
    "**What PSI-CA reveals to whom.** Institution A (the client) learns the exact number of "
    "households it shares with B, without noise: not a differentially private figure, and one "
    "that A could not publish under the k rule's and the budget's guarantees. Each side learns "
    "the size of the other's set (B from the number of encrypted keys in A's request, A from "
    "the size of B's compressed set); neither learns which households are shared. The "
    "guarantee is semi-honest: nothing stops A from choosing what it sends. Since every "
    "institution can compute the household key of any address or e-mail it knows (the keys "
    "are HMACs under the one sector key), A can ask with a set of one household, or two sets that "
    "differ in one household, and learn whether that household visits B: a membership test "
    "that only rate limits and minimum set sizes outside the protocol could hinder, and that "
    "exact counts cannot rule out. The aggregator learns nothing unless an institution reports "
    "its count; sector reach and crossovers over many institutions are not two-party "
    "questions and need more than pairwise PSI. Every pair needs both institutions online at "
    "once for one round trip (A's request; B's setup and response), so the sector's overlaps "
    "take a session between every two institutions each period."
)


def report(costs: Sequence[PairCost], *, command: str, load: tuple[float, float], seed: int) -> str:
    largest = max(costs, key=lambda c: c.n_a * c.n_b)
    lines = [
        SECTION,
        "",
        "```",
        command,
        "```",
        "",
        (
            f"Machine: the shared 2-core development VM (AMD EPYC, 24 GB), Python 3.11, "
            f"openmined-psi {psi.__version__}; load average {load[0]:.1f} before the run and "
            f"{load[1]:.1f} after it, while other work ran: the CPU seconds (after the slash) "
            "are the steadier figure. "
            f"Random 32-byte keys (seed {seed}) with a 10% overlap; each pair is one PSI-CA of the "
            "package's client and server in one process (`reveal_intersection=False`, "
            "false-positive rate 1e-9, the GCS setup), every message serialized and parsed as on "
            "the wire; the median of the repeats per part."
        ),
        "",
        *table(costs),
        "",
        (
            f"Issue 17's target for the sketch path is a tenth of this per pair at "
            f"{size_label(largest.n_a)} × {size_label(largest.n_b)}: under "
            f"{largest.cpu_seconds / 10:.1f} CPU s and {bytes_label(largest.bytes / 10)} per pair."
        ),
        "",
        sector_projection(largest),
        "",
        REVEALS,
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[10_000, 100_000],
        help="set sizes; each runs a pair of that size on both sides",
    )  # fmt: skip
    parser.add_argument("--repeats", type=int, default=3, help="runs per size (median shown)")
    parser.add_argument("--seed", type=int, default=17, help="seed of the keys")
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    before = os.getloadavg()[0]
    costs = []
    for n in args.sizes:
        overlap = round(OVERLAP_SHARE * n)
        runs = [psi_pair_cost(n, n, overlap, args.seed + r) for r in range(args.repeats)]
        costs.append(median_cost(runs))
        label = f"{size_label(n)} × {size_label(n)}"
        print(f"{label}: {costs[-1].seconds:.2f} s, exact {costs[-1].exact}")
    sizes = " ".join(str(n) for n in args.sizes)
    command = f".venv/bin/python bench/psi_baseline.py --sizes {sizes} --repeats {args.repeats}" + (
        f" --seed {args.seed}" if args.seed != 17 else ""
    )
    text = report(costs, command=command, load=(before, os.getloadavg()[0]), seed=args.seed)
    print(text)
    if args.write:
        replace_section(ROOT / "docs" / "benchmarks.md", text)


if __name__ == "__main__":
    main()
