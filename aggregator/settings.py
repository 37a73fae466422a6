"""Aggregator settings: where its state lives and the policy defaults.

Settings come from, in rising precedence: the defaults here, the config
file (``STATE/aggregator.toml``, or ``--config``), then command-line flags.
The config file is TOML with one ``[aggregator]`` table::

    [aggregator]
    database = "postgresql+psycopg://publiek@db.internal/publiek"
    host = "127.0.0.1"
    port = 8470
    k = 5
    period_rho = 0.0201871           # ρ per institution and quarter (default: ε = 1)
    period_delta = 1e-7              # δ of the period config (ε is stated at this δ)
    period_mechanism = "discrete_gaussian"
    max_body_bytes = 8388608
    token_days = 90
    workers = 1          # forked uvicorn workers sharing the socket
    login_failures = 5       # failed logins before a block, per account and per address
    login_backoff_seconds = 30.0               # an account's first block; then doubling
    login_backoff_cap_seconds = 300.0          # an account's longest block
    login_client_backoff_seconds = 900.0       # an address's first block; then doubling
    login_client_backoff_cap_seconds = 3600.0  # an address's longest block
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import tomli_w

from dp.measurements import GAUSSIAN, default_rho, rho_for_epsilon
from dp.release_design import DEFAULT_DELTA, DEFAULT_EPSILON
from protocol.errors import UsageError
from protocol.keys import write_secret
from protocol.messages import MECHANISMS
from protocol.state_files import PRIVATE_DIR_MODE, Repaired, repair_private

DEFAULT_K = 5
# The taskforce's budget: ε = 1 per quarter per institution at δ = 1e-7, spent
# by one submission. ρ is what the ledgers count; OpenDP converts (ADR 0012).
DEFAULT_PERIOD_EPSILON = DEFAULT_EPSILON
DEFAULT_PERIOD_DELTA = DEFAULT_DELTA


def period_rho_for(epsilon: float, delta: float) -> float:
    """ρ per institution and period for a budget of ``epsilon`` at ``delta`` (OpenDP)."""
    return rho_for_epsilon(epsilon, delta)


DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8470
CONFIG_NAME = "aggregator.toml"


@dataclass(frozen=True)
class Settings:
    state_dir: Path
    database_url: str | None = None
    k: int = DEFAULT_K
    period_rho: float = field(default_factory=default_rho)
    period_delta: float = DEFAULT_PERIOD_DELTA
    period_mechanism: str = GAUSSIAN
    max_body_bytes: int = 8 * 1024 * 1024
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    token_days: int = 90
    request_skew_seconds: int = 300
    workers: int = 1
    # The login throttle (aggregator.auth.LoginThrottle, docs/operations.md): after
    # ``login_failures`` failures an account is blocked with exponential back-off up
    # to its cap, the address the failures came from for longer.
    login_failures: int = 5
    login_backoff_seconds: float = 30.0
    login_backoff_cap_seconds: float = 300.0
    login_client_backoff_seconds: float = 900.0
    login_client_backoff_cap_seconds: float = 3600.0
    # The web session cookie's ``Secure`` flag (aggregator.api.web_session): None
    # decides per request (Secure unless plain HTTP to a loopback host, e.g. the
    # demo); true behind a TLS proxy that passes a loopback Host, false never needed.
    secure_cookies: bool | None = None

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.state_dir / 'aggregator.db').resolve()}"

    @property
    def keys_dir(self) -> Path:
        return self.state_dir / "keys"

    def public(self) -> dict[str, Any]:
        """What the privacy officer may read: policy, never the database password."""
        return {
            "k": self.k,
            "period_rho": self.period_rho,
            "period_delta": self.period_delta,
            "period_mechanism": self.period_mechanism,
            "max_body_bytes": self.max_body_bytes,
            "token_days": self.token_days,
            "request_skew_seconds": self.request_skew_seconds,
            "database": self.db_url.split(":", 1)[0].split("+", 1)[0],
        }


_KEYS = {
    "database": ("database_url", str),
    "host": ("host", str),
    "port": ("port", int),
    "k": ("k", int),
    "period_rho": ("period_rho", float),
    "period_delta": ("period_delta", float),
    "period_mechanism": ("period_mechanism", str),
    "max_body_bytes": ("max_body_bytes", int),
    "token_days": ("token_days", int),
    "request_skew_seconds": ("request_skew_seconds", int),
    "workers": ("workers", int),
    "login_failures": ("login_failures", int),
    "login_backoff_seconds": ("login_backoff_seconds", float),
    "login_backoff_cap_seconds": ("login_backoff_cap_seconds", float),
    "login_client_backoff_seconds": ("login_client_backoff_seconds", float),
    "login_client_backoff_cap_seconds": ("login_client_backoff_cap_seconds", float),
    "secure_cookies": ("secure_cookies", bool),
}


def read_config(path: Path) -> dict[str, Any]:
    """The ``[aggregator]`` table of a config file, checked key by key."""
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"cannot read the config file {path}: {type(exc).__name__}") from exc
    table = doc.get("aggregator", {})
    if not isinstance(table, dict):
        raise UsageError(f"{path}: [aggregator] must be a table")
    out: dict[str, Any] = {}
    for key, raw in table.items():
        value = raw
        if key not in _KEYS:
            raise UsageError(f"{path}: unknown key {key!r}", hint=f"use: {', '.join(_KEYS)}")
        name, typ = _KEYS[key]
        if typ is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, typ) or (isinstance(value, bool) and typ is not bool):
            raise UsageError(f"{path}: {key} must be a {typ.__name__}")
        out[name] = value
    return out


def load_settings(state_dir: Path, config: Path | None = None, **overrides: Any) -> Settings:
    """Defaults ← config file ← the overrides that are not None."""
    path = config or state_dir / CONFIG_NAME
    from_file = read_config(path) if path.exists() else {}
    if config is not None and not config.exists():
        raise UsageError(f"the config file {config} does not exist")
    given = {k: v for k, v in overrides.items() if v is not None}
    unknown = set(given) - {f.name for f in fields(Settings)}
    if unknown:
        raise UsageError(f"unknown settings: {', '.join(sorted(unknown))}")
    chosen = {**from_file, **given}
    settings = replace(Settings(state_dir=state_dir), **chosen)
    if "period_rho" not in chosen and settings.period_delta != DEFAULT_PERIOD_DELTA:
        # The default budget is ε = 1 at the configured δ, not at the default δ.
        settings = replace(
            settings, period_rho=period_rho_for(DEFAULT_PERIOD_EPSILON, settings.period_delta)
        )
    if settings.k < 1:
        raise UsageError("k must be at least 1")
    if not (math.isfinite(settings.period_rho) and settings.period_rho > 0):
        raise UsageError("period_rho must be a positive number")
    if not 0 < settings.period_delta < 1:
        raise UsageError("period_delta must lie strictly between 0 and 1")
    if settings.period_mechanism not in MECHANISMS:
        raise UsageError(f"period_mechanism must be one of {', '.join(MECHANISMS)}")
    _check_login_throttle(settings)
    return settings


def _check_login_throttle(settings: Settings) -> None:
    if settings.login_failures < 1:
        raise UsageError("login_failures must be at least 1")
    for first, cap in (
        ("login_backoff_seconds", "login_backoff_cap_seconds"),
        ("login_client_backoff_seconds", "login_client_backoff_cap_seconds"),
    ):
        low, high = getattr(settings, first), getattr(settings, cap)
        if not (math.isfinite(low) and math.isfinite(high) and 0 < low <= high):
            raise UsageError(f"{first} must be a positive number no greater than {cap}")


def write_default_config(settings: Settings) -> Path:
    """Write ``STATE/aggregator.toml`` once, so operators see every knob."""
    path = settings.state_dir / CONFIG_NAME
    if path.exists():
        return path
    table: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "k": settings.k,
        "period_rho": settings.period_rho,
        "period_delta": settings.period_delta,
        "period_mechanism": settings.period_mechanism,
        "max_body_bytes": settings.max_body_bytes,
        "token_days": settings.token_days,
        "request_skew_seconds": settings.request_skew_seconds,
        "workers": settings.workers,
        "login_failures": settings.login_failures,
        "login_backoff_seconds": settings.login_backoff_seconds,
        "login_backoff_cap_seconds": settings.login_backoff_cap_seconds,
        "login_client_backoff_seconds": settings.login_client_backoff_seconds,
        "login_client_backoff_cap_seconds": settings.login_client_backoff_cap_seconds,
    }
    head = [
        "# Publiek aggregator configuration; flags on the command line override it.",
        "# period_rho is ρ per institution and quarter.",
    ]
    if settings.database_url:
        # Written by a TOML writer: a URL with quotes or backslashes reads back unchanged.
        table = {"database": settings.database_url, **table}
    else:
        head.append('# database = "postgresql+psycopg://user@host/dbname"  (default: SQLite here)')
    text = "\n".join(head) + "\n" + tomli_w.dumps({"aggregator": table})
    # Created 0600 from the start: the database URL may carry a password.
    write_secret(path, text.encode("utf-8"))
    return path


SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def make_state_private(settings: Settings) -> list[Repaired]:
    """Create the state folder 0700, or take every permission of others off it and
    what it holds, and off a SQLite database kept elsewhere with its companion files;
    return what was repaired, for the command to name (ADR 0017).

    Repaired rather than refused: looser modes come from versions before this
    check or from a restore that did not keep them, and a server that refused to
    start over them would stop intake for a fault it can mend itself."""
    from aggregator.storage import sqlite_file

    settings.state_dir.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    database = sqlite_file(settings.db_url)
    outside = (
        []
        if database is None
        else [database.with_name(database.name + s) for s in ("", *SQLITE_COMPANIONS)]
    )
    return repair_private(settings.state_dir, *outside)
