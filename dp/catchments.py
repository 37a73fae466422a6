"""Catchment bands: how far a household lives from the institution it visits.

An institution's catchment is public and data-independent: the PC4 areas
whose centroid lies within a radius of its own PC4's centroid, in three
cumulative radii (15, 30 and 60 km). The agent counts its households by band
(the ``catchment`` dimension of the release design); the aggregator sums the
segment model's population over the same areas, so that visiting households
and the households they are drawn from are counted over one set of areas.
Both ends call :func:`pc4_bands` on the centroids of the same signed segment
model release, so they cannot disagree about which area lies in which band.

Distances are great-circle distances between centroids (haversine on a sphere
of the Earth's mean radius): within the Netherlands they differ from
distances in the national grid (RD) by well under 0.5 %, far less than a
centroid's own spread over its area.
"""

from __future__ import annotations

import math

import polars as pl

UNKNOWN = "unknown"
EDGES_KM: tuple[float, ...] = (15.0, 30.0, 60.0)
"""Upper edges of the bands, in km; a centroid exactly on an edge is inside it."""
BANDS: tuple[str, ...] = ("within_15_km", "15_to_30_km", "30_to_60_km", "beyond_60_km", UNKNOWN)
"""The public key set of the ``catchment`` dimension, nearest first. ``unknown``:
the household's PC4 is not in the segment model, or the institution's own PC4
is not known."""
RADII: dict[str, float] = {"15_km": 15.0, "30_km": 30.0, "60_km": 60.0}
"""The cumulative catchments a reader chooses from: ``30_km`` is the first two bands."""
EARTH_RADIUS_KM = 6371.0088  # the mean radius (IUGG)


def distance_km(lat: pl.Expr, lon: pl.Expr, origin_lat: float, origin_lon: float) -> pl.Expr:
    """Great-circle distance in km from ``(origin_lat, origin_lon)`` (degrees)."""
    phi1, lam1 = math.radians(origin_lat), math.radians(origin_lon)
    phi2, lam2 = lat.radians(), lon.radians()
    half = ((phi2 - phi1) / 2).sin().pow(2) + math.cos(phi1) * phi2.cos() * (
        (lam2 - lam1) / 2
    ).sin().pow(2)
    return 2 * EARTH_RADIUS_KM * half.sqrt().clip(upper_bound=1.0).arcsin()


def band_code(distance: pl.Expr) -> pl.Expr:
    """Index into :data:`BANDS` of a distance in km (``unknown`` for null)."""
    code: pl.Expr = pl.lit(len(EDGES_KM), pl.Int64)
    for i, edge in reversed(list(enumerate(EDGES_KM))):
        code = pl.when(distance <= edge).then(pl.lit(i, pl.Int64)).otherwise(code)
    return pl.when(distance.is_null()).then(pl.lit(BANDS.index(UNKNOWN), pl.Int64)).otherwise(code)


def pc4_bands(centroids: pl.DataFrame, origin_pc4: int | None) -> pl.DataFrame:
    """Every PC4 of ``centroids`` (columns ``pc4`` (int), ``lat``, ``lon``) with
    its band from ``origin_pc4``: columns ``pc4`` and ``band`` (index into
    :data:`BANDS`). Every area is ``unknown`` when the origin is ``None`` or
    not among the centroids: without its own location an institution has no
    catchment, and claiming one would count the wrong population."""
    origin = centroids.filter(pl.col("pc4") == origin_pc4) if origin_pc4 is not None else None
    if origin is None or origin.height == 0:
        unknown = pl.lit(BANDS.index(UNKNOWN), pl.Int64)
        return centroids.select(pl.col("pc4"), unknown.alias("band"))
    lat, lon = float(origin["lat"][0]), float(origin["lon"][0])
    return centroids.select(
        pl.col("pc4"), band_code(distance_km(pl.col("lat"), pl.col("lon"), lat, lon)).alias("band")
    )


def bands_within(radius: str) -> tuple[str, ...]:
    """The bands a cumulative catchment (a key of :data:`RADII`) is made of."""
    try:
        limit = RADII[radius]
    except KeyError:
        raise ValueError(f"catchment {radius!r} is not one of {', '.join(RADII)}") from None
    return tuple(band for band, edge in zip(BANDS, EDGES_KM, strict=False) if edge <= limit)
