"""Small-order and non-canonical public keys (issue 14).

An agent that enrolled an all-zero X25519 key was accepted, and the
custodian's distribution then failed for every institution. Now such a key is
refused where keys are parsed (``protocol.keys``), so an enrollment with one
answers a problem document and stores nothing; and a bad key already stored
(accepted by an older version) costs only its own institution its sector key.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from agent.enrollment import enroll
from agent.sector_keys import fetch_sector_key
from agent.workspace import Workspace
from aggregator.auth import TASKFORCE, create_user, issue_token
from aggregator.custodian import register_custodian
from aggregator.enrollment import create_token
from aggregator.storage import Database
from cli import app
from custodian.state import CustodianState
from demo.run import aggregator_process
from protocol import keys
from protocol.encoding import b64encode
from protocol.errors import MalformedMessage, UnsafePublicKey
from protocol.keys import SealPrivateKey, SealPublicKey, SigningKey, VerifyKey
from tests.aggregator.conftest import make_aggregator

P = 2**255 - 19
D = -121665 * pow(121666, -1, P) % P
PERIOD = "2026-Q3"


def le(value: int) -> bytes:
    return value.to_bytes(32, "little")


# --- X25519 -------------------------------------------------------------------

# The small-order u-coordinates (https://cr.yp.to/ecdh.html), written out here
# independently of protocol/keys.py's list.
X25519_SMALL_ORDER = (
    0,
    1,
    P - 1,
    325606250916557431795983626356110631294008115727848805560023387167927233504,
    39382357235489614581723060781553021112529911719440698176882885853963445705823,
)


@pytest.mark.parametrize("u", X25519_SMALL_ORDER)
def test_every_small_order_x25519_key_is_refused(u: int) -> None:
    with pytest.raises(ValueError, match="shared key"):  # the shared secret is all-zero
        X25519PrivateKey.generate().exchange(X25519PublicKey.from_public_bytes(le(u)))
    with pytest.raises(UnsafePublicKey, match="small-order"):
        SealPublicKey(le(u))


@pytest.mark.parametrize(
    "raw",
    [le(P), le(P + 1), le(P + 18), le(2**255 - 1), le(5 | 1 << 255), le(0 | 1 << 255)],
    ids=["p", "p+1", "p+18", "2^255-1", "5-top-bit", "0-top-bit"],
)
def test_a_non_canonical_x25519_key_is_refused(raw: bytes) -> None:
    with pytest.raises(UnsafePublicKey, match="not canonically encoded"):
        SealPublicKey(raw)


def test_a_key_with_an_all_zero_shared_secret_is_refused_even_off_the_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(keys, "X25519_SMALL_ORDER_U", frozenset())
    for u in X25519_SMALL_ORDER:
        with pytest.raises(UnsafePublicKey, match="small-order"):
            SealPublicKey(le(u))


def test_an_unsafe_key_is_a_malformed_message_with_its_own_problem_type() -> None:
    with pytest.raises(MalformedMessage) as caught:
        SealPublicKey.from_text(b64encode(bytes(32)))
    assert caught.value.problem()["type"] == "urn:publiek:problem:unsafe-public-key"
    assert caught.value.status == 400


@given(st.binary(min_size=32, max_size=32))
def test_generated_x25519_keys_are_accepted(seed: bytes) -> None:
    public = X25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
    assert SealPublicKey(public).raw == public


# --- Ed25519 ------------------------------------------------------------------


def _sqrt(a: int) -> int | None:
    """A square root mod p (p = 5 mod 8), or None."""
    x = pow(a, (P + 3) // 8, P)
    if x * x % P != a % P:
        x = x * pow(2, (P - 1) // 4, P) % P
    return x if x * x % P == a % P else None


def _on_curve(x: int, y: int) -> bool:
    return (-x * x + y * y - 1 - D * x * x * y * y) % P == 0


def _add(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    """Affine addition on -x^2 + y^2 = 1 + d x^2 y^2."""
    (x1, y1), (x2, y2) = a, b
    t = D * x1 * x2 * y1 * y2
    return (
        (x1 * y2 + y1 * x2) * pow(1 + t, -1, P) % P,
        (y1 * y2 + x1 * x2) * pow(1 - t, -1, P) % P,
    )


def _small_order_points() -> set[tuple[int, int]]:
    """The points of order dividing 8, derived rather than listed: the neutral
    element (0, 1), (0, -1), the two with y = 0, and those whose double has y = 0
    (y^2 = -x^2, so d y^4 + 2 y^2 - 1 = 0 on the curve)."""
    points = {(0, 1), (0, P - 1)}
    i = _sqrt(P - 1)
    assert i is not None
    points |= {(i, 0), (P - i, 0)}
    root = _sqrt(1 + D)
    assert root is not None
    for r in (root, P - root):
        y2 = (-1 + r) * pow(D, -1, P) % P
        y = _sqrt(y2)
        x = _sqrt(-y2 % P)
        if y is None or x is None:
            continue
        points |= {(sx, sy) for sx in (x, P - x) for sy in (y, P - y)}
    return {pt for pt in points if _on_curve(*pt)}


def _encode(point: tuple[int, int]) -> bytes:
    x, y = point
    return le(y | (x & 1) << 255)


def test_there_are_exactly_eight_small_order_ed25519_points() -> None:
    points = _small_order_points()
    assert len(points) == 8
    for point in points:
        acc = point
        for _ in range(7):
            acc = _add(acc, point)
        assert acc == (0, 1)  # 8·P is the neutral element


@pytest.mark.parametrize("point", sorted(_small_order_points()))
def test_every_small_order_ed25519_key_is_refused(point: tuple[int, int]) -> None:
    with pytest.raises(UnsafePublicKey, match="small-order"):
        VerifyKey(_encode(point))


@pytest.mark.parametrize(
    "raw",
    [
        *(le(P + k) for k in range(19)),
        *(le(P + k | 1 << 255) for k in range(19)),
        le(1 | 1 << 255),  # the neutral element with the sign bit of x set
        le(P - 1 | 1 << 255),  # (0, -1) likewise
    ],
)
def test_a_non_canonical_ed25519_key_is_refused(raw: bytes) -> None:
    with pytest.raises(UnsafePublicKey, match="not canonically encoded"):
        VerifyKey(raw)


@given(st.binary(min_size=32, max_size=32))
def test_generated_ed25519_keys_are_accepted(seed: bytes) -> None:
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
    assert VerifyKey(public).raw == public


# --- against a real server ----------------------------------------------------


@dataclass
class Live:
    url: str
    db: Database
    db_path: Path
    root: Path
    custodian: CustodianState
    taskforce_token: str

    def token(self, name: str) -> tuple[str, str]:
        return create_token(
            self.db, name=name, discipline="theater", province="utrecht",
            valid_for=timedelta(hours=1),
        )  # fmt: skip

    def agent(self, name: str) -> Workspace:
        ws = Workspace(self.root / "agents" / name)
        custodian_key = self.custodian.init().public.to_text()
        enroll(ws, self.url, self.token(name)[1], custodian_key=custodian_key)
        return ws


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    root = tmp_path_factory.mktemp("hostile-keys")
    state = make_aggregator(root / "aggregator", period=PERIOD, rho_budget=0.5)
    settings, db = state.settings, state.db
    custodian = CustodianState(root / "custodian")
    register_custodian(db, custodian.init().public)
    create_user(db, "tf", TASKFORCE, "a long test passphrase")
    token = issue_token(db, "tf", valid_for=timedelta(hours=1))
    with aggregator_process(settings, lambda _: None) as url:
        yield Live(url, db, settings.state_dir / "aggregator.db", root, custodian, token)
    db.engine.dispose()


def _enrollment_row(live: Live, institution_id: str) -> tuple[object, ...]:
    with sqlite3.connect(live.db_path) as con:
        keys_row = con.execute(
            "SELECT signing_key, sealing_key, enrolled_at FROM institutions "
            "WHERE institution_id = ?",
            (institution_id,),
        ).fetchone()
        used = con.execute(
            "SELECT COUNT(*) FROM enrollment_tokens WHERE institution_id = ? "
            "AND used_at IS NOT NULL",
            (institution_id,),
        ).fetchone()
    return (*keys_row, used[0])


def good_signing() -> str:
    return SigningKey.generate().public.to_text()


def good_sealing() -> str:
    return SealPrivateKey.generate().public.to_text()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signing", "sealing"),
    [
        (None, b64encode(bytes(32))),  # the attack: an all-zero X25519 key
        (None, b64encode(le(1))),
        (None, b64encode(le(X25519_SMALL_ORDER[3]))),
        (None, b64encode(le(P))),  # 0 again, not canonically encoded
        (b64encode(le(1)), None),  # the Ed25519 neutral element
        (b64encode(bytes(32)), None),  # an Ed25519 point of order 4
        (b64encode(le(P + 1)), None),  # not canonical
    ],
    ids=["x-zero", "x-one", "x-order-8", "x-p", "ed-identity", "ed-order-4", "ed-p+1"],
)
def test_an_enrollment_with_an_unsafe_key_is_refused_and_stores_nothing(
    live: Live, signing: str | None, sealing: str | None
) -> None:
    institution_id, token = live.token(f"Lage Orde {secrets.token_hex(4)}")
    body = {
        "token": token,
        "signing_key": signing or good_signing(),
        "sealing_key": sealing or good_sealing(),
    }
    answer = httpx.post(f"{live.url}/v1/enrollments", json=body, timeout=30)
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = answer.json()
    assert problem["type"] == "urn:publiek:problem:unsafe-public-key"
    assert "public key" in problem["detail"]
    assert _enrollment_row(live, institution_id) == (None, None, None, 0)
    # Nothing was spent: the same token enrolls a sound key pair.
    body = {"token": token, "signing_key": good_signing(), "sealing_key": good_sealing()}
    assert httpx.post(f"{live.url}/v1/enrollments", json=body, timeout=30).status_code == 200


@pytest.mark.slow
def test_a_stored_bad_key_is_skipped_and_everyone_else_gets_the_sector_key(
    live: Live, tmp_path: Path
) -> None:
    first, second = live.agent("Goede Zaal Een"), live.agent("Goede Zaal Twee")
    bad = live.agent("Oude Versie Podium")
    bad_id = bad.load_config().institution_id
    with sqlite3.connect(live.db_path) as con:  # as if an older version had accepted it
        con.execute(
            "UPDATE institutions SET sealing_key = ? WHERE institution_id = ?",
            (b64encode(bytes(32)), bad_id),
        )
    custodian_dir = live.custodian.root
    ran = CliRunner().invoke(
        app,
        ["custodian", "distribute", "--period", PERIOD, "--aggregator", live.url,
         "--state", str(custodian_dir), "--trust-new", "--token", live.taskforce_token],
    )  # fmt: skip
    assert ran.exit_code == 3, ran.output
    assert f"SKIPPED: {bad_id}: the X25519 public key is a small-order point" in ran.stderr
    assert "1 agent(s) skipped, the others have the sector key" in ran.stderr
    for ws in (first, second):
        fetch_sector_key(ws, PERIOD)
        assert ws.sector_key(PERIOD) == live.custodian.sector_key(PERIOD)
    assert bad_id not in live.custodian.roster()
    assert bad_id in ran.stderr and bad_id not in ran.stdout
