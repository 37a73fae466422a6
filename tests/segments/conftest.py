"""A small synthetic model (every PC4, three PC6 codes each) and a test model key.

The full-size synthetic release takes a few seconds; these tests need its
shape, not its size."""

from __future__ import annotations

import pytest

from protocol.keys import SigningKey
from protocol.segment_release import SegmentRelease, verify_release
from segments.build import ModelTables
from segments.synthetic import synthetic_tables
from tests.segments.forge import pack


@pytest.fixture(scope="session")
def tables() -> ModelTables:
    return synthetic_tables(7, pc6_per_pc4=3, households=1_000_000)


@pytest.fixture(scope="session")
def model_key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture(scope="session")
def release_bytes(tables: ModelTables, model_key: SigningKey) -> bytes:
    return pack(tables, model_key)


@pytest.fixture(scope="session")
def release(release_bytes: bytes, model_key: SigningKey) -> SegmentRelease:
    return verify_release(release_bytes, model_key=model_key.public, where="test.segments")
