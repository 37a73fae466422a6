"""Releases: DP tables for one period, the budget ledger, sealing, the outbox.

The ledger is append-only in ``agent.db``. A release is identified by the
digest of its inputs (the period's ingested files, the files of the earlier
periods its new vs returning table looks back on, the segment model and the
release config); asking for the same release again returns the stored
plaintext instead of drawing new noise, so repetition never spends budget
and never lets anyone average noise away. A new release that would exceed
the period's budget is refused with what was spent and what is left.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from agent import ledger
from agent.periods import first_month
from agent.segments import SegmentModel
from agent.sketch_release import release_household_sketch
from agent.tables import ReleaseConfig, build_release
from agent.workspace import Workspace
from dp.measurements import compose_spend, release_tables
from protocol import PROTOCOL_VERSION
from protocol.envelope import seal_submission
from protocol.errors import UnsupportedVersion
from protocol.keys import SealPublicKey, SigningKey
from protocol.messages import PC4_RE, SubmissionPayload
from protocol.state_files import write_private


@dataclass(frozen=True)
class Release:
    payload: SubmissionPayload
    reused: bool


def effective_config(workspace: Workspace, config: ReleaseConfig) -> ReleaseConfig:
    """The config with the enrolled province filled in as ``home_province``.

    No table reads it since ``publiek-tables/3`` (the catchment bands need
    ``home_pc4``); it stays because the config is part of the ledger's key for a
    release (:func:`_release_digest`): dropping it would change the key of every
    release already drawn, so one drawn before an upgrade would no longer be
    found, and would be drawn, and spent, again (ADR 0014)."""
    if config.home_pc4 or config.home_province:
        return config
    return replace(config, home_province=workspace.load_config().province)


def catchment_origin(config: ReleaseConfig) -> str | None:
    """The PC4 the catchment bands were counted from: the institution's own
    (``home_pc4`` in ``release.toml``), a venue's public location, never a
    household's. None without ``home_pc4``: every household's band is then
    ``unknown``. The aggregator reads it to relate the bands to the population
    around the venue."""
    home = config.home_pc4
    return home if home is not None and PC4_RE.match(home) else None


def _files(workspace: Workspace, period: str) -> list[str]:
    """The names of a period's visit files: each holds its export's digest."""
    return sorted(p.name for p in (workspace.visits_dir / f"period={period}").glob("*.parquet"))


def _release_digest(
    workspace: Workspace, period: str, model: SegmentModel, config: ReleaseConfig
) -> str:
    # The earlier periods' files are inputs too: an export of an earlier quarter
    # ingested after a release changes who counts as returning, so that release is
    # not the one asked for any more (a new one must fit the budget that is left).
    # The digest is the ledger's own key, never sent: it keeps the encoding the
    # ledger's rows were keyed with (sorted-key json.dumps), not the wire's RFC
    # 8785, so a release drawn before an upgrade is still found for its inputs.
    material = json.dumps(
        {
            "period": period,
            "files": _files(workspace, period),
            "earlier": {p: _files(workspace, p) for p in earlier_periods(workspace, period)},
            "returning": RETURNING_RULE,
            "model": model.digest,
            **_config_material(config),
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    ).encode("utf-8")
    return hashlib.sha256(material).hexdigest()


def _config_material(config: ReleaseConfig) -> dict[str, object]:
    """The release config as the ledger keys a release by it. The sketch and the
    consent (``publiek/4``) join the key only when set, so that a release
    drawn before they existed keeps its key and is found again (ADR 0014)."""
    material = asdict(config)
    del material["sketch"], material["share_named_overlaps"]
    extra: dict[str, object] = {}
    if config.sketch is not None:
        extra["sketch"] = config.sketch.to_dict()
    if config.share_named_overlaps:
        extra["named_overlaps"] = True
    return {"config": material, **extra}


def spent(workspace: Workspace, period: str) -> float:
    return ledger.spent(workspace, period)


# "Returning" = visited this institution in the year before the period: the
# periods that start in the twelve months before it (the previous four quarters).
RETURNING_MONTHS = 12
RETURNING_RULE = "link_key in the periods starting in the 12 months before"


def earlier_periods(workspace: Workspace, period: str) -> list[str]:
    """The stored periods that new vs returning looks back on: those starting in the
    :data:`RETURNING_MONTHS` before ``period`` starts (for a quarter, the previous four)."""
    start = first_month(period)
    stored = (f.name.removeprefix("period=") for f in workspace.visits_dir.glob("period=*"))
    return sorted(p for p in stored if start - RETURNING_MONTHS <= first_month(p) < start)


def earlier_link_keys(workspace: Workspace, period: str) -> pl.Series:
    """Link keys of the households of the previous four quarters (for new vs returning).

    Link keys are HMACs under the workspace's own link key, which does not
    rotate, so a household matches across the institution's periods although
    its household key (under each period's sector key) does not. Visits
    ingested before link keys existed have none: their households are not
    found here, and count as new (docs/privacy-officer.md)."""
    keys = [workspace.load_visits(p)["link_key"] for p in earlier_periods(workspace, period)]
    if not keys:
        return pl.Series("link_key", [], dtype=pl.Binary)
    return pl.concat(keys).drop_nulls().unique()


def _sendable(stored: SubmissionPayload | None) -> SubmissionPayload | None:
    """The stored release, unless it was drawn under an earlier protocol version:
    the aggregator takes only the current one, and drawing anew would spend ρ
    again for the same inputs, so neither happens (ADR 0014)."""
    if stored is not None and stored.version != PROTOCOL_VERSION:
        raise UnsupportedVersion(
            f"the release for {stored.period} with these inputs was drawn under "
            f"{stored.version}, before this agent was upgraded; the aggregator takes "
            f"{PROTOCOL_VERSION} only",
            hint="its ρ stays spent and its receipt, if it was accepted, still verifies; "
            "the next quarter releases under the current version",
        )
    return stored


def stored_release(
    workspace: Workspace, period: str, model: SegmentModel, config: ReleaseConfig
) -> SubmissionPayload | None:
    """The release already drawn for exactly these inputs, if any (draws nothing).

    ``agent submit`` resends such a release without asking whether the
    period still has room: no new noise, no new spending."""
    digest = _release_digest(workspace, period, model, effective_config(workspace, config))
    return _sendable(ledger.find(workspace, period, digest))


def prepare_release(
    workspace: Workspace, period: str, model: SegmentModel, config: ReleaseConfig
) -> Release:
    """Return the period's release, reusing a stored one for the same inputs.

    A new release is drawn only when the ledger has room for it; the check is
    repeated inside the ledger's write lock before the release is recorded."""
    institution = workspace.load_config().institution_id
    config = effective_config(workspace, config)
    digest = _release_digest(workspace, period, model, config)
    stored = _sendable(ledger.find(workspace, period, digest))
    if stored is not None:
        return Release(payload=stored, reused=True)
    # A period without visits releases noisy zeros for every table: whether a
    # submission exists must not tell that the institution had no visitors.
    visits = workspace.load_visits(period)
    ledger.refuse_if_over(period, ledger.spent(workspace, period), config.period_budget, config.rho)
    # With a household sketch the tables take 1 − its weight of the
    # submission's ρ, the sketch the rest, as the period config's weights say;
    # an agent that spends less than the budget scales both alike.
    sketch_spec = config.sketch
    sketch_rho = 0.0 if sketch_spec is None else config.rho * sketch_spec.weight
    requests, households = build_release(
        visits,
        model,
        replace(config, rho=config.rho - sketch_rho),
        period=period,
        earlier_link_keys=earlier_link_keys(workspace, period),
    )
    tables, spend = release_tables(requests, mechanism=config.mechanism, delta=config.delta)
    sketch = None
    if sketch_spec is not None:
        sketch, _ = release_household_sketch(
            households,
            period,
            sketch_spec,
            rho=sketch_rho,
            mechanism=config.mechanism,
            delta=config.delta,
        )
        # One (ε, δ) for the whole submission: OpenDP composes the tables and
        # the sketch's two vectors (each of sensitivity 1).
        spend = compose_spend(
            [
                *((t.sensitivity, t.mechanism, t.scale) for t in tables),
                (1.0, sketch.mechanism, sketch.scale),
                (1.0, sketch.mechanism, sketch.count_scale),
            ],
            config.delta,
        )
    payload = SubmissionPayload(
        institution_id=institution,
        period=period,
        submission_id=secrets.token_hex(16),
        created_at=datetime.now(UTC).replace(microsecond=0).isoformat(),
        segment_model=model.version,
        catchment_origin=catchment_origin(config),
        bounds=config.bounds(),
        tables=tables,
        privacy=spend,
        sketch=sketch,
        named_overlaps=config.share_named_overlaps,
    )
    ledger.record(workspace, digest, payload, config.period_budget)
    return Release(payload=payload, reused=False)


def seal_to_outbox(
    workspace: Workspace,
    payload: SubmissionPayload,
    recipient: SealPublicKey,
    *,
    reseal: bool = False,
) -> Path:
    """Sign and seal; keep the envelope beside the exact plaintext it carries.

    An envelope already sealed for this submission id is kept as it is: the
    aggregator treats the same id with other bytes as a conflict, so a retry
    must resend the very same bytes. ``reseal`` replaces it with the same
    release sealed to ``recipient``: only for an envelope the aggregator
    refused because its key was retired, so it never stored those bytes and
    the same id with new bytes is no conflict (no new noise is drawn)."""
    path = workspace.outbox_dir / f"{payload.submission_id}.envelope"
    if path.exists() and not reseal:
        return path
    envelope, plaintext = seal_submission(
        payload, signer=SigningKey.load(workspace.signing_key_path), recipient=recipient
    )
    write_private(path, envelope)
    write_private(path.with_suffix(".plaintext.json"), plaintext)
    return path


def store_receipt(workspace: Workspace, submission_id: str, receipt: dict[str, object]) -> None:
    with workspace.connect() as db:
        db.execute(
            "INSERT OR REPLACE INTO receipts VALUES (?, ?)",
            (submission_id, json.dumps(receipt, sort_keys=True)),
        )
