"""Wire schemas: for each message, the fields it has and the rule each value follows.

Why one declarative table per message rather than checks spread over
``from_dict`` and ``__post_init__``: a reader (or a second implementation)
sees every rule of a message in one place; the same declaration parses the
wire form, validates an object built in code, and prints the table in
docs/protocol.md (``tests/protocol/test_schema_docs.py`` keeps the two equal).

The rules are deliberately few and closed:

* every field is required and no other field is accepted;
* types are exact: a JSON ``true`` is not an integer (Python's ``bool`` is an
  ``int``), an integer is not a string;
* a string matches its pattern in full (``re.fullmatch`` over ASCII classes:
  no trailing newline, no non-ASCII digits), or is one of a closed set;
* numbers are finite and within stated ranges; integers within I-JSON's
  ±(2**53 - 1) at most.

A rule checks a value and raises :class:`Violation` with a reason that never
quotes the value (messages go to logs and problem documents; a value may be
anything a peer sent). :class:`Schema` turns a violation into the message's
own error class (``invalid-payload`` or ``malformed-message``), naming the
field.
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain
from typing import Any, ClassVar

from protocol.encoding import MAX_SAFE_INTEGER, b64decode
from protocol.errors import InvalidPayload, PubliekError


class Violation(Exception):
    """A value breaks its rule; ``reason`` completes "<message> <field> ..."."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def full_match(body: str) -> re.Pattern[str]:
    """A pattern that matches whole strings only, whichever method calls it.

    ``\\A`` and ``\\Z`` (not ``^`` and ``$``: ``$`` also matches before a final
    newline), so that ``.match`` elsewhere in the code cannot accept a prefix."""
    return re.compile(rf"\A(?:{body})\Z")


class Rule(ABC):
    """What one field may hold. ``decode`` turns a decoded JSON value into the
    attribute's form (structural only: arrays to tuples, base64url to bytes);
    it leaves a value of the wrong type as it is, for ``check`` to refuse."""

    json_type: ClassVar[str] = "value"
    note: str = ""

    def decode(self, value: Any) -> Any:
        return value

    @abstractmethod
    def check(self, value: Any) -> None:
        """Raise ``ValueError`` naming the rule (never the value) unless ``value`` fits."""

    def check_all(self, values: Iterable[Any]) -> None:
        """Check many values (array items). Scalar rules are pure functions of
        their value, so each distinct value is checked once."""
        for value in _distinct(values):
            self.check(value)

    @abstractmethod
    def describe(self) -> str:
        """The rule in words, for the schema tables in docs/protocol.md."""

    def phrase(self) -> str:
        """The rule inside another's (an array's items, an object's values)."""
        return f"{self.json_type} {self.describe()}"

    def rule_text(self) -> str:
        """The rule as docs/protocol.md states it."""
        text = self.describe()
        return f"{text}; {self.note}" if self.note else text


def _exact_type(values: Iterable[Any], typ: type) -> bool:
    return set(map(type, values)) <= {typ}


def _plain(rule: Rule) -> bool:
    """Whether ``rule`` decodes a value as it is (a scalar, not bytes or a message)."""
    return type(rule).decode is Rule.decode


def _distinct(values: Iterable[Any]) -> Iterable[Any]:
    """The distinct values, or all of them when some cannot be hashed (a list
    where a string belongs: its rule refuses it)."""
    items = list(values)
    try:
        return set(items)
    except TypeError:
        return items


@dataclass(frozen=True)
class Text(Rule):
    """A string matching ``pattern`` in full."""

    pattern: str
    note: str = ""
    # What a match looks like, for the reason of a violation ("a quarter such
    # as 2026-Q3"); the pattern itself when empty.
    meaning: str = ""
    json_type: ClassVar[str] = "string"
    _compiled: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compiled", full_match(self.pattern))

    def _violation(self) -> Violation:
        return Violation(f"must be {self.meaning or f'a match of {self.pattern} in full'}")

    def check(self, value: Any) -> None:
        if type(value) is not str:
            raise Violation("must be a string")
        if not self._compiled.match(value):
            raise self._violation()

    def check_all(self, values: Iterable[Any]) -> None:
        items = list(values)
        if not _exact_type(items, str):
            raise Violation("must be strings")
        if not all(map(self._compiled.match, set(items))):
            raise self._violation()

    def describe(self) -> str:
        return f"`{self.pattern}` (full match)"


@dataclass(frozen=True)
class OneOf(Rule):
    """A string from a closed set."""

    values: tuple[str, ...]
    note: str = ""
    json_type: ClassVar[str] = "string"

    def check(self, value: Any) -> None:
        if type(value) is not str or value not in self.values:
            raise Violation(f"must be one of: {', '.join(self.values)}")

    def describe(self) -> str:
        return "one of " + ", ".join(f"`{v}`" for v in self.values)


# RFC 3339 date-time, the strict profile this protocol uses: upper-case ``T``
# and ``Z``, seconds always, a fraction of at most 6 digits (what a Python
# datetime holds exactly), offset ``Z`` or ±HH:MM; no leap second. ASCII
# digits only (``\d`` would take any Unicode digit).
TIMESTAMP = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})"
)


@dataclass(frozen=True)
class Timestamp(Rule):
    """An RFC 3339 date-time with its offset that names a real instant."""

    note: str = ""
    json_type: ClassVar[str] = "string"
    _compiled: ClassVar[re.Pattern[str]] = full_match(TIMESTAMP)

    def check(self, value: Any) -> None:
        if type(value) is not str or not self._compiled.match(value):
            raise Violation("must be an RFC 3339 date-time such as 2026-10-01T00:00:00+00:00")
        try:
            datetime.fromisoformat(value)
        except ValueError:
            raise Violation("is not a real date and time") from None

    def describe(self) -> str:
        return (
            "RFC 3339 date-time `YYYY-MM-DDTHH:MM:SS[.ffffff](Z|±HH:MM)` "
            "(upper-case `T`/`Z`, 0–6 fraction digits, a real date)"
        )


@dataclass(frozen=True)
class Integer(Rule):
    """A JSON integer (never a boolean) within [minimum, maximum]."""

    minimum: int
    maximum: int = MAX_SAFE_INTEGER
    note: str = ""
    json_type: ClassVar[str] = "integer"

    def check(self, value: Any) -> None:
        if type(value) is not int:
            raise Violation("must be an integer")
        if not self.minimum <= value <= self.maximum:
            raise self._out_of_range()

    def check_all(self, values: Iterable[Any]) -> None:
        items = list(values)
        if not _exact_type(items, int):
            raise Violation("must be integers")
        if items and (min(items) < self.minimum or max(items) > self.maximum):
            raise self._out_of_range()

    def _out_of_range(self) -> Violation:
        if (self.minimum, self.maximum) == (-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER):
            return Violation("must lie within ±(2**53 - 1), the integers JSON carries exactly")
        high = "2**53 - 1" if self.maximum == MAX_SAFE_INTEGER else str(self.maximum)
        return Violation(f"must lie in [{self.minimum}, {high}]")

    def describe(self) -> str:
        high = "2^53 − 1" if self.maximum == MAX_SAFE_INTEGER else str(self.maximum)
        low = "−(2^53 − 1)" if self.minimum == -MAX_SAFE_INTEGER else str(self.minimum)
        return f"integer in [{low}, {high}]"

    def phrase(self) -> str:
        return self.describe()


@dataclass(frozen=True)
class Number(Rule):
    """A finite JSON number (never a boolean) in (low, high] or [low, high]."""

    low: float
    high: float
    low_open: bool = True
    high_open: bool = False
    note: str = ""
    json_type: ClassVar[str] = "number"

    def decode(self, value: Any) -> Any:
        # An integer literal is the number it denotes (I-JSON: one double);
        # JCS writes 60.0 as 60, so a float field may arrive as an int.
        return float(value) if type(value) is int else value

    def check(self, value: Any) -> None:
        if type(value) not in (int, float) or not math.isfinite(value):
            raise Violation("must be a finite number")
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        if not (above and below):
            raise Violation(f"must lie in {self._interval()}")

    def _interval(self) -> str:
        high = "∞" if math.isinf(self.high) else f"{self.high:g}"
        return (
            f"{'(' if self.low_open else '['}{self.low:g}, {high}"
            f"{')' if self.high_open or math.isinf(self.high) else ']'}"
        )

    def describe(self) -> str:
        return f"finite number in {self._interval()}"

    def phrase(self) -> str:
        return self.describe()


@dataclass(frozen=True)
class Bytes(Rule):
    """Bytes, sent as unpadded base64url, of a length in [minimum, maximum]."""

    minimum: int
    maximum: int
    note: str = ""
    json_type: ClassVar[str] = "string"

    def decode(self, value: Any) -> Any:
        # Text that is not base64url is malformed, whatever the message.
        return b64decode(value, what="a base64url field") if type(value) is str else value

    def check(self, value: Any) -> None:
        if type(value) is not bytes:
            raise Violation("must be bytes (unpadded base64url on the wire)")
        if not self.minimum <= len(value) <= self.maximum:
            raise Violation(f"must be {self._size()}")

    def _size(self) -> str:
        if self.minimum == self.maximum:
            return f"{self.minimum} bytes"
        mib = 1024 * 1024
        high = f"{self.maximum // mib} MiB" if self.maximum % mib == 0 else f"{self.maximum} bytes"
        return f"{self.minimum} bytes to {high}"

    def describe(self) -> str:
        return f"unpadded base64url of {self._size()}"


@dataclass(frozen=True)
class Array(Rule):
    """A JSON array of ``minimum``..``maximum`` items, each following ``items``."""

    items: Rule
    minimum: int
    maximum: int
    note: str = ""
    json_type: ClassVar[str] = "array"

    def decode(self, value: Any) -> Any:
        if type(value) is not list:
            return value
        if _plain(self.items):  # scalars: nothing to decode per item
            return tuple(value)
        if isinstance(self.items, Array) and _plain(self.items.items) and _exact_type(value, list):
            return tuple(map(tuple, value))  # a table's keys, in C
        return tuple(map(self.items.decode, value))

    def check(self, value: Any) -> None:
        self.check_all((value,))

    def check_all(self, values: Iterable[Any]) -> None:
        arrays = list(values)
        if not _exact_type(arrays, tuple) and not _exact_type(arrays, list):
            raise Violation("must be an array")
        if (
            arrays
            and not self.minimum <= min(map(len, arrays)) <= max(map(len, arrays)) <= self.maximum
        ):
            raise Violation(f"must hold {self.minimum}–{self.maximum} items")
        # One pass over all items of all arrays: C-level maps for the cells.
        self.items.check_all(chain.from_iterable(arrays))

    def describe(self) -> str:
        return f"{self.minimum}–{self.maximum} items, each {self.items.phrase()}"

    def phrase(self) -> str:
        return f"array of {self.describe()}"


@dataclass(frozen=True)
class Dictionary(Rule):
    """A JSON object of at most ``maximum`` members with checked names and values."""

    keys: Text
    values: Rule
    maximum: int
    note: str = ""
    json_type: ClassVar[str] = "object"

    def decode(self, value: Any) -> Any:
        return dict(value) if type(value) is dict else value

    def check(self, value: Any) -> None:
        if type(value) is not dict:
            raise Violation("must be an object")
        if len(value) > self.maximum:
            raise Violation(f"must hold at most {self.maximum} members")
        try:
            self.keys.check_all(value)
        except Violation as v:
            raise Violation(f"member names {v.reason}") from None
        try:
            self.values.check_all(value.values())
        except Violation as v:
            raise Violation(f"member values {v.reason}") from None

    def check_all(self, values: Iterable[Any]) -> None:
        for value in values:
            self.check(value)

    def describe(self) -> str:
        return (
            f"at most {self.maximum} members; names {self.keys.describe()}, "
            f"values {self.values.phrase()}"
        )


@dataclass(frozen=True)
class Boolean(Rule):
    """A JSON ``true`` or ``false`` (never a number: ``1`` is not ``true``)."""

    note: str = ""
    json_type: ClassVar[str] = "boolean"

    def check(self, value: Any) -> None:
        if type(value) is not bool:
            raise Violation("must be true or false")

    def describe(self) -> str:
        return "`true` or `false`"


@dataclass(frozen=True)
class OrNull(Rule):
    """``rule``'s value, or JSON ``null`` where the field may state that there is
    none (the field is still required: absent is not the same as null)."""

    rule: Rule
    note: str = ""

    @property
    def json_type(self) -> str:  # type: ignore[override]
        return f"{self.rule.json_type} or null"

    def decode(self, value: Any) -> Any:
        return None if value is None else self.rule.decode(value)

    def check(self, value: Any) -> None:
        if value is not None:
            self.rule.check(value)

    def describe(self) -> str:
        return f"{self.rule.describe()}, or null"


@dataclass(frozen=True)
class Nested(Rule):
    """A JSON object that is another message (``cls.from_dict`` parses it)."""

    cls: type[Any]
    note: str = ""
    json_type: ClassVar[str] = "object"

    def decode(self, value: Any) -> Any:
        return self.cls.from_dict(value)

    def check(self, value: Any) -> None:
        if not isinstance(value, self.cls):
            raise Violation(f"must be a {self.cls.__name__}")

    def check_all(self, values: Iterable[Any]) -> None:
        for value in values:
            self.check(value)

    def describe(self) -> str:
        return f"`{self.cls.__name__}` (its own table)"

    def phrase(self) -> str:
        return f"a {self.describe()}"


_IDENTIFIER = full_match(r"[a-z][a-z0-9_]{0,31}")
MAX_SHOWN = 5


@dataclass(frozen=True)
class Schema:
    """One message: its fields (all required, no others) and their rules.

    ``what`` names the message in errors; ``error`` is the error class its
    violations raise (``invalid-payload`` inside a payload, ``malformed-message``
    for the envelope and sealed sector keys)."""

    what: str
    fields: Mapping[str, Rule]
    error: type[PubliekError] = InvalidPayload

    def decode(self, d: Any, *, omit: Sequence[str] = ()) -> dict[str, Any]:
        """The fields of a decoded JSON object as constructor arguments.

        Exactly the declared fields, minus ``omit`` (fields a subclass of the
        message adds on the wire, such as an envelope's ``sealed``)."""
        names = [n for n in self.fields if n not in omit]
        self.require_fields(d, (*names, *omit))
        return {name: self.fields[name].decode(d[name]) for name in names}

    def require_fields(self, d: Any, names: Sequence[str]) -> None:
        """``d`` is a JSON object with exactly the fields (members) ``names``."""
        if type(d) is not dict:
            raise self.error(f"{self.what} must be a JSON object")
        present = set(d)
        if present != set(names):
            missing = sorted(set(names) - present)
            unknown = present - set(names)
            # An unknown field is named only when its name is an identifier: it
            # is whatever a peer sent, and could be an e-mail address.
            shown = sorted(n for n in unknown if _IDENTIFIER.match(n))
            parts = [f"lacks the fields {', '.join(missing)}"] if missing else []
            if unknown and len(shown) == len(unknown) <= MAX_SHOWN:
                parts.append(f"has unknown fields: {', '.join(shown)}")
            elif unknown:
                parts.append(f"has {len(unknown)} unknown fields")
            raise self.error(
                f"{self.what} {' and '.join(parts)}",
                hint=f"the fields are exactly: {', '.join(names)}",
            )

    def check(self, message: Any, *, skip: Sequence[str] = (), what: str = "") -> None:
        """Every field of an existing message object follows its rule (but
        ``skip``: fields the message checks itself, such as a version that
        raises ``unsupported-version``). ``what`` names the message in errors
        when it has a name of its own (a table), else the schema's ``what``."""
        for name, rule in self.fields.items():
            if name in skip:
                continue
            try:
                rule.check(getattr(message, name))
            except Violation as v:
                raise self.error(f"{what or self.what} {name} {v.reason}") from None

    def follows(self, field: str, value: Any) -> bool:
        """Whether ``value`` follows the rule of ``field`` (to name a message by it)."""
        try:
            self.fields[field].check(value)
        except Violation:
            return False
        return True

    def rows(self) -> list[tuple[str, str, str]]:
        """(field, JSON type, rule) per field: the table in docs/protocol.md."""
        return [(name, rule.json_type, rule.rule_text()) for name, rule in self.fields.items()]
