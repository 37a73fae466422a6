"""The release config: the taskforce's period config, capped lower by ``release.toml``.

The signed period config (``agent.period_config``) is the source of the
period's budget per institution, the mechanism, δ and the contribution
bounds; by default one submission spends the whole budget. ``release.toml``
in the agent workspace (optional) may only spend **less**, and names local
facts::

    rho = 0.01                    # zCDP of one submission (≤ the period's budget)
    period_budget = 0.015         # what this agent's ledger lets the period spend
    home_pc4 = "3511"             # own PC4: origin of the catchment bands (catchment_origin)
    share_named_overlaps = false  # consent: institutions that also consent see our named
                                  # pairwise household overlap (false: never named)

    [periods."2026-Q4"]           # overrides for one period
    epsilon = 0.5                 # one submission of ε (at the config's δ)

Top-level keys apply to every period; a ``[periods."P"]`` table overrides
them for period P. ``epsilon`` replaces ``rho`` and ``period_budget`` by the
ρ that OpenDP converts to that ε at the period config's δ. A figure above
the period's budget is refused, naming both; the mechanism, δ and bounds are
the taskforce's and cannot be set here.
"""

from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

from agent import period_config as period_configs
from agent.tables import ReleaseConfig
from agent.workspace import Workspace
from dp.measurements import rho_for_epsilon
from dp.release_design import MAX_VISITS
from protocol.errors import UsageError
from protocol.messages import PC4_RE, PeriodConfig, check_period

FILE_NAME = "release.toml"
CAPS = ("rho", "period_budget", "epsilon")
LOCAL = ("home_pc4", "home_province")
CONSENT = ("share_named_overlaps",)
FIXED = ("mechanism", "delta", "max_visits")
RELATIVE_SLACK = 1e-12  # ε converted back to ρ at the same δ may differ in the last bit


def from_period_config(config: PeriodConfig) -> ReleaseConfig:
    """One submission spending the period's whole budget under its mechanism, δ and bounds."""
    fixed: dict[str, Any] = {"mechanism": config.mechanism, "delta": config.delta}
    if MAX_VISITS in config.bounds:
        fixed["max_visits"] = config.bounds[MAX_VISITS]
    return ReleaseConfig(
        rho=config.rho_budget, period_budget=config.rho_budget, sketch=config.sketch, **fixed
    )


def _cap(values: dict[str, Any], budget: float, delta: float, where: str) -> dict[str, float]:
    """The ρ caps asked for in one table of ``release.toml``, each checked against the budget."""
    caps: dict[str, float] = {}
    try:
        if "epsilon" in values:
            rho = rho_for_epsilon(float(values["epsilon"]), delta)
            caps = {"rho": rho, "period_budget": rho}
        for key in ("rho", "period_budget"):
            if key in values:
                caps[key] = float(values[key])
    except (TypeError, ValueError) as exc:
        raise UsageError(f"{where}: invalid release settings ({exc})") from exc
    for key, value in caps.items():
        if not value > 0:
            raise UsageError(f"{where}: {key} must be positive")
        if value > budget * (1 + RELATIVE_SLACK):
            asked = f"{key} {value:g}"
            if "epsilon" in values and key not in values:
                asked = f"epsilon {values['epsilon']:g} (ρ {value:g})"
            raise UsageError(
                f"{where}: {asked} is above the period's budget ρ {budget:g} set by the "
                "taskforce's period config",
                hint="release.toml may only lower the budget, never raise it",
            )
    return caps


def _apply(
    config: ReleaseConfig, values: dict[str, Any], where: str, budget: float
) -> ReleaseConfig:
    unknown = set(values) - set(CAPS) - set(LOCAL) - set(CONSENT)
    fixed = sorted(unknown & set(FIXED))
    if fixed:
        raise UsageError(
            f"{where}: {', '.join(fixed)} is set by the taskforce's period config",
            hint="release.toml may lower rho, period_budget or epsilon and set home_pc4",
        )
    if unknown:
        raise UsageError(
            f"{where}: unknown release settings {', '.join(sorted(unknown))}",
            hint=f"allowed: {', '.join(sorted(CAPS + LOCAL + CONSENT))}",
        )
    caps = _cap(values, budget, config.delta, where)
    if not all(isinstance(values[k], str) for k in LOCAL if k in values):
        raise UsageError(f"{where}: home_pc4 and home_province must be text")
    if "home_pc4" in values and not PC4_RE.match(values["home_pc4"]):
        # It goes on the wire as the submission's catchment_origin (ADR 0030).
        raise UsageError(
            f'{where}: home_pc4 must be the institution\'s own four-digit PC4, such as "3511"'
        )
    if "share_named_overlaps" in values and type(values["share_named_overlaps"]) is not bool:
        raise UsageError(f"{where}: share_named_overlaps must be true or false")
    period_budget = caps.get("period_budget", config.period_budget)
    return replace(
        config,
        rho=caps.get("rho", min(config.rho, period_budget)),
        period_budget=period_budget,
        home_pc4=values.get("home_pc4", config.home_pc4),
        home_province=values.get("home_province", config.home_province),
        share_named_overlaps=values.get("share_named_overlaps", config.share_named_overlaps),
    )


def release_config(
    workspace: Workspace, period: str, config: PeriodConfig | None = None
) -> ReleaseConfig:
    """The release config for ``period``: the period config, then ``release.toml``'s caps.

    Without ``config`` the workspace's cached period config is used, and
    without one the agent's built-in defaults (only for showing the ledger:
    ``agent submit`` and ``agent export`` always have a verified config)."""
    check_period(period)
    if config is None:
        config = period_configs.cached(workspace, period)
    base = from_period_config(config) if config is not None else ReleaseConfig()
    budget = base.period_budget
    path: Path = workspace.root / FILE_NAME
    if not path.exists():
        return base
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{path} cannot be read as TOML", hint="check its syntax") from exc
    periods = doc.pop("periods", {})
    result = _apply(base, doc, str(path), budget)
    if period in periods:
        result = _apply(result, periods[period], f'{path} [periods."{period}"]', budget)
    if not 0 < result.rho <= result.period_budget:
        raise UsageError(
            f"{path}: need 0 < rho <= period_budget (rho {result.rho:g}, "
            f"period_budget {result.period_budget:g})"
        )
    return result
