"""Hypothesis strategy for the JSON values the protocol may carry (I-JSON:
integers within ±(2^53 - 1), finite floats), shared by the encoding tests."""

from __future__ import annotations

from hypothesis import strategies as st

from protocol.encoding import MAX_SAFE_INTEGER

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER) | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)  # fmt: skip
