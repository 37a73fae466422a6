"""A synthetic cultural sector with Dutch-style box-office exports.

Households (with fake names, e-mail addresses, postcodes and house numbers
from Faker's nl_NL locale) live in provinces and visit institutions, mostly
near home and some further away, so that many households visit several
institutions. Each institution gets an export in its own dialect of CSV (``;``,
decimal comma, dd-mm-yyyy, some cp1252) plus the mapping file its IT would
write. The generator is seeded: the same seed gives byte-identical exports.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import polars as pl
from faker import Faker

from agent.regions import pc4_ranges_of

PERIOD = "2026-Q3"
PERIOD_START = date(2026, 7, 1)
PERIOD_DAYS = 92

# (city, province); institutions are placed in these cities.
CITIES: tuple[tuple[str, str], ...] = (
    ("Amsterdam", "noord-holland"), ("Haarlem", "noord-holland"),
    ("Rotterdam", "zuid-holland"), ("Den Haag", "zuid-holland"), ("Leiden", "zuid-holland"),
    ("Utrecht", "utrecht"), ("Amersfoort", "utrecht"),
    ("Arnhem", "gelderland"), ("Nijmegen", "gelderland"),
    ("Eindhoven", "noord-brabant"), ("Tilburg", "noord-brabant"),
    ("Groningen", "groningen"), ("Zwolle", "overijssel"), ("Maastricht", "limburg"),
    ("Leeuwarden", "friesland"), ("Middelburg", "zeeland"),
)  # fmt: skip

KINDS: dict[str, tuple[str, dict[str, str]]] = {
    # discipline: (name template, export genre → sector discipline)
    "theater": ("Stadsschouwburg {city}", {"Toneel": "theater", "Cabaret": "cabaret"}),
    "music": ("Muziekgebouw {city}", {"Klassiek": "music", "Pop": "music", "Jazz": "music"}),
    "museum": ("Museum {city}", {"Tentoonstelling": "museum", "Rondleiding": "museum"}),
}
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
_LETTERS = "ABCEGHJKLMNPRTVWXZ"


@dataclass(frozen=True)
class InstitutionSpec:
    slug: str
    name: str
    discipline: str
    province: str
    encoding: str


@dataclass(frozen=True)
class Sector:
    institutions: tuple[InstitutionSpec, ...]
    rows: pl.DataFrame  # every export row, with its institution slug (ground truth)


def _institutions(n: int, rng: random.Random) -> tuple[InstitutionSpec, ...]:
    kinds = list(KINDS)
    specs = []
    for i in range(n):
        discipline = kinds[i % len(kinds)]
        city, province = CITIES[(i * 7) % len(CITIES)]
        name = KINDS[discipline][0].format(city=city)
        slug = name.lower().replace(" ", "-")
        specs.append(
            InstitutionSpec(
                slug=slug,
                name=name,
                discipline=discipline,
                province=province,
                encoding="cp1252" if rng.random() < 0.3 else "utf-8",
            )
        )
    return tuple(specs)


def _households(n: int, fake: Faker, rng: random.Random) -> list[dict[str, object]]:
    provinces = sorted({p for _, p in CITIES})
    out = []
    for i in range(n):
        province = provinces[i % len(provinces)]
        lo, hi = rng.choice(pc4_ranges_of(province))
        pc4 = rng.randint(lo, hi)
        first, last = fake.first_name(), fake.last_name()
        domain = rng.choice(("gmail.com", "hotmail.nl", "ziggo.nl", "kpnmail.nl", "outlook.com"))
        local = f"{first}.{last}".lower().replace(" ", "").replace("'", "")
        out.append(
            {
                "household": i,
                "province": province,
                "pc6": f"{pc4}{rng.choice(_LETTERS)}{rng.choice(_LETTERS)}",
                "number": rng.randint(1, 240),
                "addition": rng.choice(("", "", "", "", "A", "B", "2", "bis")),
                "name": f"{first} {last}",
                "email": f"{local}{rng.randint(1, 99)}@{domain}",
            }
        )
    return out


def _format_postcode(pc6: str, rng: random.Random) -> str:
    style = rng.random()
    if style < 0.6:
        return f"{pc6[:4]} {pc6[4:]}"
    if style < 0.9:
        return pc6
    return pc6.lower()


def _format_house(number: int, addition: str, rng: random.Random) -> str:
    if not addition:
        return str(number)
    sep = rng.choice(("", " ", "-"))
    return f"{number}{sep}{addition.lower() if rng.random() < 0.5 else addition}"


def generate_sector(*, institutions: int = 16, households: int = 9000, seed: int = 7) -> Sector:
    rng = random.Random(seed)  # noqa: S311 (synthetic data, not a secret)
    fake = Faker("nl_NL")
    fake.seed_instance(seed)
    specs = _institutions(institutions, rng)
    pool = _households(households, fake, rng)
    by_province: dict[str, list[dict[str, object]]] = {}
    for h in pool:
        by_province.setdefault(str(h["province"]), []).append(h)
    rows: list[dict[str, object]] = []
    order = 100000
    for spec in specs:
        genres = list(KINDS[spec.discipline][1])
        audience = rng.randint(250, 700)
        local = by_province[spec.province]
        chosen: dict[int, dict[str, object]] = {}
        while len(chosen) < audience:
            source = local if rng.random() < 0.75 else pool
            h = rng.choice(source)
            chosen[int(str(h["household"]))] = h
        for h in chosen.values():
            for _ in range(min(4, 1 + int(rng.expovariate(1.2)))):
                order += 1
                day = PERIOD_START + timedelta(days=rng.randrange(PERIOD_DAYS))
                tickets = rng.choice((1, 2, 2, 2, 3, 4))
                missing = rng.random()
                postcode = "" if missing < 0.04 else _format_postcode(str(h["pc6"]), rng)
                email = "" if 0.02 < missing < 0.06 else str(h["email"])
                rows.append(
                    {
                        "institution": spec.slug,
                        "household": h["household"],
                        "order_id": str(order),
                        "visit_date": day.strftime("%d-%m-%Y"),
                        "name": h["name"],
                        "email": email,
                        "postcode": postcode,
                        "house_number": _format_house(
                            int(str(h["number"])), str(h["addition"]), rng
                        ),
                        "tickets": str(tickets),
                        "price": f"{tickets * rng.choice((17.5, 22.5, 27.0, 31.5)):.2f}".replace(
                            ".", ","
                        ),
                        "event": f"Voorstelling {rng.randint(1, 40)}",
                        "discipline": genres[0] if rng.random() < 0.85 else rng.choice(genres),
                    }
                )
    return Sector(institutions=specs, rows=pl.DataFrame(rows))


def sector_disciplines() -> list[str]:
    """The disciplines the synthetic exports map to (what the demo table shows)."""
    return sorted({d for _, genres in KINDS.values() for d in genres.values()})


def mapping_toml(spec: InstitutionSpec) -> str:
    columns = "\n".join(
        f'{canonical} = "{header}"' for canonical, header in HEADERS.items() if canonical != "name"
    )
    genres = "\n".join(f'"{g}" = "{d}"' for g, d in KINDS[spec.discipline][1].items())
    return (
        "[source]\n"
        f'encoding = "{spec.encoding}"\n'
        'delimiter = ";"\n'
        'decimal = ","\n'
        'date_format = "%d-%m-%Y"\n\n'
        f"[columns]\n{columns}\n\n[discipline_map]\n{genres}\n"
    )


def write_exports(sector: Sector, agents_dir: Path) -> dict[str, Path]:
    """Write each institution's export and mapping; return the export paths."""
    paths = {}
    for spec in sector.institutions:
        folder = agents_dir / spec.slug / "exports"
        folder.mkdir(parents=True, exist_ok=True)
        export = (
            sector.rows.filter(pl.col("institution") == spec.slug)
            .select(list(HEADERS))
            .rename(HEADERS)
        )
        path = folder / "verkoop-2026-q3.csv"
        text = export.write_csv(separator=";")
        path.write_bytes(text.encode(spec.encoding, errors="replace"))
        (agents_dir / spec.slug / "mapping.toml").write_text(mapping_toml(spec), encoding="utf-8")
        paths[spec.slug] = path
    return paths
