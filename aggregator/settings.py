"""Aggregator settings: where its state lives and the policy defaults."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_K = 5
DEFAULT_PERIOD_RHO = 0.5


@dataclass(frozen=True)
class Settings:
    state_dir: Path
    database_url: str | None = None
    k: int = DEFAULT_K
    period_rho: float = DEFAULT_PERIOD_RHO
    max_body_bytes: int = 8 * 1024 * 1024

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.state_dir / 'aggregator.db').resolve()}"

    @property
    def keys_dir(self) -> Path:
        return self.state_dir / "keys"
