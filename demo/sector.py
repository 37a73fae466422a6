"""A synthetic cultural sector with Dutch-style box-office exports.

Households (with fake names, e-mail addresses, postcodes and house numbers
from Faker's nl_NL name lists) live in provinces and visit institutions,
mostly near home and some further away, so that many households visit several
institutions. Each institution gets an export in its own dialect of CSV (``;``,
decimal comma, dd-mm-yyyy, some cp1252) plus the mapping file its IT would
write. The generator is seeded: the same seed gives byte-identical exports.

**Institution sizes** (distinct households a quarter) follow a log-normal
distribution with median :data:`SIZE_MEDIAN` (4,000) and log-standard
deviation :data:`SIZE_SIGMA` (1.1), truncated to [1,000, 100,000] (drawn by
the inverse CDF on the truncated range, not clipped: no pile at the edges):
many small institutions, a few large ones. After truncation the median is
about 4,600; about 33% are below 3,000 households, 13% at 15,000 or more,
1% above 50,000. This is an *assumption*, not fitted data: it is chosen to
span the range the taskforce named (from ~1,000 to ~100,000 households a
quarter) with the general shape of public Dutch sector figures, where most
museums, venues and film houses are small and a handful of national
institutions and large venues draw most visits. The sizes are drawn
stratified (one draw per 1/n-quantile band, in a seeded random order), so
that even the 16-institution demo shows the whole spread rather than
whatever a few random draws give. Size classes (for peer groups) use
:data:`SIZE_CLASS_EDGES`.

**Disciplines** follow a fixed 20-slot pattern (:data:`DISCIPLINE_PATTERN`:
30% museums, 25% theaters, 20% concert halls, 10% film houses, 10%
festivals, 5% dance houses), also an assumption in the shape of the sector,
so that a sector of 50–100 institutions has peer groups of at least 5 in
the main disciplines.

**Households** are a pool spread over the provinces by population (CBS
figures, rounded); each has a culture propensity (log-normal), and each
institution draws its audience without replacement with probability
proportional to that propensity, boosted for households of its own
province. Frequent culture-goers thus visit several institutions (about 30%
of the households that visit anything visit two or more institutions a
quarter) and large institutions draw from the whole country. Per household
and institution there are 1–5 orders (about 70% one), each of 1–4 tickets.

Everything is generated column-wise with numpy and polars (synthetic data,
not privacy noise: DP noise comes only from OpenDP): the demo's 170,000
export rows in under half a second, 60 institutions (640,000 rows) in
about 4 s.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from statistics import NormalDist

import numpy as np
import polars as pl
import tomli_w
from faker.providers.person.nl_NL import Provider as DutchNames

from agent.periods import first_day, label_of, period_code_of
from agent.regions import pc4_ranges_of

PERIOD = "2026-Q3"

# Institution sizes: distinct households a quarter (see the module docstring).
SIZE_MEDIAN = 4_000
SIZE_SIGMA = 1.1
SIZE_MIN = 1_000
SIZE_MAX = 100_000
# small < 3,000 ≤ medium < 15,000 ≤ large (households a quarter)
SIZE_CLASS_EDGES = (3_000, 15_000)
# Household pool: institution audiences per pooled household (sum of the
# sizes / pool), but at least POOL_OVER_LARGEST times the largest audience.
# At 0.5, about 30% of the households that visit anything in the quarter
# visit two or more institutions and about 10% three or more.
AUDIENCES_PER_HOUSEHOLD = 0.5
POOL_OVER_LARGEST = 3
PROPENSITY_SIGMA = 1.0  # log-sd of a household's culture propensity
LOCAL_BOOST = 12.0  # weight of a household in the institution's own province
# How much more than average the households of a segment go out (an assumption
# for the demo, in the shape the sector describes: culture lovers and seniors
# over-represented, young families and villages under-represented).
SEGMENT_AFFINITY: dict[str, float] = {
    "culture-lovers": 3.0, "comfortable-seniors": 1.6, "urban-young": 1.3, "students": 1.0,
    "established-families": 0.8, "young-families": 0.6, "village-life": 0.5,
}  # fmt: skip

# (city, province); institutions are placed in these cities in turn.
CITIES: tuple[tuple[str, str], ...] = (
    ("Amsterdam", "noord-holland"), ("Haarlem", "noord-holland"), ("Alkmaar", "noord-holland"),
    ("Rotterdam", "zuid-holland"), ("Den Haag", "zuid-holland"), ("Leiden", "zuid-holland"),
    ("Dordrecht", "zuid-holland"), ("Delft", "zuid-holland"),
    ("Utrecht", "utrecht"), ("Amersfoort", "utrecht"),
    ("Arnhem", "gelderland"), ("Nijmegen", "gelderland"), ("Apeldoorn", "gelderland"),
    ("Eindhoven", "noord-brabant"), ("Tilburg", "noord-brabant"), ("Breda", "noord-brabant"),
    ("'s-Hertogenbosch", "noord-brabant"),
    ("Groningen", "groningen"), ("Zwolle", "overijssel"), ("Enschede", "overijssel"),
    ("Maastricht", "limburg"), ("Heerlen", "limburg"),
    ("Leeuwarden", "friesland"), ("Middelburg", "zeeland"), ("Assen", "drenthe"),
    ("Almere", "flevoland"),
)  # fmt: skip
# Inhabitants per province in millions (CBS, 2024, rounded): where households live.
POPULATION: dict[str, float] = {
    "groningen": 0.59, "friesland": 0.66, "drenthe": 0.50, "overijssel": 1.18,
    "flevoland": 0.44, "gelderland": 2.13, "utrecht": 1.39, "noord-holland": 2.95,
    "zuid-holland": 3.83, "zeeland": 0.39, "noord-brabant": 2.63, "limburg": 1.12,
}  # fmt: skip

KINDS: dict[str, tuple[str, dict[str, str]]] = {
    # discipline: (name template, export genre → sector discipline)
    "theater": ("Stadsschouwburg {city}", {"Toneel": "theater", "Cabaret": "cabaret"}),
    "music": ("Muziekgebouw {city}", {"Klassiek": "music", "Pop": "music", "Jazz": "music"}),
    "museum": ("Museum {city}", {"Tentoonstelling": "museum", "Rondleiding": "museum"}),
    "film": ("Filmhuis {city}", {"Speelfilm": "film", "Documentaire": "film"}),
    "festival": ("Zomerfestival {city}", {"Festival": "festival", "Concert": "music"}),
    "dance": ("Danshuis {city}", {"Dans": "dance", "Jeugdvoorstelling": "youth"}),
}
DISCIPLINE_PATTERN: tuple[str, ...] = (
    "museum", "theater", "music", "museum", "film", "theater", "music", "museum", "festival",
    "theater", "museum", "dance", "music", "museum", "theater", "film", "museum", "music",
    "festival", "theater",
)  # fmt: skip
HEADERS = {
    "order_id": "Bestelnummer",
    "visit_date": "Voorstellingsdatum",
    "name": "Naam",
    "email": "E-mailadres",
    "postcode": "Postcode",
    "house_number": "Huisnummer",
    "tickets": "Aantal kaarten",
    "price": "Prijs",
    "event": "Voorstelling",
    "discipline": "Genre",
}
_LETTERS = list("ABCEGHJKLMNPRTVWXZ")
_DOMAINS = ["gmail.com", "hotmail.nl", "ziggo.nl", "kpnmail.nl", "outlook.com"]
_ADDITIONS = ["", "", "", "", "A", "B", "2", "bis"]
_ORDERS_DECAY = 1.2  # P(k orders) ∝ exp(-1.2 (k - 1)), k = 1..5: about 70% one order
_MAX_ORDERS = 5
_TICKETS = [1, 2, 2, 2, 3, 4]
_PRICES_CENTS = [1750, 2250, 2700, 3150]


@dataclass(frozen=True)
class InstitutionSpec:
    slug: str
    name: str
    discipline: str
    province: str
    encoding: str
    households: int = 0  # distinct households in its export (the audience drawn)
    size_class: str = "medium"  # from the unscaled size (SIZE_CLASS_EDGES)
    pc4: str | None = None  # where it is, for its catchment (only with ``places``)


@dataclass(frozen=True)
class Sector:
    institutions: tuple[InstitutionSpec, ...]
    rows: pl.DataFrame  # every export row, with its institution slug (ground truth)


def size_class_of(households: int) -> str:
    """Peer-group size class of an institution with this many households a quarter."""
    small, large = SIZE_CLASS_EDGES
    return "small" if households < small else "large" if households >= large else "medium"


def institution_sizes(n: int, rng: np.random.Generator) -> list[int]:
    """``n`` sizes from the truncated log-normal, one per 1/n-quantile band, shuffled."""
    dist = NormalDist()
    lo = dist.cdf(math.log(SIZE_MIN / SIZE_MEDIAN) / SIZE_SIGMA)
    hi = dist.cdf(math.log(SIZE_MAX / SIZE_MEDIAN) / SIZE_SIGMA)
    bands = (np.arange(n) + rng.random(n)) / n
    sizes = [
        round(SIZE_MEDIAN * math.exp(SIZE_SIGMA * dist.inv_cdf(lo + (hi - lo) * float(u))))
        for u in bands
    ]
    return [sizes[i] for i in rng.permutation(n)]


def default_pool(sizes: Sequence[int]) -> int:
    """Households in the pool for these audience sizes (module constants)."""
    by_sum = round(sum(sizes) / AUDIENCES_PER_HOUSEHOLD)
    return max(by_sum, POOL_OVER_LARGEST * max(sizes, default=1))


def _institutions(
    n: int, sizes: Sequence[int], scale: float, rng: np.random.Generator
) -> tuple[InstitutionSpec, ...]:
    specs = []
    seen: dict[str, int] = {}
    cp1252 = rng.random(n) < 0.3
    for i in range(n):
        discipline = DISCIPLINE_PATTERN[i % len(DISCIPLINE_PATTERN)]
        city, province = CITIES[(i * 7) % len(CITIES)]
        name = KINDS[discipline][0].format(city=city)
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            name = f"{name} {seen[name]}"
        slug = name.lower().replace(" ", "-").replace("'", "")
        specs.append(
            InstitutionSpec(
                slug=slug,
                name=name,
                discipline=discipline,
                province=province,
                encoding="cp1252" if cp1252[i] else "utf-8",
                households=max(1, round(sizes[i] * scale)),
                size_class=size_class_of(sizes[i]),
            )
        )
    return tuple(specs)


def _addresses(n: int, rng: np.random.Generator, places: pl.DataFrame | None) -> pl.DataFrame:
    """Where ``n`` households live: ``province`` and ``pc6``.

    Without ``places``: provinces by population, any PC4 of the province, two
    random letters. With ``places`` (columns ``pc6``, ``province``,
    ``households``: a segment model's PC6 codes and how many households each
    has), each household lives at a PC6 drawn in proportion to its households,
    so that the sector's visitors are drawn from the model's population."""
    letters = pl.Series(_LETTERS)
    if places is not None:
        weights = places["households"].cast(pl.Float64).to_numpy()
        at = rng.choice(places.height, size=n, p=weights / weights.sum())
        affinity = places["affinity"] if "affinity" in places.columns else pl.lit(1.0)
        return places.select("province", "pc6", affinity.alias("affinity"))[at]
    provinces = sorted(POPULATION)
    weights = np.array([POPULATION[p] for p in provinces])
    where = rng.choice(len(provinces), size=n, p=weights / weights.sum())
    pc4 = np.zeros(n, dtype=np.int64)
    for code, province in enumerate(provinces):
        numbers = np.concatenate([np.arange(lo, hi + 1) for lo, hi in pc4_ranges_of(province)])
        mask = where == code
        pc4[mask] = numbers[rng.integers(len(numbers), size=int(mask.sum()))]
    return pl.DataFrame(
        {
            "province": pl.Series(provinces).gather(where),
            "_pc4": pc4,
            "_l1": letters.gather(rng.integers(len(_LETTERS), size=n)),
            "_l2": letters.gather(rng.integers(len(_LETTERS), size=n)),
        }
    ).select(
        "province",
        pl.concat_str(pl.col("_pc4").cast(pl.String), "_l1", "_l2").alias("pc6"),
        pl.lit(1.0).alias("affinity"),
    )


def _households(
    n: int, rng: np.random.Generator, places: pl.DataFrame | None = None
) -> pl.DataFrame:
    """The household pool: where each lives, its address, name and e-mail."""
    addresses = _addresses(n, rng, places)
    first_names = DutchNames.first_names_male + DutchNames.first_names_female
    frame = pl.DataFrame(
        {
            "household": np.arange(n, dtype=np.int64),
            "province": addresses["province"],
            "pc6": addresses["pc6"],
            "number": rng.integers(1, 241, size=n),
            "addition": pl.Series(_ADDITIONS).gather(rng.integers(len(_ADDITIONS), size=n)),
            "_first": pl.Series(first_names).gather(rng.integers(len(first_names), size=n)),
            "_last": pl.Series(DutchNames.last_names).gather(
                rng.integers(len(DutchNames.last_names), size=n)
            ),
            "_n": rng.integers(1, 100, size=n),
            "_domain": pl.Series(_DOMAINS).gather(rng.integers(len(_DOMAINS), size=n)),
            "propensity": rng.lognormal(0.0, PROPENSITY_SIGMA, size=n)
            * addresses["affinity"].to_numpy(),
        }
    )
    local = pl.concat_str("_first", pl.lit("."), "_last").str.to_lowercase()
    return frame.select(
        "household",
        "province",
        "pc6",
        "number",
        "addition",
        pl.concat_str("_first", pl.lit(" "), "_last").alias("name"),
        pl.concat_str(
            local.str.replace_all(" ", "", literal=True).str.replace_all("'", "", literal=True),
            pl.col("_n").cast(pl.String),
            pl.lit("@"),
            "_domain",
        ).alias("email"),
        "propensity",
    )


def places_of(
    pc4: pl.DataFrame,
    pc6: pl.DataFrame,
    segments: Sequence[str],
    affinity: dict[str, float] | None = None,
) -> pl.DataFrame:
    """``places`` for :func:`generate_sector` from a segment model's tables: each
    PC6 with its province and its PC4's households split evenly over the PC4's
    PC6 codes (a model gives households per PC4, shares per PC6), and its
    ``affinity``: how much more than average its households go out, from its
    segment shares (``affinity`` per segment, default :data:`SEGMENT_AFFINITY`
    where a segment is named there, else 1), so that some segments are reached
    more than others, as the penetration figures should then show."""
    weights = SEGMENT_AFFINITY if affinity is None else affinity
    mix = pl.sum_horizontal(*(pl.col(s) * weights.get(s, 1.0) for s in segments))
    areas = pc4.select(
        pl.col("pc4").cast(pl.String).str.zfill(4),
        "province",
        pl.sum_horizontal(*segments).alias("_households"),
    )
    return (
        pc6.select("pc6", pl.col("pc6").str.slice(0, 4).alias("pc4"), mix.alias("affinity"))
        .join(areas, on="pc4", how="inner")
        .with_columns((pl.col("_households") / pl.len().over("pc4")).alias("households"))
        .select("pc6", "province", "households", "affinity")
        .sort("pc6")
    )


def _located(specs: Sequence[InstitutionSpec], places: pl.DataFrame) -> tuple[InstitutionSpec, ...]:
    """Each institution placed at a PC4 of its province: the most populous one
    that no earlier institution took (a city's centre, in a synthetic model)."""
    by_area = (
        places.group_by(pl.col("pc6").str.slice(0, 4).alias("pc4"), "province")
        .agg(pl.col("households").sum())
        .sort(["households", "pc4"], descending=[True, False])
    )
    taken: set[str] = set()
    located = []
    for spec in specs:
        areas = by_area.filter(pl.col("province") == spec.province)["pc4"]
        pc4 = next((a for a in areas if a not in taken), None)
        if pc4 is not None:
            taken.add(pc4)
        located.append(replace(spec, pc4=pc4))
    return tuple(located)


def _audience(
    size: int, weights: np.ndarray, local: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """``size`` distinct households drawn with probability ∝ weight (local boosted):
    exponential clocks, the first ``size`` to ring (Efraimidis–Spirakis)."""
    clocks = rng.exponential(size=len(weights)) / np.where(local, weights * LOCAL_BOOST, weights)
    size = min(size, len(weights))
    return np.sort(np.argpartition(clocks, size - 1)[:size])


def generate_sector(
    *,
    institutions: int = 16,
    households: int | None = None,
    seed: int = 7,
    sizes: Sequence[int] | None = None,
    places: pl.DataFrame | None = None,
    period: str = PERIOD,
    draw: int = 0,
) -> Sector:
    """A seeded synthetic sector.

    ``places``: where households live (:func:`_addresses`), e.g. from a segment
    model release (:func:`places_of`); each institution then also gets a PC4
    of its own province, its most populous one not yet taken, for its catchment.

    ``sizes``: each institution's households a quarter (default: drawn from
    the size distribution). ``households``: size of the household pool;
    by default :func:`default_pool` of the sizes. A smaller pool gives a
    scaled-down sector for fast tests: every audience is scaled by the same
    factor (pool / default pool), so the shape of the sector is kept while
    the size classes still follow the unscaled sizes.

    ``period``: the quarter the visits fall in. ``draw``: which quarter's
    audiences these are. The same ``seed`` with another ``draw`` gives the
    same institutions and the same households, each institution drawing a new
    audience from them (so some households come back, as they do), with
    order numbers that do not collide with another draw's."""
    rng = np.random.default_rng(seed)
    drawn = list(sizes) if sizes is not None else institution_sizes(institutions, rng)
    if len(drawn) != institutions:
        raise ValueError(f"{institutions} institutions but {len(drawn)} sizes")
    pool_size = households if households is not None else default_pool(drawn)
    scale = min(1.0, pool_size / default_pool(drawn)) if households is not None else 1.0
    specs = _institutions(institutions, drawn, scale, rng)
    if places is not None:
        specs = _located(specs, places)
    pool = _households(pool_size, rng, places)
    if draw:
        rng = np.random.default_rng([seed, draw])
    start = first_day(period)
    days = (first_day(label_of(period_code_of(period) + 1)) - start).days
    propensity = pool["propensity"].to_numpy()
    home = pool["province"].to_numpy()

    chosen = [_audience(s.households, propensity, home == s.province, rng) for s in specs]
    household = np.concatenate([np.zeros(0, dtype=np.int64), *chosen])
    institution = np.repeat(np.arange(len(specs)), [len(c) for c in chosen])
    order_p = np.exp(-_ORDERS_DECAY * np.arange(_MAX_ORDERS))
    orders = 1 + rng.choice(_MAX_ORDERS, size=len(household), p=order_p / order_p.sum())
    household = np.repeat(household, orders)
    institution = np.repeat(institution, orders)
    n = len(household)

    genre_tables = [list(KINDS[s.discipline][1]) for s in specs]
    first_genre = pl.Series([g[0] for g in genre_tables]).gather(institution)
    # 85% the institution's main genre, else any of its genres (uniform per row).
    genre_index = np.floor(rng.random(n) * np.array([len(g) for g in genre_tables])[institution])
    flat = [g for table in genre_tables for g in table]
    offsets = np.cumsum([0] + [len(g) for g in genre_tables])[:-1]
    some_genre = pl.Series(flat).gather((offsets[institution] + genre_index).astype(np.int64))
    missing = rng.random(n)
    tickets = np.array(_TICKETS)[rng.integers(len(_TICKETS), size=n)]
    cents = tickets * np.array(_PRICES_CENTS)[rng.integers(len(_PRICES_CENTS), size=n)]
    visits = pl.DataFrame(
        {
            "institution": pl.Series([s.slug for s in specs]).gather(institution),
            "household": household,
            "order_id": np.arange(100001, 100001 + n) + draw * 10_000_000,
            "_day": rng.integers(days, size=n),
            "_missing": missing,
            "_pc_style": rng.random(n),
            "_sep": pl.Series(["", " ", "-"]).gather(rng.integers(3, size=n)),
            "_lower": rng.random(n) < 0.5,
            "tickets": tickets,
            "_cents": cents,
            "_event": rng.integers(1, 41, size=n),
            "_main": rng.random(n) < 0.85,
            "_main_genre": first_genre,
            "_any_genre": some_genre,
        }
    ).join(pool.drop("propensity"), on="household", how="left", maintain_order="left")

    pc6 = pl.col("pc6")
    postcode = (
        pl.when(pl.col("_missing") < 0.04)
        .then(pl.lit(""))
        .when(pl.col("_pc_style") < 0.6)
        .then(pl.concat_str(pc6.str.slice(0, 4), pl.lit(" "), pc6.str.slice(4)))
        .when(pl.col("_pc_style") < 0.9)
        .then(pc6)
        .otherwise(pc6.str.to_lowercase())
    )
    addition = pl.col("addition")
    house = (
        pl.when(addition == "")
        .then(pl.col("number").cast(pl.String))
        .otherwise(
            pl.concat_str(
                pl.col("number").cast(pl.String),
                "_sep",
                pl.when("_lower").then(addition.str.to_lowercase()).otherwise(addition),
            )
        )
    )
    rows = visits.select(
        "institution",
        "household",
        pl.col("order_id").cast(pl.String),
        (pl.lit(start) + pl.duration(days=pl.col("_day")))
        .dt.strftime("%d-%m-%Y")
        .alias("visit_date"),
        "name",
        pl.when(pl.col("_missing").is_between(0.02, 0.06, closed="none"))
        .then(pl.lit(""))
        .otherwise(pl.col("email"))
        .alias("email"),
        postcode.alias("postcode"),
        house.alias("house_number"),
        pl.col("tickets").cast(pl.String),
        pl.format(
            "{},{}",
            pl.col("_cents") // 100,
            (pl.col("_cents") % 100).cast(pl.String).str.zfill(2),
        ).alias("price"),
        pl.format("Voorstelling {}", "_event").alias("event"),
        pl.when("_main").then("_main_genre").otherwise("_any_genre").alias("discipline"),
    )
    return Sector(institutions=specs, rows=rows)


def sector_disciplines() -> list[str]:
    """The disciplines the synthetic exports map to (what the demo table shows)."""
    return sorted({d for _, genres in KINDS.values() for d in genres.values()})


def mapping_toml(spec: InstitutionSpec) -> str:
    return tomli_w.dumps(
        {
            "source": {
                "encoding": spec.encoding,
                "delimiter": ";",
                "decimal": ",",
                "date_format": "%d-%m-%Y",
            },
            "columns": {c: h for c, h in HEADERS.items() if c != "name"},
            "discipline_map": dict(KINDS[spec.discipline][1]),
        }
    )


def write_exports(sector: Sector, agents_dir: Path, period: str = PERIOD) -> dict[str, Path]:
    """Write each institution's export of ``period`` and its mapping; return the export paths."""
    paths = {}
    parts = sector.rows.partition_by("institution", as_dict=True, maintain_order=True)
    for spec in sector.institutions:
        folder = agents_dir / spec.slug / "exports"
        folder.mkdir(parents=True, exist_ok=True)
        export = parts[(spec.slug,)].select(list(HEADERS)).rename(HEADERS)
        path = folder / f"verkoop-{period.lower()}.csv"
        text = export.write_csv(separator=";")
        path.write_bytes(text.encode(spec.encoding, errors="replace"))
        (agents_dir / spec.slug / "mapping.toml").write_text(mapping_toml(spec), encoding="utf-8")
        paths[spec.slug] = path
    return paths
