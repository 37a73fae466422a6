"""A stored submission carrying the two tables penetration reads
(``households_by_segment_catchment`` and ``households_by_segment_province``
of release design v3) and a catchment origin, with real OpenDP noise, for
tests that need one before the agent sends them: it is written to the
database directly, past the intake."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from aggregator.penetration import CATCHMENT_TABLE, PROVINCE_TABLE
from aggregator.storage import Submission
from dp.catchments import BANDS, UNKNOWN
from dp.measurements import GAUSSIAN, TableRequest, default_rho, release_tables
from dp.release_design import DEFAULT_BOUNDS, HOUSEHOLDS, PROVINCES


def payload(
    institution_id: str, period: str, *, origin: str | None, segment_model: str,
    segments: tuple[str, ...],
) -> dict[str, Any]:  # fmt: skip
    labels = (*segments, UNKNOWN)
    catchment_keys = tuple((s, b) for s in labels for b in BANDS)
    province_keys = tuple((s, p) for s in labels for p in (*PROVINCES, UNKNOWN))
    rho = default_rho() / 10
    tables, spend = release_tables(
        [
            TableRequest(CATCHMENT_TABLE, HOUSEHOLDS, ("segment", "catchment"), catchment_keys,
                         tuple(400 if b == BANDS[0] else 50 for _, b in catchment_keys), 1.0, rho),
            TableRequest(PROVINCE_TABLE, HOUSEHOLDS, ("segment", "province"), province_keys,
                         tuple(300 for _ in province_keys), 1.0, rho),
        ],
        mechanism=GAUSSIAN,
    )  # fmt: skip
    return {
        "institution_id": institution_id,
        "period": period,
        "segment_model": segment_model,
        "bounds": dict(DEFAULT_BOUNDS),
        "tables": [t.to_dict() for t in tables],
        "privacy": spend.to_dict(),
        "catchment_origin": origin,
    }


def stored(body: dict[str, Any], *, log_index: int) -> Submission:
    """``body`` as a stored row (no envelope: nothing reads it here)."""
    now = datetime.now(UTC)
    return Submission(
        submission_id=secrets.token_hex(16), institution_id=body["institution_id"],
        period=body["period"], digest=secrets.token_hex(32), envelope=b"", payload=body,
        rho=body["privacy"]["rho"], received_at=now, log_index=log_index,
        receipt={"received_at": now.isoformat()},
    )  # fmt: skip
