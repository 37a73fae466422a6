"""publiek/4's household sketch messages (ADR 0036): the period config's
``sketch``, the payload's ``sketch`` and ``named_overlaps``, round trips and
refusals, and records of publiek/3 read back without them."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from protocol.encoding import canonical_bytes
from protocol.errors import InvalidPayload, UnsupportedVersion
from protocol.keys import SigningKey
from protocol.messages import (
    MAX_SKETCH_BUCKETS,
    PeriodConfig,
    PeriodSketch,
    PeriodTable,
    PrivacySpend,
    ReleasedSketch,
    SketchPart,
    SubmissionPayload,
)
from protocol.period_config import sign_period_config, verify_period_config

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
SEED = bytes(range(32))


def valid_payload() -> SubmissionPayload:
    doc = json.loads((VECTORS / "messages" / "valid-plaintext.json").read_bytes())
    return SubmissionPayload.from_dict(doc["payload"])


def sketch(width: int = 256, parts: tuple[str, ...] = ("theater", "music")) -> ReleasedSketch:
    return ReleasedSketch(
        design="publiek-sketch/1",
        width=width,
        mechanism="discrete_gaussian",
        scale=10.3,
        count_scale=44.7,
        rho=0.005,
        parts=tuple(
            SketchPart(discipline=d, households=-3 + i, buckets=tuple(range(width)))
            for i, d in enumerate(parts)
        ),
    )


def with_sketch(p: SubmissionPayload, s: ReleasedSketch | None = None) -> SubmissionPayload:
    s = s or sketch()
    spend = PrivacySpend(rho=p.privacy.rho + s.rho, epsilon=3.0, delta=p.privacy.delta)
    return replace(p, sketch=s, named_overlaps=True, privacy=spend)


def test_a_payload_with_a_sketch_round_trips_byte_for_byte() -> None:
    p = with_sketch(valid_payload())
    doc = json.loads(canonical_bytes(p.to_dict()))
    back = SubmissionPayload.from_dict(doc)
    assert back == p and back.sketch is not None
    assert canonical_bytes(back.to_dict()) == canonical_bytes(p.to_dict())
    assert back.named_overlaps is True and back.sketch.parts[1].households == -2


def test_a_payload_without_a_sketch_says_so_with_null_and_false() -> None:
    doc = valid_payload().to_dict()
    assert doc["sketch"] is None and doc["named_overlaps"] is False
    for member in ("sketch", "named_overlaps"):
        absent = {k: v for k, v in doc.items() if k != member}
        with pytest.raises(InvalidPayload, match=f"lacks the fields {member}"):
            SubmissionPayload.from_dict(absent)


@pytest.mark.parametrize("value", [1, "true", None])
def test_named_overlaps_is_a_json_boolean(value: Any) -> None:
    doc = {**valid_payload().to_dict(), "named_overlaps": value}
    with pytest.raises(InvalidPayload, match="named_overlaps must be true or false"):
        SubmissionPayload.from_dict(doc)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda d: d["parts"][0]["buckets"].append(0), "exactly 256 buckets"),
        (lambda d: d["parts"][1].update(discipline="theater"), "distinct disciplines"),
        (lambda d: d.update(width=384), "power of two"),
        (lambda d: d.update(width=128), "width must lie in"),
        (lambda d: d.update(design="publiek-sketch/2"), "design must be one of"),
        (lambda d: d["parts"][0].update(discipline="Circus Maximus"), "discipline must be"),
        (lambda d: d["parts"][0].update(households=1.5), "households must be an integer"),
        (lambda d: d.update(scale=0), "scale must lie in"),
        (lambda d: d.update(parts=[]), "parts must hold 1"),
    ],
)
def test_a_bad_sketch_is_refused_without_quoting_values(change: Any, reason: str) -> None:
    doc = with_sketch(valid_payload()).to_dict()
    change(doc["sketch"])
    with pytest.raises(InvalidPayload, match=reason) as raised:
        SubmissionPayload.from_dict(doc)
    assert "Circus" not in str(raised.value)


def test_a_sketch_holds_at_most_its_bucket_limit() -> None:
    width = 1 << 16
    parts = tuple(f"d{i}" for i in range(MAX_SKETCH_BUCKETS // width + 1))
    with pytest.raises(InvalidPayload, match="at most"):
        sketch(width=width, parts=parts)


def test_reprs_hide_buckets_counts_and_the_seed() -> None:
    s = sketch(parts=("theater",))
    assert "buckets" not in repr(s) and "households" not in repr(s.parts)
    assert "255" not in repr(s) + repr(s.parts)
    assert "seed" not in repr(PeriodSketch(width=256, seed=SEED, weight=0.2))


def test_a_publiek_3_record_reads_back_without_a_sketch_and_is_never_sent() -> None:
    doc = valid_payload().to_dict()
    del doc["sketch"], doc["named_overlaps"]
    record = SubmissionPayload.from_record({**doc, "version": "publiek/3"})
    assert (record.sketch, record.named_overlaps, record.version) == (None, False, "publiek/3")
    assert "sketch" not in record.to_dict()
    with pytest.raises(UnsupportedVersion):
        SubmissionPayload.from_dict({**doc, "version": "publiek/3"})
    with pytest.raises(InvalidPayload, match="publiek/3 payload has no sketch"):
        SubmissionPayload.from_record({**doc, "version": "publiek/3", "sketch": None})


def config(sketch_spec: PeriodSketch | None, share: float) -> PeriodConfig:
    return PeriodConfig(
        period="2026-Q4",
        rho_budget=0.02,
        delta=1e-7,
        mechanism="discrete_gaussian",
        design="publiek-tables/3",
        tables=(PeriodTable("a", 0.5 * share), PeriodTable("b", 0.5 * share)),
        bounds={"max_visits_per_household": 12},
        k=5,
        segment_model="synthetic-demo-2026",
        segment_model_digest=None,
        issued_at="2026-10-01T00:00:00+00:00",
        aggregator_key_id="0" * 32,
        sketch=sketch_spec,
    )


def test_a_period_config_with_a_sketch_is_signed_over_it_and_round_trips() -> None:
    key = SigningKey.generate()
    spec = PeriodSketch(width=1024, seed=SEED, weight=0.25)
    signed = sign_period_config(
        replace(config(spec, 0.75), aggregator_key_id=key.public.key_id), key
    )
    back = PeriodConfig.from_dict(json.loads(canonical_bytes(signed.to_dict())))
    assert back == signed and back.sketch == spec
    verify_period_config(back, key.public)
    other = replace(back, sketch=replace(spec, seed=bytes(32)))
    with pytest.raises(Exception, match="signature"):
        verify_period_config(other, key.public)


def test_table_weights_and_the_sketch_weight_add_up_to_one() -> None:
    config(None, 1.0)
    config(PeriodSketch(width=256, seed=SEED, weight=0.3), 0.7)
    with pytest.raises(InvalidPayload, match="sketch's weight must add up to 1"):
        config(PeriodSketch(width=256, seed=SEED, weight=0.3), 1.0)
    with pytest.raises(InvalidPayload, match="must add up to 1"):
        config(None, 0.7)


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"width": 1000}, "power of two"),
        ({"width": 1 << 23}, "width must lie in"),
        ({"seed": b"short"}, "seed must be 32 bytes"),
        ({"weight": 1.0}, "weight must lie in"),
        ({"weight": 0.0}, "weight must lie in"),
    ],
)
def test_a_bad_period_sketch_is_refused(fields: dict[str, Any], reason: str) -> None:
    with pytest.raises(InvalidPayload, match=reason):
        PeriodSketch(**{"width": 256, "seed": SEED, "weight": 0.25, **fields})
