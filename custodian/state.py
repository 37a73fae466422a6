"""The custodian's folder: its signing key, the period sector keys, the roster.

Layout::

    custodian.key            Ed25519 signing key (mode 0600); agents pin its public half
    sector-keys/P.key        the sector key of period P (mode 0600), created once per period
    roster.json              institution id → sealing key id the custodian approved (0600)

The folder and ``sector-keys/`` are 0700 (``protocol.state_files``, ADR 0017).

The roster is what stops an aggregator from slipping its own key in as an
agent's: a changed key for a known institution is refused until the
custodian approves it, and a new institution is sealed to only when the
custodian approves it (or runs with ``--trust-new``).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from protocol.encoding import b64encode
from protocol.errors import UsageError
from protocol.keys import SecretBytes, SigningKey, read_secret, write_secret
from protocol.messages import HEX32_RE, check_period, check_slug
from protocol.state_files import private_dir, write_private


@dataclass(frozen=True)
class CustodianState:
    root: Path

    @property
    def signing_key_path(self) -> Path:
        return self.root / "custodian.key"

    @property
    def roster_path(self) -> Path:
        return self.root / "roster.json"

    def init(self) -> SigningKey:
        """Create the custodian signing key once; later calls return the same key."""
        private_dir(self.root)
        if not self.signing_key_path.exists():
            SigningKey.generate().save(self.signing_key_path)
        return self.signing_key()

    def signing_key(self) -> SigningKey:
        if not self.signing_key_path.exists():
            raise UsageError(
                f"{self.root} holds no custodian key", hint="run `publiek custodian init` first"
            )
        return SigningKey.load(self.signing_key_path)

    def sector_key_path(self, period: str) -> Path:
        return self.root / "sector-keys" / f"{check_period(period)}.key"

    def sector_key(self, period: str) -> SecretBytes:
        """The period's sector key, created on first use and then never changed."""
        path = self.sector_key_path(period)
        if not path.exists():
            write_secret(path, b64encode(secrets.token_bytes(32)).encode())
        return SecretBytes(read_secret(path, what="sector key"))

    def roster(self) -> dict[str, str]:
        if not self.roster_path.exists():
            return {}
        data = json.loads(self.roster_path.read_text(encoding="utf-8"))
        return {str(k): str(v) for k, v in data.items()}

    def approve(self, institution_id: str, sealing_key_id: str) -> None:
        check_slug(institution_id, what="institution id")
        if not HEX32_RE.match(sealing_key_id):
            raise UsageError("a sealing key id is 32 lower-case hex digits")
        roster = self.roster()
        roster[institution_id] = sealing_key_id
        private_dir(self.root)
        write_private(
            self.roster_path, (json.dumps(roster, indent=2, sort_keys=True) + "\n").encode()
        )
