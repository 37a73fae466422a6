"""JSON from a peer is measured before it is parsed: its size, then its depth.

Python's ``json`` module recurses once per nesting level, so a few kilobytes
of ``[[[[…`` reach the interpreter's recursion limit (a ``RecursionError``,
which nothing expects) and, on a thread with a smaller stack, could overflow
it. No Publiek message nests deeper than a handful of levels, so every parser
of bytes that came from another party (request bodies, envelopes, sealed
plaintexts, sealed sector keys, the aggregator's answers to its clients)
first checks the depth here, with a flat scan that does not recurse, and
refuses deeper JSON as ``deep-json`` before ``json.loads`` sees it.

The scan skips string literals (a ``[`` in a string is not nesting), keeps
only the brackets and measures their nesting without recursing, in time
linear in the size (which the caller has already bounded) and, for real
messages, in a few passes of ``bytes`` methods.
"""

from __future__ import annotations

import json
from functools import partial
from itertools import accumulate, repeat
from operator import lt, sub
from typing import Any

from protocol.errors import DeepJson, MalformedMessage, PayloadTooLarge

# The deepest message of publiek/1 nests 6 levels (an envelope's sealed
# payload: tables, cells, keys); 32 leaves room for later versions.
MAX_DEPTH = 32

# Only what decides nesting is kept: brackets (one kind, since the depth
# does not care which) and the quotes that delimit strings.
_STRUCTURE = bytes.maketrans(b"{}", b"[]")
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'[]{}"')
_DEPTH_CHANGE = bytes.maketrans(b"[]", b"\x02\x00")  # minus one: +1 or -1


def _outside_strings(data: bytes) -> bytes:
    """The brackets of ``data`` that are not in a string literal, all as ``[``/``]``.

    Escapes first: an escaped backslash (``\\\\``, taken in pairs from the
    start of each run, as JSON does) and then an escaped quote are removed,
    so every quote left delimits a string. Then everything but quotes and
    brackets goes, and so do adjacent quote pairs (an empty string, or one
    string's end beside the next one's start: either way which brackets are
    inside a string does not change). What is between the quotes left is in
    strings."""
    kept = data.replace(b"\\\\", b"").replace(b'\\"', b"").translate(_STRUCTURE, _NOT_STRUCTURE)
    kept = kept.replace(b'""', b"")
    if b'"' in kept:
        kept = b"".join(kept.split(b'"')[::2])
    return kept


def nesting_exceeds(data: bytes, max_depth: int) -> bool:
    """Whether some value in ``data`` is nested deeper than ``max_depth``
    (brackets in string literals do not count; malformed JSON is left to the
    parser, which refuses it).

    Three steps, each linear: a run of more than ``max_depth`` openers is
    too deep; else each ``replace`` peels the innermost level (every ``[]``
    is one, and every deepest point is one) while that shrinks the brackets
    by at least a quarter; what is left is scanned for its running depth,
    which stops at the first level too deep."""
    brackets = _outside_strings(data)
    if b"[" * (max_depth + 1) in brackets:
        return True
    limit = max_depth
    while brackets:
        peeled = brackets.replace(b"[]", b"")
        if len(peeled) > len(brackets) * 3 // 4:
            break
        if limit == 0:
            return True
        brackets, limit = peeled, limit - 1
    if not brackets:
        return False
    depths = accumulate(map(sub, brackets.translate(_DEPTH_CHANGE), repeat(1)))
    return next(filter(partial(lt, limit), depths), None) is not None


def check_depth(data: bytes, *, what: str, max_depth: int = MAX_DEPTH) -> None:
    """Raise ``DeepJson`` if ``data`` nests deeper than ``max_depth``."""
    if nesting_exceeds(data, max_depth):
        raise DeepJson(
            f"{what} nests JSON deeper than {max_depth} levels",
            hint="no Publiek message nests that deep; send the message the protocol defines",
        )


def parse_json(data: bytes, *, what: str, max_bytes: int, max_depth: int = MAX_DEPTH) -> Any:
    """Parse UTF-8 JSON from another party: size, then depth, then ``json.loads``.

    ``PayloadTooLarge`` over ``max_bytes``, ``DeepJson`` over ``max_depth``,
    ``MalformedMessage`` for anything that is not JSON (also NaN and
    Infinity, which JSON does not have). Whether it has the right fields is
    the caller's to check."""
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"{what} is {len(data)} bytes; the limit is {max_bytes}")
    check_depth(data, what=what, max_depth=max_depth)
    try:
        return json.loads(data.decode("utf-8"), parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:  # RecursionError: a defence, never expected
        raise MalformedMessage(f"{what} is not JSON") from exc


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")
