"""The aggregator's own keys: HPKE keys for intake and the receipt-signing key.

Secret halves are files (mode 0600) under ``state_dir/keys``; the database
holds only key ids, public halves and states. Rotation moves a key through
pending → active → retired; envelopes sealed to a retired key are refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from aggregator.settings import Settings
from aggregator.storage import AggregatorKey, Database
from protocol.errors import RetiredKey, UnknownKey, UsageError
from protocol.keys import SealPrivateKey, SigningKey

ACTIVE = "active"
PENDING = "pending"
RETIRED = "retired"


class Keyring:
    def __init__(self, settings: Settings, db: Database) -> None:
        self._dir = settings.keys_dir
        self._db = db
        # Secret keys read once per process: intake is a hot path, and a key's
        # file never changes under its id (states live in the database and are
        # checked on every use).
        self._receipt_key: SigningKey | None = None
        self._intake_keys: dict[str, SealPrivateKey] = {}

    @property
    def db(self) -> Database:
        return self._db

    def ensure(self) -> None:
        """Create a receipt key and an active HPKE key on first start."""
        self._dir.mkdir(parents=True, exist_ok=True)
        self._dir.chmod(0o700)
        if not self.receipt_key_path.exists():
            SigningKey.generate().save(self.receipt_key_path)
        with self._db.session() as s:
            has_active = s.scalar(select(AggregatorKey).where(AggregatorKey.state == ACTIVE))
        if has_active is None:
            self.create(state=ACTIVE)

    @property
    def receipt_key_path(self) -> Path:
        return self._dir / "receipt-signing.key"

    def receipt_key(self) -> SigningKey:
        if self._receipt_key is None:
            self._receipt_key = SigningKey.load(self.receipt_key_path)
        return self._receipt_key

    def create(self, *, state: str = PENDING) -> str:
        private = SealPrivateKey.generate()
        key_id = private.public.key_id
        private.save(self._dir / f"hpke-{key_id}.key")
        with self._db.session() as s:
            s.add(
                AggregatorKey(
                    key_id=key_id,
                    public_key=private.public.to_text(),
                    state=state,
                    created_at=datetime.now(UTC),
                )
            )
        return key_id

    def published(self) -> list[dict[str, str | bool]]:
        """Non-retired keys; ``current`` marks the one new envelopes are sealed to
        (the most recently created active key)."""
        with self._db.session() as s:
            keys = s.scalars(
                select(AggregatorKey)
                .where(AggregatorKey.state != RETIRED)
                .order_by(AggregatorKey.created_at, AggregatorKey.key_id)
            ).all()
            active = [k.key_id for k in keys if k.state == ACTIVE]
            current = active[-1] if active else None
            return [
                {
                    "key_id": k.key_id,
                    "public_key": k.public_key,
                    "state": k.state,
                    "current": k.key_id == current,
                }
                for k in keys
            ]

    def all_keys(self) -> list[dict[str, str]]:
        """Every key with its state, retired ones included (for operators)."""
        with self._db.session() as s:
            keys = s.scalars(select(AggregatorKey).order_by(AggregatorKey.created_at)).all()
            return [{"key_id": k.key_id, "state": k.state} for k in keys]

    def activate(self, key_id: str) -> None:
        """pending → active. Older active keys stay accepted until retired, so
        envelopes sealed just before the switch still open (overlapping validity)."""
        self._move(key_id, frm=(PENDING,), to=ACTIVE)

    def retire(self, key_id: str) -> None:
        """active or pending → retired; the last active key cannot be retired."""
        with self._db.session() as s:
            others = s.scalars(
                select(AggregatorKey.key_id).where(
                    AggregatorKey.state == ACTIVE, AggregatorKey.key_id != key_id
                )
            ).all()
        if not others:
            raise UsageError(
                f"key {key_id} is the only active key",
                hint="create and activate its successor first (publiek aggregator key create)",
            )
        self._move(key_id, frm=(PENDING, ACTIVE), to=RETIRED)

    def _move(self, key_id: str, *, frm: tuple[str, ...], to: str) -> None:
        with self._db.session() as s:
            key = s.get(AggregatorKey, key_id)
            if key is None:
                raise UsageError(f"no aggregator key {key_id}", hint="list them: key list")
            if key.state not in frm:
                raise UsageError(f"key {key_id} is {key.state}; only {'/'.join(frm)} can go {to}")
            key.state = to

    def states(self, key_ids: Iterable[str]) -> dict[str, str]:
        """The states of the given key ids in one query (unknown ids are absent)."""
        wanted = set(key_ids)
        if not wanted:
            return {}
        with self._db.session() as s:
            rows = s.execute(
                select(AggregatorKey.key_id, AggregatorKey.state).where(
                    AggregatorKey.key_id.in_(wanted)
                )
            )
            return {row.key_id: row.state for row in rows}

    def private_for_intake(self, key_id: str, state: str | None) -> SealPrivateKey:
        """The secret key for an envelope's ``kem_key_id`` in ``state`` (from
        :meth:`states`, read once per intake batch), if it may still be used."""
        if state is None:
            raise UnknownKey(
                "the envelope is sealed to a key this aggregator never issued",
                hint="fetch the current key set (GET /v1/keys) and seal again",
            )
        if state == RETIRED:
            raise RetiredKey(
                "the envelope is sealed to a retired aggregator key",
                hint="fetch the current key set (GET /v1/keys) and seal again",
            )
        if key_id not in self._intake_keys:
            self._intake_keys[key_id] = SealPrivateKey.load(self._dir / f"hpke-{key_id}.key")
        return self._intake_keys[key_id]
