"""The release config file: per-workspace, per-period choices of budget and mechanism.

``release.toml`` in the agent workspace (optional; defaults otherwise)::

    rho = 0.25                    # zCDP per submission
    period_budget = 0.5           # zCDP per period (the ledger's limit)
    mechanism = "discrete_gaussian"
    home_pc4 = "3511"             # for distance bands

    [periods."2026-Q4"]           # overrides for one period
    epsilon = 1.0                 # whole period budget as ε (at delta), one submission
    mechanism = "discrete_laplace"

Top-level keys apply to every period; a ``[periods."P"]`` table overrides
them for period P. ``epsilon`` (with optional ``delta``) replaces ``rho`` and
``period_budget`` by the ρ that OpenDP converts to that ε.
"""

from __future__ import annotations

import tomllib
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from agent.tables import ReleaseConfig
from agent.workspace import Workspace
from protocol.errors import UsageError
from protocol.messages import MECHANISMS, check_period

FILE_NAME = "release.toml"
_FIELDS = {f.name: f.type for f in fields(ReleaseConfig)}
_EXTRA = {"epsilon"}


def _apply(config: ReleaseConfig, values: dict[str, Any], where: str) -> ReleaseConfig:
    unknown = set(values) - set(_FIELDS) - _EXTRA
    if unknown:
        raise UsageError(
            f"{where}: unknown release settings {', '.join(sorted(unknown))}",
            hint=f"allowed: {', '.join(sorted(set(_FIELDS) | _EXTRA))}",
        )
    if "mechanism" in values and values["mechanism"] not in MECHANISMS:
        raise UsageError(f"{where}: mechanism must be one of {', '.join(MECHANISMS)}")
    plain = {k: v for k, v in values.items() if k not in _EXTRA}
    try:
        config = replace(config, **plain)
        if "epsilon" in values:
            others = {f: getattr(config, f) for f in _FIELDS if f not in {"rho", "period_budget"}}
            config = ReleaseConfig.for_epsilon(
                float(values["epsilon"]),
                **{k: v for k, v in others.items() if k != "delta"},
                delta=config.delta,
            )
    except (TypeError, ValueError) as exc:
        raise UsageError(f"{where}: invalid release settings ({exc})") from exc
    if not 0 < config.rho <= config.period_budget:
        raise UsageError(f"{where}: need 0 < rho <= period_budget")
    value = config.max_visits
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(
            f"{where}: max_visits must be a whole number of at least 1",
            hint="the contribution bound counts tickets per household per period",
        )
    if not 0 < config.delta < 1:
        raise UsageError(f"{where}: delta must lie strictly between 0 and 1")
    return config


def release_config(workspace: Workspace, period: str) -> ReleaseConfig:
    """The release config for ``period``: defaults, the file, then its period table."""
    check_period(period)
    if "-Q" not in period:
        raise UsageError(
            f"the agent releases per quarter; {period} is a month",
            hint="use a quarter label such as 2026-Q3 (ingest partitions visits by quarter)",
        )
    path: Path = workspace.root / FILE_NAME
    if not path.exists():
        return ReleaseConfig()
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{path} cannot be read as TOML", hint="check its syntax") from exc
    periods = doc.pop("periods", {})
    config = _apply(ReleaseConfig(), doc, str(path))
    if period in periods:
        config = _apply(config, periods[period], f'{path} [periods."{period}"]')
    return config
