"""The period config: quarters only, parse-then-validate, signed under its own domain."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.encoding import canonical_bytes, parse_canonical
from protocol.errors import InvalidPayload, InvalidSignature, MalformedMessage
from protocol.keys import SigningKey
from protocol.messages import PeriodConfig, PeriodTable, check_period
from protocol.period_config import (
    PERIOD_CONFIG_DOMAIN,
    sign_period_config,
    verify_period_config,
)
from protocol.translog import RECEIPT_DOMAIN

KEY = SigningKey.generate()


def config(**changes: object) -> PeriodConfig:
    base = PeriodConfig(
        period="2026-Q3",
        rho_budget=0.0201871,
        delta=1e-7,
        mechanism="discrete_gaussian",
        design="publiek-tables/2",
        tables=(PeriodTable("households_by_segment", 0.6), PeriodTable("visits_by_month", 0.4)),
        bounds={"max_visits_per_household": 12},
        k=5,
        segment_model="synthetic-demo-2026",
        segment_model_digest=None,
        issued_at="2026-07-01T00:00:00+00:00",
        aggregator_key_id=KEY.public.key_id,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize("label", ["2026-M07", "2026-M12"])
def test_month_periods_are_refused_with_a_clear_message(label: str) -> None:
    with pytest.raises(InvalidPayload, match="is a month; periods are quarters only"):
        check_period(label)


@pytest.mark.parametrize("label", ["2026-Q0", "2026-Q5", "26-Q1", "2026-q3", "2026-H1"])
def test_other_labels_are_refused(label: str) -> None:
    with pytest.raises(InvalidPayload, match="quarter such as 2026-Q3"):
        check_period(label)


@given(
    rho=st.floats(1e-6, 10.0),
    k=st.integers(1, 50),
    quarter=st.integers(1, 4),
    cap=st.integers(1, 100),
)
def test_a_signed_config_round_trips_and_verifies(
    rho: float, k: int, quarter: int, cap: int
) -> None:
    signed = sign_period_config(
        config(rho_budget=rho, k=k, period=f"2027-Q{quarter}",
               bounds={"max_visits_per_household": cap}),
        KEY,
    )  # fmt: skip
    encoded = canonical_bytes(signed.to_dict())
    decoded = PeriodConfig.from_dict(parse_canonical(encoded, what="period config"))
    assert decoded == signed
    verify_period_config(decoded, KEY.public)


@pytest.mark.parametrize(
    "change",
    [
        {"rho_budget": 1.0},
        {"delta": 1e-6},
        {"mechanism": "discrete_laplace"},
        {"period": "2026-Q4"},
        {"bounds": {"max_visits_per_household": 13}},
        {"tables": (PeriodTable("households_by_segment", 1.0),)},
        {"k": 2},
    ],
)
def test_any_changed_field_breaks_the_signature(change: dict[str, object]) -> None:
    signed = sign_period_config(config(), KEY)
    with pytest.raises(InvalidSignature):
        verify_period_config(dataclasses.replace(signed, **change), KEY.public)  # type: ignore[arg-type]


def test_another_key_or_a_receipt_signature_does_not_pass() -> None:
    other = SigningKey.generate()
    with pytest.raises(InvalidSignature, match="another aggregator key"):
        verify_period_config(sign_period_config(config(), other), KEY.public)
    unsigned = config()
    as_receipt = KEY.sign(RECEIPT_DOMAIN, canonical_bytes(unsigned.body()))
    assert RECEIPT_DOMAIN != PERIOD_CONFIG_DOMAIN
    with pytest.raises(InvalidSignature):
        verify_period_config(dataclasses.replace(unsigned, signature=as_receipt), KEY.public)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"period": "2026-M07"}, "month"),
        ({"rho_budget": 0.0}, "rho_budget"),
        ({"delta": 1.0}, "delta"),
        ({"mechanism": "gaussian"}, "mechanism"),
        ({"tables": (PeriodTable("households_by_segment", 0.5),)}, "add up to 1"),
        ({"bounds": {"max_visits_per_household": 0}}, "bounds"),
        ({"k": 0}, "k must"),
    ],
)
def test_invalid_configs_do_not_exist(change: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidPayload, match=message):
        config(**change)


def test_parsing_refuses_unknown_fields_and_wrong_types() -> None:
    doc = sign_period_config(config(), KEY).to_dict()
    with pytest.raises(InvalidPayload, match="unknown fields: epsilon"):
        PeriodConfig.from_dict({**doc, "epsilon": 9.0})
    with pytest.raises(InvalidPayload, match="k must be an integer"):
        PeriodConfig.from_dict({**doc, "k": "5"})
    with pytest.raises(InvalidPayload, match="bounds"):
        PeriodConfig.from_dict({**doc, "bounds": {"max_visits_per_household": 1.5}})
    with pytest.raises(MalformedMessage):
        PeriodConfig.from_dict({**doc, "signature": "not base64!"})
