"""Segment model releases: PC4 → segment shares and households per segment.

A segment model is a versioned file (format ``publiek-segment-model/1``) that
gives, per PC4, the share of households in each audience segment and the
number of households per segment (for penetration and non-visitors later).
A household is placed in one segment by a uniform draw derived from its
household key, weighted by the shares of its PC6 where the model has that PC6
(a signed release, ``publiek-segment-model/2``), else of its PC4: deterministic
for a household within a period, unlinkable across periods (the sector key
rotates), and without any PC6 lookup leaving the agent. The ingest places
each household while its PC6 is still known (:class:`Placement`, ADR 0029);
the full PC6 is never stored.

The project ships no real model. :func:`synthetic_demo_model` generates an
open, reproducible one from a seed; ``docs/segment-model.md`` documents the
format so a licensed model can be loaded with :meth:`SegmentModel.load`.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import polars as pl

from agent.visits import PLACED_BY, SEGMENT
from dp import release_design
from protocol.errors import UsageError

FORMAT = "publiek-segment-model/1"
UNKNOWN = release_design.UNKNOWN
DEMO_SEGMENTS = release_design.DEMO_SEGMENTS


@dataclass(frozen=True)
class SegmentModel:
    version: str
    segments: tuple[str, ...]
    shares: pl.DataFrame  # pc4, segment, share, households
    # Set for a model taken from a signed release (``publiek-segment-model/2``,
    # ``agent.segment_install``): whether it calls itself synthetic, and the
    # SHA-256 of its signed manifest, which then names it.
    synthetic: bool = False
    release_digest: str | None = None
    # The PC4 centroids of a signed release (pc4: int, lat, lon, and its province:
    # the province dimension's areas, agent.tables._pc4_lookup), from which the
    # catchment bands are drawn (dp.catchments); ``None`` for a /1 model file,
    # which has none: every household's catchment is then ``unknown``.
    centroids: pl.DataFrame | None = field(default=None, repr=False)
    # A release's PC6 → segment shares (``pc6`` and one Float64 column per segment);
    # None for a model without them (format /1), which places by PC4 only.
    pc6: pl.DataFrame | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        # A release names its model, and the aggregator takes only the models
        # the release design knows, with exactly their segments (ADR 0021):
        # refused here, before any noise is drawn and any budget spent.
        known = release_design.SEGMENTS
        if self.version not in known:
            raise UsageError(
                "the segment model's version is not one this release of Publiek knows",
                hint=f"known: {', '.join(known)}; a licensed model is added in a release",
            )
        if tuple(self.segments) != known[self.version]:
            raise UsageError(
                f"segment model {self.version} does not have the segments it is known by",
                hint="load the model file as published, unchanged",
            )

    @property
    def labels(self) -> tuple[str, ...]:
        """The public key set of the segment dimension (model segments + unknown)."""
        return (*self.segments, UNKNOWN)

    @cached_property
    def digest(self) -> str:
        """SHA-256 over the canonical JSON of the model, to pin what was used (for
        a signed release, its manifest's digest, which covers its tables)."""
        if self.release_digest is not None:
            return self.release_digest
        canonical = json.dumps(self.to_doc(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    @classmethod
    def load(cls, path: Path) -> SegmentModel:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise UsageError(f"segment model {path} cannot be read", hint="check the path") from exc
        return cls.parse(data, where=str(path))

    @classmethod
    def parse(cls, data: bytes, *, where: str) -> SegmentModel:
        """The model in ``data`` (a model file's bytes), checked like every release's."""
        try:
            doc = json.loads(data.decode("utf-8"))
        except ValueError as exc:
            raise UsageError(
                f"segment model {where} is not UTF-8 JSON", hint="use the file as published"
            ) from exc
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise UsageError(f"segment model {where} is not in format {FORMAT}")
        try:
            segments = tuple(doc["segments"])
            rows = [
                (pc4, seg, float(share), int(n))
                for pc4, entry in doc["pc4"].items()
                for seg, share, n in zip(
                    segments, entry["shares"], entry["households"], strict=True
                )
            ]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise UsageError(
                f"segment model {where} lacks a field or has one of the wrong shape "
                f"({type(exc).__name__})",
                hint="use the file as published, unchanged",
            ) from exc
        frame = pl.DataFrame(rows, schema=["pc4", "segment", "share", "households"], orient="row")
        return cls(version=str(doc["version"]), segments=segments, shares=frame)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_doc()), encoding="utf-8")

    def to_doc(self) -> dict[str, object]:
        order = {seg: i for i, seg in enumerate(self.segments)}
        grouped = (
            self.shares.with_columns(
                pl.col("segment").replace_strict(order, return_dtype=pl.Int32).alias("_i")
            )
            .sort("pc4", "_i")
            .group_by("pc4", maintain_order=True)
            .agg("share", "households")
        )
        pc4 = {
            code: {"shares": shares, "households": households}
            for code, shares, households in grouped.iter_rows()
        }
        return {
            "format": FORMAT,
            "version": self.version,
            "segments": list(self.segments),
            "pc4": pc4,
        }

    def assign(self, households: pl.DataFrame) -> pl.DataFrame:
        """Add a ``segment`` column to a frame with ``household_key`` and ``pc4``.

        The uniform draw is the first 8 bytes of the (already keyed) household
        hash; households without a known PC4 get ``unknown``."""
        return households.with_columns(self.segment_of(households).alias("segment"))

    def segment_of(self, households: pl.DataFrame) -> pl.Series:
        """The segment of each row of ``households`` (aligned with its rows), by its
        PC4 alone: the placement of a household the ingest did not place with this
        model (:meth:`Placement.segments`, the one rule)."""
        placement = self.placement
        pc4 = households.select(pl.col("pc4").cast(pl.Int64, strict=False)).to_series()
        return placement.segments(households["household_key"], placement.pc4_areas(pc4))

    @cached_property
    def placement(self) -> Placement:
        return Placement(self)


# A PC6 is read as a base-36 number ("1234AB" → digits, then two letters):
# cheaper than slicing strings, and its two parts index dense tables.
_LETTER_PAIRS = 36 * 36
_PC4_DIGITS = 9 * (36**3 + 36**2 + 36 + 1) + 1  # "9999" in base 36, plus one


class Placement:
    """Where the ingest looks a household up (its *area*: a PC6 of the model, else
    its PC4), and the draw that places it in one segment.

    An area is a row of cumulative shares ``hi_0 ≤ hi_1 ≤ … ≤ hi_{S-1}`` (in
    segment order); a household with draw ``u`` (the first 8 bytes of its key,
    big-endian, over 2**64) falls in segment ``k = #{j : hi_j ≤ u}``, that is
    the segment whose interval ``[hi_{k-1}, hi_k)`` holds ``u``, and in
    ``unknown`` when ``k`` is S (no area, or shares summing to less than ``u``).
    So a household is in segment ``s`` with probability equal to its area's
    share of ``s``, and the expected count per segment over households is the
    sum of their shares (docs/segment-model.md, "How a household is placed").

    The lookups are dense gathers over integer codes, no joins (a join of ten
    million PC6 strings against the model's took 2–3 s): ten million addresses
    are placed in about one CPU second (bench/segment_placement_bench.py)."""

    def __init__(self, model: SegmentModel) -> None:
        segments = list(model.segments)
        self.labels = pl.Series("segment", model.labels, dtype=pl.Enum(model.labels))
        wide = (
            model.shares.select(pl.col("pc4").cast(pl.Int64, strict=False), "segment", "share")
            .filter(pl.col("pc4").is_between(0, 9999))
            .pivot(on="segment", index="pc4", values="share", aggregate_function="first")
            .with_columns(pl.col(s).fill_null(0.0) for s in segments)
            .select("pc4", *segments)
        )
        pc6 = (
            pl.DataFrame(schema={"pc6": pl.String, **dict.fromkeys(segments, pl.Float64)})
            if model.pc6 is None
            else model.pc6.select("pc6", *segments)
        )
        # Rows of the area table: the PC4s, then the PC6s, then one row of zeros
        # (``hi_j = 0 ≤ u`` for every j: unknown) that every missing area points to.
        shares = pl.concat(
            [
                wide.select(segments),
                pc6.select(pl.col(segments).cast(pl.Float64)),
                pl.DataFrame({s: [0.0] for s in segments}),
            ]
        )
        # Summed left to right, one segment at a time: the same sums as a cumulative
        # sum per area in segment order.
        running: list[pl.Expr] = [pl.col(segments[0])]
        for segment in segments[1:]:
            running.append(running[-1] + pl.col(segment))
        hi = shares.select(r.alias(f"_hi{j}") for j, r in enumerate(running))
        self.hi = [hi.to_series(j).rechunk() for j in range(len(segments))]
        self.none = shares.height - 1
        rows = pl.int_range(0, wide.height, dtype=pl.UInt32, eager=True)
        self.pc4_row = (
            pl.repeat(self.none, 10000, dtype=pl.UInt32, eager=True)
            .scatter(wide["pc4"], rows)
            .rechunk()
        )
        digits = pl.Series([f"{n:04d}" for n in range(10000)]).str.to_integer(base=36)
        self.pc4_of_digits = (
            pl.repeat(None, _PC4_DIGITS, dtype=pl.Int64, eager=True)
            .scatter(digits, pl.int_range(0, 10000, eager=True))
            .rechunk()
        )
        # Every PC6 code's area: its PC4's row (or no area), then, for the PC6s of
        # the model, their own. One gather places an address. A model without PC6
        # shares needs no such table (52 MB): its addresses go by their PC4's row.
        self.pc6_row: pl.Series | None = None
        if model.pc6 is None:
            return
        codes = self._pc6_codes(pc6["pc6"])
        known = codes.is_not_null()
        self.pc6_row = (
            self.pc4_row.gather(
                pl.int_range(0, 10000 * _LETTER_PAIRS, dtype=pl.UInt32, eager=True) // _LETTER_PAIRS
            )
            .scatter(
                codes.filter(known),
                pl.int_range(
                    wide.height, wide.height + pc6.height, dtype=pl.UInt32, eager=True
                ).filter(known),
            )
            .rechunk()
        )

    def _pc6_codes(self, pc6: pl.Series) -> pl.Series:
        """Each PC6 as ``pc4 * 1296 + letters`` (letters in base 36), null for what is no PC6."""
        value = pc6.cast(pl.String).str.to_integer(base=36, strict=False)
        frame = value.to_frame("v").select(
            pl.when(pl.col("v").is_between(0, _PC4_DIGITS * _LETTER_PAIRS - 1))
            .then(pl.col("v"))
            .alias("v")
        )
        return frame.select(
            (
                pl.lit(self.pc4_of_digits).gather(pl.col("v") // _LETTER_PAIRS) * _LETTER_PAIRS
                + pl.col("v") % _LETTER_PAIRS
            ).alias("code")
        ).to_series()

    def areas(self, pc6: pl.Series) -> pl.Series:
        """The area row of each normalised PC6 (``"1234AB"``; null for none): the
        PC6's own where the model has it, else its PC4's, else no area."""
        code = self._pc6_codes(pc6)
        return (
            code.to_frame("code")
            .select(
                (
                    pl.lit(self.pc4_row).gather(pl.col("code") // _LETTER_PAIRS)
                    if self.pc6_row is None
                    else pl.lit(self.pc6_row).gather(pl.col("code"))
                )
                .fill_null(self.none)
                .alias("area")
            )
            .to_series()
        )

    def pc4_areas(self, pc4: pl.Series) -> pl.Series:
        """The area row of each PC4 (an integer; null or out of range: no area)."""
        return (
            pc4.to_frame("pc4")
            .select(
                pl.when(pl.col("pc4").is_between(0, 9999))
                .then(pl.lit(self.pc4_row).gather(pl.col("pc4").clip(0, 9999)))
                .otherwise(self.none)
                .cast(pl.UInt32)
                .alias("area")
            )
            .to_series()
        )

    def segments(self, household_key: pl.Series, areas: pl.Series) -> pl.Series:
        """The segment of each household (its key and area row), as an Enum of the labels."""
        u = pl.col("household_key").bin.slice(0, 8).bin.reinterpret(
            dtype=pl.UInt64, endianness="big"
        ) / float(2**64)
        frame = pl.DataFrame({"household_key": household_key, "area": areas})
        # Booleans summed as they are (a count, UInt32): casting each first cost a
        # third of the draw.
        k = pl.sum_horizontal(pl.lit(hi).gather(pl.col("area")) <= pl.col("_u") for hi in self.hi)
        unknown = len(self.hi)
        k = pl.when(pl.col("_u").is_not_null()).then(k).otherwise(unknown)
        return (
            frame.select(u.alias("_u"), "area")
            .select(pl.lit(self.labels).gather(k).alias("segment"))
            .to_series()
        )


# The stored segment where the release's model placed it at ingest (build_tables).
PLACED = "_placed"

PLACEMENT_WARNING = (
    "warning: {n} of the period's visits were not placed in a segment at ingest by the "
    "segment model this release uses ({version}): their households are placed by their "
    "PC4 now, not their PC6; to place them by PC6, ingest their exports again with this "
    "model installed: `publiek agent ingest --replace EXPORT... --mapping MAPPING`"
)


def with_ingest_placement(visits: pl.DataFrame, model: SegmentModel) -> pl.DataFrame:
    """``visits`` with ``_placed`` (Categorical): the segment the ingest placed the row's
    household in where ``model`` placed it (same digest), else null (placed by PC4 at
    release).

    Prints one warning when a model with PC6 shares releases visits it did not
    place: their households lose the PC6 placement until their exports are
    ingested again. A model without PC6 shares places by PC4 at ingest exactly
    as at release, so nothing is lost there and nothing is said."""
    # Categorical, as read: four bytes a visit (a string column of ten million
    # visits' segments or digests would be hundreds of MB).
    if SEGMENT not in visits.columns or PLACED_BY not in visits.columns:
        placed = pl.lit(None, pl.Categorical)
    else:
        placed = (
            pl.when(pl.col(PLACED_BY).cast(pl.Categorical) == model.digest)
            .then(pl.col(SEGMENT).cast(pl.Categorical))
            .otherwise(None)
        )
    visits = visits.with_columns(placed.alias(PLACED))
    missing = visits.get_column(PLACED).null_count()
    if missing and model.pc6 is not None:
        sys.stderr.write(PLACEMENT_WARNING.format(n=missing, version=model.version) + "\n")
    return visits


DEMO_VERSION = "synthetic-demo-2026"
DEMO_WARNING = (
    f"warning: releasing with the synthetic demo segment model ({DEMO_VERSION}): its "
    "segments describe no real neighbourhood; see docs/segment-model.md for the published model"
)


SYNTHETIC_WARNING = (
    "warning: releasing with a synthetic segment model ({version}): its segments describe "
    "no real neighbourhood; see docs/segment-model.md for the published model"
)


def is_demo(model: SegmentModel) -> bool:
    """Whether ``model`` is the synthetic demo model (the one test for it)."""
    return model.version == DEMO_VERSION


def is_synthetic(model: SegmentModel) -> bool:
    """Whether ``model`` describes no real population: the demo model, or a
    signed release that calls itself synthetic."""
    return is_demo(model) or model.synthetic


def demo_warning(model: SegmentModel) -> str | None:
    """The one line an operator sees on every release while a synthetic model is
    in use: a real install must not publish synthetic segments without knowing it."""
    if is_demo(model):
        return DEMO_WARNING
    if model.synthetic:
        return SYNTHETIC_WARNING.format(version=model.version)
    return None


def synthetic_demo_model(seed: int = 2026) -> SegmentModel:
    """An openly generated, reproducible model for every PC4 from 1000 to 9999.

    Shares vary smoothly with the PC4 (urban centres lean young and
    cultural, rural areas lean families and villages) so that benchmarks show
    structure; nothing here describes real neighbourhoods."""
    pc4 = pl.int_range(1000, 10000, eager=True).alias("pc4")
    base = pl.DataFrame({"pc4": pc4}).join(
        pl.DataFrame({"segment": list(DEMO_SEGMENTS), "_s": list(range(len(DEMO_SEGMENTS)))}),
        how="cross",
    )
    noise = pl.concat_str(pl.col("pc4"), pl.col("segment")).hash(seed=seed) % 1000 / 1000.0
    urban = ((pl.col("pc4") % 100) < 20).cast(pl.Float64)
    weight = (
        noise + 0.2
        + urban * pl.when(pl.col("_s") <= 1).then(1.5).otherwise(0.0)
        + (1 - urban) * pl.when(pl.col("_s") >= 5).then(0.8).otherwise(0.0)
    )  # fmt: skip
    shares = (
        base.with_columns(weight.alias("_w"))
        .with_columns((pl.col("_w") / pl.col("_w").sum().over("pc4")).alias("share"))
        .with_columns(
            (pl.col("share") * (1500 + (pl.col("pc4") * 7919) % 3000))
            .round()
            .cast(pl.Int64)
            .alias("households"),
            pl.col("pc4").cast(pl.String),
        )
        .select("pc4", "segment", "share", "households")
    )
    return SegmentModel(version=f"synthetic-demo-{seed}", segments=DEMO_SEGMENTS, shares=shares)
