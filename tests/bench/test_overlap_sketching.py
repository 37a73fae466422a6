"""The agent's sketch timing (bench/overlap_sketching.py): the widths are those
``period open`` fixes, the institution's households carry main disciplines of
the key set, and the report says for which widths the 2 s target is met."""

from __future__ import annotations

from pathlib import Path

from aggregator.periods import sketch_width_limit
from dp.bounding import HOUSEHOLD_KEY
from dp.release_design import DISCIPLINES
from tests.file_modules import load_module

ROOT = Path(__file__).resolve().parents[2]
bench = load_module("overlap_sketching", ROOT / "bench" / "overlap_sketching.py")


def test_the_mix_covers_the_key_set_and_sums_to_one() -> None:
    assert set(bench.MIX) == set(DISCIPLINES)
    assert abs(sum(bench.MIX.values()) - 1.0) < 1e-9


def test_the_widths_are_the_rule_at_a_quarter_and_the_widest() -> None:
    specs = bench.widths()
    assert len(specs) == len(bench.EXPECTED) + 1
    assert all(spec.weight == bench.SHARE for _, spec in specs)
    widths = [spec.width for _, spec in specs]
    assert widths == sorted(widths)
    assert widths[-1] == sketch_width_limit()


def test_a_small_institution_is_timed_and_reported() -> None:
    frame = bench.institution(2_000, seed=3)
    assert frame.columns == [HOUSEHOLD_KEY, "discipline"]
    assert frame["discipline"].max() < len(DISCIPLINES)
    label, spec = bench.widths()[0]
    timing = bench.time_width(label, spec, frame, repeats=1)
    assert timing.width == spec.width and timing.met
    assert timing.parts == 1
    slow = bench.Timing("widest", 32_768, 12, 3.0, 2.5, 1.0, 0.5, 1.2)
    text = bench.report([timing, slow], households=2_000, command="cmd", load=(1.0, 2.0))
    assert text.startswith(bench.SECTION)
    assert f"met at width × parts {spec.width:,} × 1 and not met at 32,768 × 12" in text


def test_the_default_is_one_part_and_the_widest_rows_are_also_in_every_part() -> None:
    assert bench.declared_parts(bench.DEFAULT_PARTS) == (bench.ENROLLED,)
    assert bench.declared_parts(len(DISCIPLINES)) == DISCIPLINES
    rows = bench.rows()
    assert [len(parts) for _, _, parts in rows] == [1] * len(bench.widths()) + [
        len(DISCIPLINES)
    ] * bench.WORST_CASE_ROWS
    assert rows[-1][1].width == sketch_width_limit()
