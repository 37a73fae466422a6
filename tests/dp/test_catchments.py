"""Catchment bands from PC4 centroids: the distances and the band edges."""

import polars as pl
import pytest

from dp.catchments import BANDS, UNKNOWN, band_code, bands_within, distance_km, pc4_bands

# Centroids near three real places (rounded): Utrecht centre, Amersfoort, Groningen.
CENTROIDS = pl.DataFrame(
    {
        "pc4": [3511, 3811, 9711],
        "lat": [52.0907, 52.1561, 53.2194],
        "lon": [5.1214, 5.3878, 6.5665],
    }
)


def test_great_circle_distances_match_known_ones_within_a_percent() -> None:
    d = CENTROIDS.select(distance_km(pl.col("lat"), pl.col("lon"), 52.0907, 5.1214).alias("d"))["d"]
    assert d[0] == pytest.approx(0.0, abs=1e-9)
    assert d[1] == pytest.approx(19.6, rel=0.01)  # Utrecht - Amersfoort
    assert d[2] == pytest.approx(160.0, rel=0.02)  # Utrecht - Groningen


def test_an_area_on_an_edge_is_inside_the_band() -> None:
    distances = pl.DataFrame({"d": [0.0, 15.0, 15.01, 30.0, 60.0, 60.01, None]})
    codes = distances.select(band_code(pl.col("d")))
    assert [BANDS[c] for c in codes.to_series()] == [
        "within_15_km", "within_15_km", "15_to_30_km", "15_to_30_km",
        "30_to_60_km", "beyond_60_km", UNKNOWN,
    ]  # fmt: skip


def test_every_area_gets_a_band_from_the_origin() -> None:
    bands = pc4_bands(CENTROIDS, 3511)
    assert dict(zip(bands["pc4"], (BANDS[b] for b in bands["band"]), strict=True)) == {
        3511: "within_15_km",
        3811: "15_to_30_km",
        9711: "beyond_60_km",
    }


@pytest.mark.parametrize("origin", [None, 1234])
def test_without_a_known_origin_every_area_is_unknown(origin: int | None) -> None:
    assert set(pc4_bands(CENTROIDS, origin)["band"]) == {BANDS.index(UNKNOWN)}


def test_cumulative_catchments_are_the_nearest_bands() -> None:
    assert bands_within("15_km") == ("within_15_km",)
    assert bands_within("30_km") == ("within_15_km", "15_to_30_km")
    assert bands_within("60_km") == ("within_15_km", "15_to_30_km", "30_to_60_km")
    with pytest.raises(ValueError, match="not one of"):
        bands_within("100_km")
