"""The taskforce's period config as the agent takes it: fetched, verified, cached.

A release is drawn only under a period config signed by the aggregator's
receipt key, the key this workspace cached at enrollment (the same anchor as
for receipts). The config fixes the budget per institution, δ, the mechanism,
the release design with its table weights, the default bounds and the
segment model release every submission of the period uses (ADR 0030); the
agent may spend less (``release.toml``), never more. Online, ``agent submit``
fetches it and the institution's standing and refuses before drawing when
the period will not accept a release; offline, ``agent export`` needs the
signed config from the workspace cache or a file the taskforce hands out.

Verified configs are cached as ``period-configs/<period>.json`` (the signed
document itself, checked again whenever it is read).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from agent.client import AggregatorClient
from agent.key_set import receipt_key
from agent.segments import SegmentModel
from agent.workspace import Workspace
from dp import release_design
from protocol import EARLIER_VERSIONS
from protocol.errors import (
    InstitutionRevoked,
    InsufficientPrivacyBudget,
    MalformedMessage,
    PeriodNotOpen,
    UnknownPeriod,
    UsageError,
)
from protocol.messages import PeriodConfig, check_period
from protocol.period_config import verify_period_config
from protocol.state_files import write_private

CACHE_DIR = "period-configs"
BUDGET_TOLERANCE = 1e-9  # the aggregator's float slack when it sums ρ


def cache_path(workspace: Workspace, period: str) -> Path:
    return workspace.root / CACHE_DIR / f"{check_period(period)}.json"


def check_design(config: PeriodConfig) -> None:
    """Refuse a config whose release design this agent does not build."""
    # With a household sketch the tables share 1 − its weight, each in the
    # design's proportion (ADR 0036).
    share = 1.0 - (0.0 if config.sketch is None else config.sketch.weight)
    ours = {t.name: t.weight * share for t in release_design.TABLE_DESIGN}
    theirs = config.weights
    if (
        config.design != release_design.DESIGN
        or set(theirs) != set(ours)
        or any(not math.isclose(theirs[n], w, rel_tol=1e-9) for n, w in ours.items())
    ):
        raise UsageError(
            f"the period config for {config.period} asks for release design {config.design} "
            f"({len(config.tables)} tables); this agent builds {release_design.DESIGN}",
            hint="upgrade the agent to the version the taskforce names for this period",
        )


def check_segment_model(config: PeriodConfig, model: SegmentModel) -> None:
    """Refuse, before anything is drawn, to release with another segment model than
    the period's: the aggregator would refuse the submission, and the ρ drawn for
    it would stay spent in the ledger.

    A signed release must be the very release the config names (its version and
    its manifest's digest); the built-in demo model has no release, so its
    version is all there is to compare. The agent does not fetch the model by
    itself (ADR 0030): the offline path could not, and which model a workspace
    releases with stays the operator's visible choice."""
    digest = config.segment_model_digest
    if model.version == config.segment_model and digest in (None, model.release_digest):
        return
    named = config.segment_model + (f" (release {digest[:16]})" if digest else "")
    ours = model.version + (
        f" (release {model.release_digest[:16]})" if model.release_digest else ""
    )
    if digest is None:
        hint = (
            f"the period uses the built-in demo model {config.segment_model}: release from a "
            "workspace without an installed model, or ask the taskforce which model is meant"
        )
    else:
        hint = (
            f"install the period's model: publiek agent segment-model fetch --version "
            f"{config.segment_model} (online; the model key pinned with segment-model pin-key), "
            "or segment-model install FILE with the release file from the taskforce"
        )
    raise UsageError(
        f"period {config.period} releases with segment model {named}; this workspace's model "
        f"is {ours}; nothing was drawn",
        hint=hint,
    )


def verified(workspace: Workspace, doc: Any, period: str) -> PeriodConfig:
    """Parse ``doc``, check it is ``period``'s config signed by the trusted receipt key."""
    config = PeriodConfig.from_dict(doc)
    if config.period != period:
        raise UsageError(f"the period config is for {config.period}, not {period}")
    verify_period_config(config, receipt_key(workspace))
    check_design(config)
    return config


def save(workspace: Workspace, config: PeriodConfig) -> Path:
    path = cache_path(workspace, config.period)
    write_private(path, (json.dumps(config.to_dict(), indent=2, sort_keys=True) + "\n").encode())
    return path


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise MalformedMessage(f"{path} is not a period config (JSON)") from exc


def cached(workspace: Workspace, period: str) -> PeriodConfig | None:
    """The workspace's cached config for ``period``, verified again; None if absent.

    A config cached before an upgrade of the protocol (``publiek/1`` bytes, or
    a ``publiek/2`` config that names no segment model) is signed over bytes
    this agent cannot re-verify: it counts as absent, so ``agent submit``
    fetches the current one and ``agent export`` asks for it (ADR 0014, 0030)."""
    path = cache_path(workspace, period)
    if not path.exists():
        return None
    doc = _read(path)
    if isinstance(doc, dict) and doc.get("version") in EARLIER_VERSIONS:
        return None
    return verified(workspace, doc, period)


def fetch(workspace: Workspace, client: AggregatorClient, period: str) -> PeriodConfig:
    """Fetch, verify and cache the config (an unknown period raises ``UnknownPeriod``)."""
    try:
        doc = client.period_config(period)
    except UnknownPeriod as exc:
        raise UnknownPeriod(
            f"period {period} has not been opened at the aggregator; nothing was drawn",
            hint=f"ask the taskforce to open it (publiek aggregator period open {period}), "
            "then run this again",
        ) from exc
    config = verified(workspace, doc, period)
    save(workspace, config)
    return config


def offline(workspace: Workspace, period: str, file: Path | None = None) -> PeriodConfig:
    """The config for the offline path: from ``file`` (then cached) or the cache."""
    if file is not None:
        config = verified(workspace, _read(file), period)
        save(workspace, config)
        return config
    found = cached(workspace, period)
    if found is None:
        raise UsageError(
            f"no signed period config for {period} in this workspace; nothing was drawn",
            hint=f"pass --period-config FILE from the taskforce (publiek aggregator period "
            f"config {period} --out FILE, or saved from GET /v1/periods/{period}/config)",
        )
    return found


def check_standing(standing: dict[str, Any], period: str, needed_rho: float) -> None:
    """Refuse before drawing when the aggregator would not accept the release."""
    if standing.get("revoked"):
        raise InstitutionRevoked(
            f"this institution is revoked at the aggregator; nothing was drawn for {period}",
            hint="ask the taskforce; a revoked agent's submissions are refused",
        )
    state = standing.get("state")
    if state != "open":
        raise PeriodNotOpen(
            f"period {period} is {state} at the aggregator; nothing was drawn",
            hint="a period accepts submissions only while it is open",
        )
    budget, spent = float(standing["rho_budget"]), float(standing["rho_spent"])
    if spent + needed_rho > budget + BUDGET_TOLERANCE:
        raise InsufficientPrivacyBudget(
            f"period {period}: the aggregator counts ρ {spent:g} of {budget:g} spent by this "
            f"institution, {max(budget - spent, 0.0):g} left; a release needs {needed_rho:g}; "
            "nothing was drawn",
            hint="the period's budget is spent; resend the stored release or wait for the "
            "next quarter",
        )
