"""The aggregator's recomputation of a submission's spend equals OpenDP's composition."""

from __future__ import annotations

import math

import pytest

from dp.measurements import GAUSSIAN, LAPLACE, compose_spend, declared_rho_matches, table_rho

TABLES = [(2**0.5, GAUSSIAN, 7.2), (20.0, GAUSSIAN, 101.9), (1.0, LAPLACE, 5.0)]


def test_the_sum_of_table_rhos_is_the_composed_rho() -> None:
    declared = [(s, m, sc, table_rho(s, m, sc)) for s, m, sc in TABLES]
    assert math.isclose(declared_rho_matches(declared), compose_spend(TABLES, 1e-7).rho)


def test_a_wrong_table_rho_is_refused() -> None:
    s, m, sc = TABLES[0]
    with pytest.raises(ValueError, match="declared"):
        declared_rho_matches([(s, m, sc, table_rho(s, m, sc) / 2)])


def test_a_declaration_opendp_cannot_map_is_a_value_error_not_a_crash() -> None:
    with pytest.raises(ValueError, match="OpenDP cannot compute"):
        declared_rho_matches([(1e308, "discrete_laplace", 1e-300, 1.0)])
