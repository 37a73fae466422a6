"""Segment model releases: PC4 → segment shares and households per segment.

A segment model is a versioned file (format ``publiek-segment-model/1``) that
gives, per PC4, the share of households in each audience segment and the
number of households per segment (for penetration and non-visitors later).
A household is placed in one segment by a uniform draw derived from its
household key, weighted by its PC4's shares: deterministic for a household
within a period, unlinkable across periods (the sector key rotates), and
without any PC6 lookup leaving the agent.

The project ships no real model. :func:`synthetic_demo_model` generates an
open, reproducible one from a seed; ``docs/segment-model.md`` documents the
format so a licensed model can be loaded with :meth:`SegmentModel.load`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import polars as pl

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
    # The PC4 centroids of a signed release (pc4: int, lat, lon), from which the
    # catchment bands are drawn (dp.catchments); ``None`` for a /1 model file,
    # which has none: every household's catchment is then ``unknown``.
    centroids: pl.DataFrame | None = field(default=None, repr=False)

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
        """The segment of each row of ``households`` (aligned with its rows).

        A household falls in the segment whose cumulative-share interval
        [lo, hi) of its PC4 holds its draw; an as-of join on ``lo`` finds it
        with one sort instead of a join over every segment (millions of
        households must be placed in well under a second)."""
        u = pl.col("household_key").bin.slice(0, 8).bin.reinterpret(
            dtype=pl.UInt64, endianness="big"
        ) / float(2**64)
        cum = (
            self.shares.with_columns(pl.col("share").cum_sum().over("pc4").alias("_hi"))
            .with_columns((pl.col("_hi") - pl.col("share")).alias("_lo"))
            .filter(pl.col("share") > 0)
            .select(pl.col("pc4").cast(pl.Int64, strict=False), "segment", "_lo", "_hi")
            .sort("_lo")
        )
        keyed = (
            households.select(pl.col("pc4").cast(pl.Int64, strict=False), u.alias("_u"))
            .with_row_index("_i")
            .sort("_u")
        )
        placed = keyed.join_asof(
            cum, left_on="_u", right_on="_lo", by="pc4", strategy="backward", check_sortedness=False
        )
        segment = (
            pl.when(pl.col("segment").is_not_null() & (pl.col("_u") < pl.col("_hi")))
            .then(pl.col("segment"))
            .otherwise(pl.lit(UNKNOWN))
        )
        return placed.sort("_i").select(segment.alias("segment"))["segment"]


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
