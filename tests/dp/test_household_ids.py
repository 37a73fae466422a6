"""One household cannot steer the bounding of the others.

The dense household id separates households by their whole 32-byte key, and
the tie-break that decides which rows a heavy household keeps (``hid``) is
always the first 8 bytes of its own key. A key crafted to share another
household's first 8 bytes is therefore one more household: it is bounded on
its own and changes nothing that any other household keeps."""

from __future__ import annotations

import hashlib

import polars as pl

from dp.bounding import HH, HID, HOUSEHOLD_KEY, WEIGHT, clip_weights, dense_ids

MAX_WEIGHT = 5


def _key(n: int) -> bytes:
    return hashlib.sha256(f"household {n}".encode()).digest()


def _rows(key: bytes, n_rows: int, tag: str) -> list[dict[str, object]]:
    return [{HOUSEHOLD_KEY: key, "row": f"{tag}/{i}", WEIGHT: 1 + i % 3} for i in range(n_rows)]


def _kept(frame: pl.DataFrame) -> dict[tuple[bytes, str], int]:
    """Clipped weight of every row, by (household key, row): what each household keeps."""
    rows = dense_ids(frame)
    order = pl.struct(HID, pl.col("row").hash(seed=3)).hash(seed=11)
    clipped = clip_weights(rows, MAX_WEIGHT, order)
    kept = rows.with_columns(clipped.alias(WEIGHT)).select(HOUSEHOLD_KEY, "row", WEIGHT)
    return {(k, r): int(w) for k, r, w in kept.iter_rows()}


def _sector() -> pl.DataFrame:
    """40 heavy households (every one is cut to MAX_WEIGHT) and 40 light ones."""
    rows = [r for n in range(40) for r in _rows(_key(n), 12, f"heavy {n}")]
    rows += [r for n in range(40, 80) for r in _rows(_key(n), 1, f"light {n}")]
    return pl.DataFrame(rows, schema={HOUSEHOLD_KEY: pl.Binary, "row": pl.String, WEIGHT: pl.Int64})


def _crafted(victim: bytes) -> pl.DataFrame:
    """A household whose key shares the victim's first 8 bytes and nothing else."""
    key = victim[:8] + hashlib.sha256(b"crafted").digest()[:24]
    assert key != victim
    return pl.DataFrame(
        _rows(key, 12, "crafted"),
        schema={HOUSEHOLD_KEY: pl.Binary, "row": pl.String, WEIGHT: pl.Int64},
    )


def test_a_crafted_prefix_collision_leaves_every_other_household_unchanged() -> None:
    sector = _sector()
    crafted = _crafted(_key(7))
    before = _kept(sector)
    after = _kept(pl.concat([sector, crafted]))
    crafted_key = crafted[HOUSEHOLD_KEY][0]
    others = {k: w for k, w in after.items() if k[0] != crafted_key}
    assert others == before
    # the check is not vacuous: the heavy households really were cut
    assert sum(before.values()) < sector[WEIGHT].sum()


def test_keys_sharing_a_prefix_are_two_households_each_bounded_on_its_own() -> None:
    victim = _key(7)
    frame = pl.concat([_sector(), _crafted(victim)]).sample(fraction=1.0, shuffle=True, seed=5)
    rows = dense_ids(frame)
    ids = rows.group_by(HOUSEHOLD_KEY).agg(pl.col(HH).n_unique().alias("ids"), pl.col(HH).first())
    assert ids["ids"].max() == 1  # one id per key
    assert ids[HH].n_unique() == ids.height == 81  # distinct keys, distinct ids
    assert rows[HH].to_list() == sorted(rows[HH].to_list())  # rows sorted by the id
    assert rows[HH].max() == 80  # dense: 0..H-1
    kept = _kept(frame)
    per_household: dict[bytes, int] = {}
    for (key, _), w in kept.items():
        per_household[key] = per_household.get(key, 0) + w
    crafted_key = _crafted(victim)[HOUSEHOLD_KEY][0]
    assert per_household[victim] == per_household[crafted_key] == MAX_WEIGHT


def test_the_tie_break_is_the_households_own_first_8_bytes() -> None:
    victim = _key(7)
    rows = dense_ids(pl.concat([_sector(), _crafted(victim)]))
    expected = rows.select(
        pl.col(HOUSEHOLD_KEY).bin.slice(0, 8).bin.reinterpret(dtype=pl.UInt64).alias("want"), HID
    )
    assert (expected["want"] == expected[HID]).all()
