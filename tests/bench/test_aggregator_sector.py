"""The synthetic sector of the aggregator benchmarks sends what intake accepts."""

import dataclasses
from pathlib import Path

import pytest

from aggregator.intake import _check_split
from dp.measurements import declared_rho_matches
from protocol.errors import RefusedDeclaration
from tests.file_modules import load_module

ROOT = Path(__file__).resolve().parents[2]
sector = load_module("bench_aggregator_sector", ROOT / "bench" / "aggregator_sector.py")


def test_a_releaser_payload_splits_rho_as_the_release_design_weighs_it() -> None:
    payload = sector.Releaser().payload("inst-0001", 3)
    total = declared_rho_matches(
        [(t.sensitivity, t.mechanism, t.scale, t.rho) for t in payload.tables]
    )
    assert payload.privacy.rho == pytest.approx(total, rel=1e-9)
    _check_split(payload.tables, total)  # intake's own table-share check
    # An even split, what the benchmarks once sent, is what the check refuses.
    even = [dataclasses.replace(t, rho=total / len(payload.tables)) for t in payload.tables]
    with pytest.raises(RefusedDeclaration, match="of the release design"):
        _check_split(even, total)
