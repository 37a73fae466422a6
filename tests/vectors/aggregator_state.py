"""Build an aggregator state from the manifest's ``aggregator_state`` and the TEST-ONLY keys.

Used by the vector tests (HTTP and ``aggregator import``) so both run against
exactly the same aggregator: the committed intake keys (one active, one
retired), receipt key, two enrolled institutions (one revoked) and an open
and a closed period.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aggregator.custodian import register_custodian
from aggregator.settings import Settings
from aggregator.storage import AggregatorKey, Database, Institution, Period
from protocol.keys import SealPrivateKey, SigningKey

ROOT = Path(__file__).resolve().parent
KEYS = ROOT / "test-keys"


def manifest() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((ROOT / "manifest.json").read_text(encoding="utf-8"))
    return doc


def build_state(state_dir: Path) -> Settings:
    spec = manifest()["aggregator_state"]
    settings = Settings(state_dir=state_dir)
    settings.keys_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.db_url)
    db.create_schema()
    now = datetime.now(UTC)
    shutil.copy(KEYS / f"{spec['receipt_key']}.key", settings.keys_dir / "receipt-signing.key")
    (settings.keys_dir / "receipt-signing.key").chmod(0o600)
    with db.session() as s:
        for name, state in spec["intake_keys"].items():
            private = SealPrivateKey.load(KEYS / f"{name}.key")
            private.save(settings.keys_dir / f"hpke-{private.public.key_id}.key")
            s.add(
                AggregatorKey(
                    key_id=private.public.key_id,
                    public_key=private.public.to_text(),
                    state=state,
                    created_at=now,
                )
            )
        for institution_id, inst in spec["institutions"].items():
            signing = SigningKey.load(KEYS / f"{inst['signing']}.key").public
            sealing = SealPrivateKey.load(KEYS / f"{inst['sealing']}.key").public
            s.add(
                Institution(
                    institution_id=institution_id,
                    name=institution_id,
                    discipline="theater",
                    province="utrecht",
                    signing_key=signing.to_text(),
                    signing_key_id=signing.key_id,
                    sealing_key=sealing.to_text(),
                    enrolled_at=now,
                    revoked_at=now if inst["revoked"] else None,
                )
            )
        for label, period in spec["periods"].items():
            s.add(
                Period(
                    label=label,
                    state=period["state"],
                    rho_budget=period["rho_budget"],
                    segment_model=period["segment_model"],
                    sketch=period.get("sketch"),
                )
            )
    register_custodian(db, SigningKey.load(KEYS / f"{spec['custodian_key']}.key").public)
    db.engine.dispose()
    return settings


def vector_bytes(entry: dict[str, Any]) -> bytes:
    import gzip

    data = (ROOT / entry["file"]).read_bytes()
    return gzip.decompress(data) if entry["gzip"] else data
