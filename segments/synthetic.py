"""The synthetic segment model release ``synthetic-2026.1``: open, reproducible, fake.

The demo and the tests need a model of the whole country without a licence:
this module generates one from a seed. Nothing in it describes a real
neighbourhood: the PC4 codes are drawn with roughly the sparsity of the real
ones (about 4,000 of the 9,000 codes from 1000 to 9999, fewer towards the end
of each hundred, none ending in 00), each placed in its province by the PC4
ranges of ``dp.release_design.PC4_RANGES`` (the agent's rule); about 350
municipalities with made-up names cut the codes of a province into runs;
centroids lie inside the Netherlands, clustered per province and
municipality; about 8 million households are spread over the PC4 areas
(more in urban ones) and over the seven segments of
``dp.release_design.DEMO_SEGMENTS`` (urban areas lean young and cultural,
rural ones towards families and village life); each PC4 has on average 112
PC6 codes (about 450,000 in all), whose shares vary around their PC4's.

Only :meth:`random.Random.random` is drawn, and only arithmetic that IEEE 754
rounds exactly is applied to it (no ``log``, ``exp`` or ``pow``, whose last
bit may differ between platforms' maths libraries): the same seed gives the
same tables everywhere, and the same release bytes with the same polars
version (Parquet files name their writer).

**The release is signed with the PUBLIC DEMO KEY** (:func:`synthetic_model_key`),
whose secret half is derived from a seed published right here
(:data:`DEMO_KEY_SEED`). Anyone can sign anything with it: it proves nothing
and must never be pinned for real releases. ``protocol.segment_release``
refuses a release signed with it that does not call itself synthetic, and
``publiek segments show`` says "synthetic, signed by the public demo key — not
for real releases".
"""

from __future__ import annotations

import hashlib
import itertools
import math
import random
from collections.abc import Callable

import polars as pl
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dp.release_design import DEMO_SEGMENTS, PC4_RANGES
from protocol.errors import UsageError
from protocol.keys import SigningKey
from protocol.segment_release import Segment, Texts
from protocol.segment_tables import LAT_RANGE, LON_RANGE, PROVINCES, pc4_columns, pc6_columns
from segments.build import ModelTables

SYNTHETIC_VERSION = "synthetic-2026.1"
SYNTHETIC_CREATED = "2026-01-01"
SEED = 2026
PC6_PER_PC4 = 112
HOUSEHOLDS = 8_000_000
MUNICIPALITIES = 350
# The seed of the public demo key. Published on purpose: see the module docstring.
DEMO_KEY_SEED = b"publiek/1 synthetic segment model key: public, for synthetic releases only"

# Per province: the centre of its municipalities (degrees WGS 84) and how far
# (half-width, degrees of latitude and longitude) they spread around it.
PROVINCE_CENTRES: dict[str, tuple[float, float, float, float]] = {
    "groningen": (53.25, 6.75, 0.12, 0.30),
    "friesland": (53.05, 5.80, 0.15, 0.40),
    "drenthe": (52.85, 6.60, 0.18, 0.28),
    "overijssel": (52.45, 6.40, 0.18, 0.40),
    "flevoland": (52.50, 5.55, 0.10, 0.22),
    "gelderland": (52.05, 5.90, 0.18, 0.55),
    "utrecht": (52.08, 5.20, 0.08, 0.18),
    "noord-holland": (52.55, 4.85, 0.28, 0.12),
    "zuid-holland": (51.95, 4.50, 0.15, 0.28),
    "zeeland": (51.45, 3.85, 0.12, 0.28),
    "noord-brabant": (51.55, 5.20, 0.12, 0.65),
    "limburg": (51.20, 5.95, 0.32, 0.08),
}
# The letters of real PC6 codes (F, I, O, Q, U and Y are not used); SA, SD and
# SS are never issued.
PC6_LETTERS = "ABCDEGHJKLMNPRSTVWXZ"
PC6_PAIRS = tuple(
    a + b for a in PC6_LETTERS for b in PC6_LETTERS if a + b not in {"SA", "SD", "SS"}
)
_NAME_HEADS = (
    "Ooster", "Wester", "Noorder", "Zuider", "Hoog", "Laag", "Nieuw", "Oud",
    "Groot", "Klein", "Brede", "Lange", "Molen", "Kerk", "Bos", "Zand",
    "Berg", "Wolde", "Vlier", "Linde", "Eike", "Haze", "Ganze", "Rode",
)  # fmt: skip
_NAME_TAILS = (
    "veen", "broek", "dam", "dijk", "horst", "hoven", "wijk", "kerk",
    "loo", "rade", "meer", "berg", "hout", "donk", "wolde", "hem",
    "zijl", "sloot", "voorde", "beek", "rijp", "huizen", "wierde", "dorp",
)  # fmt: skip

_TEXTS: dict[str, tuple[str, str, str, str]] = {
    "urban-young": (
        "Jonge stedelingen",
        "Urban young adults",
        (
            "Synthetisch segment: alleenstaanden en jonge stellen in de stad, vaak uit, zelden "
            "met een abonnement."
        ),
        "Synthetic segment: singles and young couples in cities; go out often, seldom subscribe.",
    ),
    "students": (
        "Studenten",
        "Students",
        "Synthetisch segment: studenten in studentensteden, weinig te besteden, veel tijd.",
        "Synthetic segment: students in university towns; little money, much time.",
    ),
    "young-families": (
        "Jonge gezinnen",
        "Young families",
        "Synthetisch segment: gezinnen met jonge kinderen, vooral in groeikernen en buitenwijken.",
        "Synthetic segment: families with young children, mostly in new towns and suburbs.",
    ),
    "established-families": (
        "Gevestigde gezinnen",
        "Established families",
        "Synthetisch segment: gezinnen met oudere kinderen en een ruim huis.",
        "Synthetic segment: families with older children and a spacious home.",
    ),
    "culture-lovers": (
        "Cultuurliefhebbers",
        "Culture lovers",
        "Synthetisch segment: hoogopgeleide huishoudens die vaak en breed cultuur bezoeken.",
        "Synthetic segment: highly educated households that visit culture often and widely.",
    ),
    "comfortable-seniors": (
        "Welgestelde senioren",
        "Comfortable seniors",
        "Synthetisch segment: gepensioneerden met tijd en middelen, trouwe bezoekers.",
        "Synthetic segment: retired people with time and means; loyal visitors.",
    ),
    "village-life": (
        "Dorpsleven",
        "Village life",
        "Synthetisch segment: huishoudens in dorpen en op het platteland, ver van de grote podia.",
        "Synthetic segment: households in villages and the countryside, far from the large venues.",
    ),
}
SEGMENTS: tuple[Segment, ...] = tuple(
    Segment(
        id=segment,
        name=Texts(nl=_TEXTS[segment][0], en=_TEXTS[segment][1]),
        description=Texts(nl=_TEXTS[segment][2], en=_TEXTS[segment][3]),
    )
    for segment in DEMO_SEGMENTS
)


def synthetic_model_key() -> SigningKey:
    """THE PUBLIC DEMO KEY: an Ed25519 key whose secret half anyone can derive
    from :data:`DEMO_KEY_SEED`. It signs the synthetic release, so that the
    demo runs the same verification as a real install; it must never sign or
    be pinned for a real release (``protocol.segment_release`` refuses a
    release it signs that does not call itself synthetic)."""
    return SigningKey(Ed25519PrivateKey.from_private_bytes(hashlib.sha256(DEMO_KEY_SEED).digest()))


def synthetic_release(
    seed: int = SEED,
    *,
    pc6_per_pc4: int = PC6_PER_PC4,
    households: int = HOUSEHOLDS,
    version: str = SYNTHETIC_VERSION,
) -> bytes:
    """The synthetic release's bytes, signed with the public demo key.

    ``synthetic-2026.1`` names the release of the defaults only; a smaller or
    otherwise different one (for fast tests) needs a version of its own."""
    if version == SYNTHETIC_VERSION and (seed, pc6_per_pc4, households) != (
        SEED,
        PC6_PER_PC4,
        HOUSEHOLDS,
    ):
        raise UsageError(
            f"{SYNTHETIC_VERSION} names the synthetic release of the default seed and sizes",
            hint="give a variant a version of its own",
        )
    tables = synthetic_tables(seed, pc6_per_pc4=pc6_per_pc4, households=households)
    return signed_synthetic(tables, version=version)


def signed_synthetic(tables: ModelTables, *, version: str = SYNTHETIC_VERSION) -> bytes:
    """``tables`` (of :func:`synthetic_tables`) as a release signed with the public
    demo key: for a caller that also reads the tables (the demo's sector lives
    at their PC6 codes) without generating them twice."""
    return tables.pack(
        version=version, created=SYNTHETIC_CREATED, synthetic=True, key=synthetic_model_key()
    )


def synthetic_tables(
    seed: int = SEED, *, pc6_per_pc4: int = PC6_PER_PC4, households: int = HOUSEHOLDS
) -> ModelTables:
    """The tables of the synthetic release (see the module docstring)."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, reproducible by design
    draw = rng.random
    codes = _pc4_codes(draw)
    names = _shuffled([h + t for h in _NAME_HEADS for t in _NAME_TAILS if h.lower() != t], draw)
    municipalities: list[tuple[str, str, str]] = []
    areas: list[tuple[int, str, str, float, float, float]] = []  # pc4, code, province, lat, lon, u
    for province in PROVINCES:
        own = [c for c in codes if _province_of(c) == province]
        runs = _runs(own, max(1, round(MUNICIPALITIES * len(own) / len(codes))), draw)
        lat0, lon0, dlat, dlon = PROVINCE_CENTRES[province]
        for run in runs:
            code = f"GM{len(municipalities) + 1:04d}"
            municipalities.append((code, names[len(municipalities)], province))
            x = draw()
            urbanity = x * x * x  # most municipalities rural, a few cities
            mlat = lat0 + (draw() - 0.5) * 2 * dlat
            mlon = lon0 + (draw() - 0.5) * 2 * dlon
            for area in run:
                u = min(1.0, max(0.0, urbanity + 0.25 * (draw() - 0.5)))
                lat = _clamp(mlat + (draw() - 0.5) * 0.08, LAT_RANGE, 0.15)
                lon = _clamp(mlon + (draw() - 0.5) * 0.12, LON_RANGE, 0.2)
                areas.append((area, code, province, lat, lon, u))
    weights = [(300 + 5000 * u) * (0.5 + draw()) for *_, u in areas]
    scale = households / math.fsum(weights)
    shares = [_segment_shares(u, draw) for *_, u in areas]
    per_segment = [_split(round(w * scale), s) for w, s in zip(weights, shares, strict=True)]
    pc4 = pl.DataFrame(
        {
            "pc4": [a[0] for a in areas],
            "municipality": [a[1] for a in areas],
            "province": [a[2] for a in areas],
            "lat": [a[3] for a in areas],
            "lon": [a[4] for a in areas],
            **{seg: [n[i] for n in per_segment] for i, seg in enumerate(DEMO_SEGMENTS)},
        },
        schema=pc4_columns(DEMO_SEGMENTS),
    )
    pc6 = _pc6(areas, weights, shares, pc6_per_pc4 * len(areas), draw)
    frame = pl.DataFrame(
        municipalities, schema=["code", "name", "province"], orient="row"
    ).with_columns(pl.col("code", "name", "province").cast(pl.String))
    return ModelTables(segments=SEGMENTS, municipalities=frame, pc4=pc4, pc6=pc6)


def _pc4_codes(draw: Callable[[], float]) -> list[int]:
    """About 4,000 codes: each hundred gets a density, and codes thin out
    towards its end (as real ones do); none ends in 00."""
    density: dict[int, float] = {}
    kept = []
    for code in range(1000, 10000):
        block = code // 100
        if block not in density:
            density[block] = 0.4 + 0.4 * draw()
        if code % 100 and draw() < density[block] * (1 - 0.5 * (code % 100) / 100):
            kept.append(code)
    return kept


def _province_of(pc4: int) -> str:
    return next(p for lo, hi, p in PC4_RANGES if lo <= pc4 <= hi)


def _shuffled(items: list[str], draw: Callable[[], float]) -> list[str]:
    """Fisher–Yates with ``random()`` only (whose sequence Python keeps stable)."""
    out = list(items)
    for i in range(len(out) - 1, 0, -1):
        j = int(draw() * (i + 1))
        out[i], out[j] = out[j], out[i]
    return out


def _runs(codes: list[int], k: int, draw: Callable[[], float]) -> list[list[int]]:
    """``codes`` (sorted) cut into at most ``k`` non-empty runs of varying length."""
    k = min(k, len(codes))
    weights = [0.3 + draw() for _ in range(k)]
    total = math.fsum(weights)
    cuts, acc = [0], 0.0
    for w in weights:
        acc += w
        cuts.append(round(len(codes) * acc / total))
    cuts[-1] = len(codes)
    return [codes[a:b] for a, b in itertools.pairwise(cuts) if b > a]


def _clamp(value: float, bounds: tuple[float, float], margin: float) -> float:
    return min(bounds[1] - margin, max(bounds[0] + margin, value))


def _segment_shares(u: float, draw: Callable[[], float]) -> list[float]:
    """A PC4's shares by its urbanity ``u`` (0 rural … 1 urban), with noise; in
    the order of ``DEMO_SEGMENTS``."""
    r = 1 - u
    base = (
        0.3 + 2.0 * u,  # urban-young
        0.05 + 1.2 * u * u,  # students
        1.0 + 0.3 * r,  # young-families
        1.0 + 0.6 * r,  # established-families
        0.4 + 0.8 * u,  # culture-lovers
        0.9,  # comfortable-seniors
        0.1 + 2.0 * r * r,  # village-life
    )
    weights = [b * (0.6 + 0.8 * draw()) for b in base]
    total = math.fsum(weights)
    return [w / total for w in weights]


def _split(total: int, shares: list[float]) -> list[int]:
    """``total`` households over the segments by ``shares``, summing to ``total``
    exactly (largest remainders)."""
    exact = [total * s for s in shares]
    whole = [int(x) for x in exact]
    rest = total - sum(whole)
    for i in sorted(range(len(shares)), key=lambda i: (whole[i] - exact[i], i))[:rest]:
        whole[i] += 1
    return whole


def _pc6(
    areas: list[tuple[int, str, str, float, float, float]],
    weights: list[float],
    shares: list[list[float]],
    target: int,
    draw: Callable[[], float],
) -> pl.DataFrame:
    """PC6 codes in proportion to each PC4's households, each with shares that
    vary around its PC4's (each segment's share times a factor from 0.5 to 1.5,
    then normalised)."""
    # A PC4 has at most len(PC6_PAIRS) codes; what the largest would have had
    # beyond that goes to the others, so that the total stays near ``target``.
    wanted = [target * w / math.fsum(weights) for w in weights]
    full = [x >= len(PC6_PAIRS) for x in wanted]
    rest = math.fsum(x for x, f in zip(wanted, full, strict=True) if not f)
    scale = (target - len(PC6_PAIRS) * sum(full)) / rest
    codes: list[str] = []
    parent: list[int] = []
    for (pc4, *_), x, f in zip(areas, wanted, full, strict=True):
        n = len(PC6_PAIRS) if f else min(len(PC6_PAIRS), max(1, round(x * scale)))
        step = len(PC6_PAIRS) / n
        codes.extend(f"{pc4}{PC6_PAIRS[int(j * step)]}" for j in range(n))
        parent.extend([pc4] * n)
    size = len(codes)
    noisy = pl.DataFrame(
        {
            "pc6": codes,
            "pc4": pl.Series(parent, dtype=pl.Int32),
            **{f"_n{i}": [0.5 + draw() for _ in range(size)] for i in range(len(DEMO_SEGMENTS))},
        }
    ).join(
        pl.DataFrame(
            {
                "pc4": pl.Series([a[0] for a in areas], dtype=pl.Int32),
                **{f"_s{i}": [s[i] for s in shares] for i in range(len(DEMO_SEGMENTS))},
            }
        ),
        on="pc4",
        how="left",
        maintain_order="left",
    )
    weighted = noisy.select(
        "pc6",
        *((pl.col(f"_s{i}") * pl.col(f"_n{i}")).alias(seg) for i, seg in enumerate(DEMO_SEGMENTS)),
    )
    row_total = pl.sum_horizontal(*DEMO_SEGMENTS)
    return weighted.select(
        "pc6", *((pl.col(seg) / row_total).alias(seg) for seg in DEMO_SEGMENTS)
    ).cast(pc6_columns(DEMO_SEGMENTS))  # type: ignore[arg-type]
