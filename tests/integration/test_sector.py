"""The synthetic sector: sizes spread like the documented assumption, audiences
of distinct households that overlap, exports that stay byte-identical per seed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from demo.sector import (
    SIZE_MAX,
    SIZE_MIN,
    Sector,
    generate_sector,
    institution_sizes,
    size_class_of,
    write_exports,
)


@pytest.fixture(scope="module")
def sector() -> Sector:
    return generate_sector(institutions=16, seed=7)


def test_sizes_span_the_range_with_many_small_and_a_few_large() -> None:
    sizes = sorted(institution_sizes(400, np.random.default_rng(1)))
    assert sizes[0] >= SIZE_MIN
    assert sizes[-1] <= SIZE_MAX
    median = sizes[len(sizes) // 2]
    assert 3_500 <= median <= 6_000  # "a few thousand" (about 4,600 after truncation)
    classes = [size_class_of(s) for s in sizes]
    assert 0.25 <= classes.count("small") / 400 <= 0.40
    assert 0.08 <= classes.count("large") / 400 <= 0.18
    assert sizes[-1] > 40_000  # a few very large ones
    assert sum(sizes[-40:]) > sum(sizes[:200])  # the top 10% draw more than the bottom half


def test_each_institution_has_its_size_in_distinct_households(sector: Sector) -> None:
    per = sector.rows.group_by("institution").agg(pl.col("household").n_unique())
    drawn = dict(per.iter_rows())
    assert drawn == {s.slug: s.households for s in sector.institutions}
    assert max(drawn.values()) > 10 * min(drawn.values())


def test_households_visit_several_institutions_and_mostly_once(sector: Sector) -> None:
    rows = sector.rows
    institutions = rows.group_by("household").agg(pl.col("institution").n_unique())["institution"]
    assert 0.2 <= (institutions >= 2).mean() <= 0.45  # type: ignore[operator]
    orders = rows.group_by("institution", "household").len()["len"]
    assert 0.6 <= (orders == 1).mean() <= 0.8  # type: ignore[operator]
    assert orders.max() == 5


def test_disciplines_give_peer_groups_of_five_in_a_60_institution_sector() -> None:
    specs = generate_sector(institutions=60, seed=11, households=6_000).institutions
    counts = pl.Series([s.discipline for s in specs]).value_counts()
    assert {d for d, n in counts.iter_rows() if n >= 5} >= {"museum", "theater", "music", "film"}
    assert len({s.slug for s in specs}) == 60


def test_a_smaller_pool_scales_the_sector_down() -> None:
    full = generate_sector(institutions=10, seed=3)
    small = generate_sector(institutions=10, seed=3, households=3_000)
    assert [s.size_class for s in small.institutions] == [s.size_class for s in full.institutions]
    assert small.rows["household"].max() < 3_000  # type: ignore[operator]
    pairs = zip(small.institutions, full.institutions, strict=True)
    assert max(a.households / b.households for a, b in pairs) < 0.2


def test_explicit_sizes() -> None:
    sector = generate_sector(institutions=2, sizes=[1_200, 50])
    assert [s.households for s in sector.institutions] == [1_200, 50]
    with pytest.raises(ValueError, match="2 institutions but 1 sizes"):
        generate_sector(institutions=2, sizes=[10])


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    paths = [
        write_exports(generate_sector(institutions=3, seed=5, households=2_000), tmp_path / d)
        for d in ("a", "b")
    ]
    for slug, path in paths[0].items():
        assert path.read_bytes() == paths[1][slug].read_bytes()
        assert path.read_bytes().startswith(b"Bestelnummer;Voorstellingsdatum")


def test_with_places_households_live_at_the_places_and_institutions_in_their_province() -> None:
    places = pl.DataFrame(
        {
            "pc6": ["3511AB", "3511AC", "9711XY", "1012JS"],
            "province": ["utrecht", "utrecht", "groningen", "noord-holland"],
            "households": [10.0, 30.0, 20.0, 0.0],
        }
    )
    sector = generate_sector(institutions=3, sizes=[1_000, 1_000, 1_000], places=places)
    postcodes = sector.rows["postcode"].str.replace(" ", "").str.to_uppercase()
    assert set(postcodes.filter(postcodes != "")) <= {"3511AB", "3511AC", "9711XY"}
    for spec in sector.institutions:
        area = places.filter(pl.col("pc6").str.starts_with(spec.pc4 or "-"))
        assert spec.pc4 is None or set(area["province"]) == {spec.province}
