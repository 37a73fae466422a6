"""Opening a period with a household sketch (ADR 0036): none by default, the
share and width the options fix, the seed in the signed config, bad values
refused with exit 2; and ``period_sketches`` reads nothing from a period
without one."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from aggregator.periods import get_period, open_period, period_sketch, sketch_width_limit
from aggregator.sketch_inputs import period_sketches
from aggregator.storage import Database
from cli import app
from dp import release_design, sketches
from dp.measurements import rho_for_epsilon
from protocol.errors import UnknownPeriod, UsageError
from protocol.messages import MAX_SKETCH_BUCKETS, PeriodConfig

runner = CliRunner()
BUDGET = rho_for_epsilon(1.0, 1e-7)


def config_of(tmp_path: Path, period: str) -> PeriodConfig:
    out = tmp_path / f"{period}.json"
    ran = runner.invoke(
        app, ["aggregator", "period", "config", period, "--out", str(out), "--state", str(tmp_path)]
    )
    assert ran.exit_code == 0, ran.output
    return PeriodConfig.from_dict(json.loads(out.read_text()))


def open_cli(tmp_path: Path, *args: str) -> Any:
    return runner.invoke(app, ["aggregator", "period", "open", *args, "--state", str(tmp_path)])


def test_a_period_has_no_sketch_by_default_and_the_tables_keep_their_weights(
    tmp_path: Path,
) -> None:
    ran = open_cli(tmp_path, "2026-Q3")
    assert ran.exit_code == 0, ran.output
    assert "household sketches: none this period" in ran.stdout
    config = config_of(tmp_path, "2026-Q3")
    assert config.sketch is None
    assert config.weights == {t.name: t.weight for t in release_design.TABLE_DESIGN}


def test_overlap_options_fix_share_width_and_a_public_seed(tmp_path: Path) -> None:
    ran = open_cli(tmp_path, "2026-Q4", "--overlap-share", "0.25", "--overlap-households", "50000")
    assert ran.exit_code == 0, ran.output
    config = config_of(tmp_path, "2026-Q4")
    sketch = config.sketch
    assert sketch is not None and sketch.weight == 0.25
    assert sketch.width == sketches.width_for(50_000, rho=0.25 * BUDGET)
    assert len(sketch.seed) == 32
    seed_id = hashlib.sha256(sketch.seed).hexdigest()[:16]
    assert "25% of each submission's ρ" in ran.stdout
    assert f"width {sketch.width}, seed id {seed_id}" in ran.stdout
    for table in release_design.TABLE_DESIGN:
        assert math.isclose(config.weights[table.name], 0.75 * table.weight, rel_tol=1e-12)
    # Another period draws another seed: sketches of two periods never combine.
    open_cli(tmp_path, "2027-Q1", "--overlap-share", "0.25", "--overlap-households", "50000")
    other = config_of(tmp_path, "2027-Q1").sketch
    assert other is not None and other.seed != sketch.seed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--overlap-share", "1"], "--overlap-share must be at least 0 and below 1"),
        (["--overlap-share", "-0.1"], "--overlap-share must be at least 0 and below 1"),
        (["--overlap-share", "nan"], "--overlap-share must be at least 0 and below 1"),
        (["--overlap-share", "0.25"], "a sketch needs --overlap-households N"),
        (["--overlap-share", "0.25", "--overlap-households", "0"], "needs --overlap-households"),
        (["--overlap-households", "5000"], "--overlap-households needs --overlap-share"),
    ],
)
def test_bad_overlap_options_exit_2_and_open_nothing(
    tmp_path: Path, args: list[str], message: str
) -> None:
    ran = open_cli(tmp_path, "2026-Q4", *args)
    assert ran.exit_code == 2
    assert message in ran.stderr
    db = Database(f"sqlite:///{tmp_path / 'aggregator.db'}")
    with pytest.raises(UnknownPeriod):
        get_period(db, "2026-Q4")
    db.engine.dispose()


def test_the_width_is_capped_so_that_every_part_fits_a_submission() -> None:
    limit = sketch_width_limit()
    assert limit * len(release_design.DISCIPLINES) <= MAX_SKETCH_BUCKETS < 2 * limit * 12
    huge = period_sketch(0.5, 1e12, rho_budget=BUDGET, mechanism="discrete_gaussian")
    assert huge is not None and huge.width == limit
    with pytest.raises(UsageError):
        period_sketch(0.5, None, rho_budget=BUDGET, mechanism="discrete_gaussian")


def test_a_period_without_a_sketch_has_no_sketches_to_read(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'a.db'}")
    db.create_schema()
    open_period(db, "2026-Q3", rho_budget=BUDGET)
    assert period_sketches(db, "2026-Q3") == []
    with pytest.raises(UnknownPeriod):
        period_sketches(db, "2026-Q1")
    db.engine.dispose()
