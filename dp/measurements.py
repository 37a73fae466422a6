"""OpenDP measurements for count tables and their composition.

Each table is an integer vector over a fixed, public key set. Its exact
values come from bounded contributions, so adding or removing one household
moves the vector by at most ``sensitivity`` (L2 for the discrete Gaussian,
L1 for the discrete Laplace). That stability is declared to OpenDP as a
transformation from the household dataset (``symmetric_distance``: one
household added or removed is distance 1) to the table; OpenDP's own noise
samplers, privacy maps, composition and zCDP → (ε, δ) conversion do the rest.

The transformation is a user transformation (OpenDP's "honest-but-curious"
feature) because the counting happens in polars before OpenDP sees the data;
``tests/dp`` checks the declared sensitivity against real bounded data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import opendp.prelude as dp

from dp import release_design
from dp.release_design import DEFAULT_DELTA, DEFAULT_EPSILON, TableDesign
from protocol.messages import PrivacySpend, ReleasedTable

dp.enable_features("contrib", "honest-but-curious")

GAUSSIAN = "discrete_gaussian"
LAPLACE = "discrete_laplace"
ALPHA_95 = 0.05

_TABLES_DOMAIN = dp.user_domain("CountTables", lambda tables: isinstance(tables, dict))
_VECTOR = dp.vector_domain(dp.atom_domain(T="i64"))


@dataclass(frozen=True)
class TableRequest:
    """An exact, bounded count table waiting for noise."""

    name: str
    measure: str
    dimensions: tuple[str, ...]
    keys: tuple[tuple[str, ...], ...]
    values: tuple[int, ...]
    sensitivity: float
    rho: float

    def __repr__(self) -> str:  # exact values never print
        return f"TableRequest(name={self.name!r}, cells={len(self.keys)}, rho={self.rho})"


def table_request(
    table: TableDesign,
    keys: tuple[tuple[str, ...], ...],
    values: tuple[int, ...],
    *,
    bounds: Mapping[str, int],
    mechanism: str,
    rho: float,
) -> TableRequest:
    """One table of the release design, counted, waiting for noise.

    Its sensitivity comes from the design and the declared ``bounds``
    (:func:`dp.release_design.sensitivity`, the same code the aggregator
    checks a declaration with) and its ρ is the design's share of the
    submission's ``rho``: the caller counts, dp says what a count may cost."""
    return TableRequest(
        name=table.name,
        measure=table.measure,
        dimensions=table.dimensions,
        keys=keys,
        values=values,
        sensitivity=release_design.sensitivity(table.name, bounds, mechanism),
        rho=release_design.rho_share(table.name, rho),
    )


def _select(name: str, sensitivity: float, metric: Any) -> Any:
    """Household dataset → one table's vector, with its declared stability."""
    return dp.t.make_user_transformation(
        _TABLES_DOMAIN,
        dp.symmetric_distance(),
        _VECTOR,
        metric,
        lambda tables: list(tables[name]),
        lambda d_in: float(d_in) * sensitivity,
    )


def _pure_measurement(name: str, sensitivity: float, scale: float) -> Any:
    metric = dp.l1_distance(T=float)
    return _select(name, sensitivity, metric) >> dp.m.make_laplace(_VECTOR, metric, scale)


def table_measurement(name: str, sensitivity: float, mechanism: str, scale: float) -> Any:
    """The zCDP measurement releasing one table with the given noise scale."""
    if mechanism == GAUSSIAN:
        metric = dp.l2_distance(T=float)
        return _select(name, sensitivity, metric) >> dp.m.make_gaussian(_VECTOR, metric, scale)
    if mechanism == LAPLACE:
        return dp.c.make_pureDP_to_zCDP(_pure_measurement(name, sensitivity, scale))
    raise ValueError(f"unknown mechanism {mechanism!r}")


def pure_epsilon(tables: Sequence[tuple[float, str, float]]) -> float | None:
    """Pure-DP ε of tables given as (sensitivity, mechanism, scale), composed by
    OpenDP, when every table uses the discrete Laplace; ``None`` otherwise.

    The ledger accounts discrete Laplace releases in zCDP (ρ = ε²/2) so that
    they share one budget with Gaussian ones; this is the tighter pure-DP
    statement of the same release, shown by ``inspect``."""
    if not tables or any(m != LAPLACE for _, m, _ in tables):
        return None
    parts = [_pure_measurement(f"t{i}", s, sc) for i, (s, _, sc) in enumerate(tables)]
    return float(dp.c.make_composition(parts).map(1))


@lru_cache(maxsize=256)
def calibrate_scale(sensitivity: float, mechanism: str, rho: float) -> float:
    """Smallest noise scale whose OpenDP privacy map gives at most ``rho``."""
    return float(
        dp.binary_search_param(
            lambda scale: table_measurement("t", sensitivity, mechanism, scale),
            d_in=1,
            d_out=rho,
            T=float,
        )
    )


def opendp_ci95(mechanism: str, scale: float) -> float:
    """OpenDP's 95% accuracy bound for one cell: the noise exceeds it with
    probability at most 5%. It is one integer above the exact quantile, so its
    coverage is well above 95% at small scales (97.9% at σ = 5)."""
    if mechanism == GAUSSIAN:
        return float(dp.discrete_gaussian_scale_to_accuracy(float(scale), ALPHA_95))
    return float(dp.discrete_laplacian_scale_to_accuracy(float(scale), ALPHA_95))


EXACT_UP_TO = 2000.0  # above this σ the exact quantile and OpenDP's bound agree to < 0.1%


def ci95(mechanism: str, scale: float) -> float:
    """Half-width of the stated 95% interval of one cell's noise.

    The smallest integer t with P(|noise| ≤ t) ≥ 95%, from the exact
    distribution of OpenDP's discrete noise: the interval covers at least 95%
    and, unlike OpenDP's bound (:func:`opendp_ci95`, one integer wider), stays
    below 97% at the scales we release (ADR 0005). Above ``EXACT_UP_TO`` the
    two agree and OpenDP's bound is used."""
    if scale > EXACT_UP_TO:
        return opendp_ci95(mechanism, scale)
    if mechanism == LAPLACE:
        # P(|X| > t) = 2 q^(t+1) / (1 + q) for the discrete Laplace, q = e^(-1/b)
        q = math.exp(-1.0 / scale)
        t = math.ceil(math.log((1 - 0.95) * (1 + q) / 2) / math.log(q) - 1 - 1e-9)
        return float(max(t, 0))
    span = int(12 * scale) + 2
    weights = [math.exp(-(k * k) / (2 * scale * scale)) for k in range(span)]
    total = weights[0] + 2 * math.fsum(weights[1:])
    covered, t = weights[0] / total, 0
    while covered < 0.95:
        t += 1
        covered += 2 * weights[t] / total
    return float(t)


def noise_std(mechanism: str, scale: float) -> float:
    """Standard deviation of one cell's noise.

    Discrete Gaussian with σ ≥ 1: the variance equals σ² to within 1e-8
    relative, so σ is the standard deviation. Discrete Laplace with scale b:
    the variance is 2·e^(-1/b) / (1 - e^(-1/b))² (≈ 2b²; tests/dp checks both
    against repeated OpenDP releases)."""
    if mechanism == GAUSSIAN:
        return float(scale)
    q = math.exp(-1.0 / scale)
    return math.sqrt(2.0 * q) / (1.0 - q)


def privacy_spend(measurement: Any, delta: float) -> PrivacySpend:
    """ρ of a composed zCDP measurement and its (ε, δ) conversion, by OpenDP."""
    rho = float(measurement.map(1))
    approx = dp.c.make_fix_delta(dp.c.make_zCDP_to_approxDP(measurement), delta)
    epsilon, fixed_delta = approx.map(1)
    return PrivacySpend(rho=rho, epsilon=float(epsilon), delta=float(fixed_delta))


def release_tables(
    requests: Sequence[TableRequest], *, mechanism: str = GAUSSIAN, delta: float = 1e-7
) -> tuple[tuple[ReleasedTable, ...], PrivacySpend]:
    """Noise every table with one composed OpenDP measurement.

    Returns the released tables (noisy values, scale, per-table ρ, 95%
    half-width) and the total spend of the composition."""
    scales = [calibrate_scale(r.sensitivity, mechanism, r.rho) for r in requests]
    parts = [
        table_measurement(r.name, r.sensitivity, mechanism, s)
        for r, s in zip(requests, scales, strict=True)
    ]
    composed = dp.c.make_composition(parts)
    data: Mapping[str, Sequence[int]] = {r.name: r.values for r in requests}
    noisy = composed(dict(data))
    released = tuple(
        ReleasedTable(
            name=r.name,
            measure=r.measure,
            dimensions=r.dimensions,
            keys=r.keys,
            values=tuple(int(v) for v in vec),
            mechanism=mechanism,
            scale=s,
            sensitivity=r.sensitivity,
            rho=float(part.map(1)),
            ci95=ci95(mechanism, s),
        )
        for r, s, part, vec in zip(requests, scales, parts, noisy, strict=True)
    )
    return released, privacy_spend(composed, delta)


def sum_ci95(scales: Sequence[float], mechanisms: Sequence[str] | None = None) -> float:
    """95% half-width of a sum of independent noisy cells.

    The sum of independent discrete Gaussian (or Laplace) noises is close to
    a Gaussian with the summed variance; OpenDP's Gaussian accuracy gives the
    half-width. ``mechanisms`` (one per scale, default all discrete Gaussian)
    matters for discrete Laplace, whose variance is about 2b², not b²."""
    if not scales:
        return math.nan
    kinds = mechanisms if mechanisms is not None else [GAUSSIAN] * len(scales)
    variance = sum(noise_std(m, s) ** 2 for m, s in zip(kinds, scales, strict=True))
    return float(dp.gaussian_scale_to_accuracy(math.sqrt(variance), ALPHA_95))


@lru_cache(maxsize=1024)
def table_rho(sensitivity: float, mechanism: str, scale: float) -> float:
    """ρ of one table from its declared sensitivity, mechanism and scale, by
    OpenDP's privacy map. Cached: every institution of a period shares the
    same few configurations, so intake pays for the map once."""
    return float(table_measurement("t", sensitivity, mechanism, scale).map(1))


def declared_rho_matches(tables: Sequence[tuple[float, str, float, float]]) -> float:
    """Check each table's declared ρ against OpenDP and return their total.

    ``tables`` are (sensitivity, mechanism, scale, declared ρ). Composition
    of zCDP measurements adds ρ (what ``make_composition`` computes; tests/dp
    compares the two), so the total is the sum of the recomputed ρ."""
    total = 0.0
    for sensitivity, mechanism, scale, declared in tables:
        try:
            actual = table_rho(sensitivity, mechanism, scale)
        except dp.OpenDPException as exc:  # e.g. a sensitivity/scale pair OpenDP cannot map
            raise ValueError(f"OpenDP cannot compute ρ for it ({exc.variant})") from exc
        if not math.isclose(actual, declared, rel_tol=1e-9, abs_tol=1e-15):
            raise ValueError(f"declared ρ {declared:g} but OpenDP gives {actual:g}")
        total += actual
    return total


def table_spend(sensitivity: float, mechanism: str, scale: float, delta: float) -> PrivacySpend:
    """ρ and (ε, δ) of one released table, recomputed by OpenDP from its
    declared sensitivity and scale (what ``inspect`` shows per table)."""
    return privacy_spend(table_measurement("t", sensitivity, mechanism, scale), delta)


def compose_spend(tables: Sequence[tuple[float, str, float]], delta: float) -> PrivacySpend:
    """Total spend of tables given as (sensitivity, mechanism, scale), composed
    by OpenDP: lets anyone recompute a submission's declared total."""
    parts = [table_measurement(f"t{i}", s, m, sc) for i, (s, m, sc) in enumerate(tables)]
    return privacy_spend(dp.c.make_composition(parts), delta)


@lru_cache(maxsize=64)
def rho_for_epsilon(epsilon: float, delta: float) -> float:
    """The largest zCDP ρ whose OpenDP (ε, δ) conversion stays within ``epsilon``.

    Lets a period budget be stated as ε per quarter (at a fixed δ) while the
    ledger and the aggregator account in ρ."""

    def gaussian(scale: float) -> Any:
        return dp.m.make_gaussian(
            dp.atom_domain(T=float, nan=False), dp.absolute_distance(T=float), scale
        )

    def converted(scale: float) -> Any:
        return dp.c.make_fix_delta(dp.c.make_zCDP_to_approxDP(gaussian(scale)), delta)

    scale = dp.binary_search_param(converted, d_in=1.0, d_out=(epsilon, delta), T=float)
    return float(gaussian(scale).map(1.0))


def default_rho() -> float:
    """ρ of the taskforce's default budget per institution and quarter
    (ε = 1 at δ = 1e-7, :mod:`dp.release_design`): the one figure the
    aggregator opens periods with and the agent falls back to."""
    return rho_for_epsilon(DEFAULT_EPSILON, DEFAULT_DELTA)
