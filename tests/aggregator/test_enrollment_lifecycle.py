"""Enrollment tokens cannot undo a revocation or swap an enrolled institution's keys."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from aggregator.enrollment import create_token, redeem_token, revoke
from aggregator.storage import Database, Institution
from protocol.errors import InvalidToken, KeyAlreadyEnrolled, UsageError
from protocol.keys import SealPrivateKey, SigningKey

HOUR = timedelta(hours=1)


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'a.db'}")
    database.create_schema()
    return database


def token(db: Database) -> str:
    return create_token(
        db, name="Theater Zuid", discipline="theater", province="utrecht", valid_for=HOUR
    )[1]


def redeem(db: Database, t: str) -> Institution:
    return redeem_token(db, t, SigningKey.generate().public, SealPrivateKey.generate().public)


def test_a_second_token_cannot_swap_the_keys_of_an_enrolled_institution(db: Database) -> None:
    spare = token(db)
    redeem(db, token(db))
    with pytest.raises(InvalidToken):
        redeem(db, spare)


def test_no_token_is_issued_for_an_enrolled_institution(db: Database) -> None:
    redeem(db, token(db))
    with pytest.raises(UsageError):
        token(db)


def test_a_token_from_before_the_revocation_cannot_undo_it(db: Database) -> None:
    spare = token(db)  # issued before enrollment, kept back
    inst = redeem(db, token(db))
    revoke(db, inst.institution_id)
    with pytest.raises(InvalidToken):
        redeem(db, spare)
    with db.session() as s:
        again = s.get(Institution, inst.institution_id)
        assert again is not None and again.revoked_at is not None


def test_a_revoked_institution_can_enroll_again_with_a_new_token(db: Database) -> None:
    inst = redeem(db, token(db))
    revoke(db, inst.institution_id)
    again = redeem(db, token(db))
    assert again.revoked_at is None and again.signing_key != inst.signing_key


def test_an_already_enrolled_key_is_refused_as_such_not_as_a_submission_conflict(
    db: Database,
) -> None:
    signing = SigningKey.generate().public
    redeem_token(db, token(db), signing, SealPrivateKey.generate().public)
    other = create_token(
        db, name="Museum Noord", discipline="museum", province="groningen", valid_for=HOUR
    )[1]
    with pytest.raises(KeyAlreadyEnrolled) as caught:
        redeem_token(db, other, signing, SealPrivateKey.generate().public)
    assert caught.value.problem()["type"] == "urn:publiek:problem:key-already-enrolled"
    assert caught.value.status == 409


@pytest.mark.parametrize("written", ["Noord-Holland", "noord holland", " ZEELAND "])
def test_a_province_is_recognised_whatever_its_case(db: Database, written: str) -> None:
    institution_id, _ = create_token(
        db, name="Theater Noord", discipline="theater", province=written, valid_for=HOUR
    )
    with db.session() as s:
        stored = s.get(Institution, institution_id)
        assert stored is not None
        assert stored.province == written.strip().lower().replace(" ", "-")


def test_an_unknown_province_is_still_refused(db: Database) -> None:
    with pytest.raises(UsageError, match="unknown province"):
        create_token(db, name="X", discipline="theater", province="Vlaanderen", valid_for=HOUR)
