"""What a closed period's answers are computed from, kept per closing (ADR 0042).

Reading a period's stored submissions (each with its tables and its sketch)
and checking them is seconds for a sector of 500 institutions, and a closing
fixes what counts: a set-aside in a closed period recomputes its inputs
digest, a reopen or a new close changes its ``closed_at``. The penetration
inputs and the overlap inputs are therefore kept by keys that hold those, in
a small bounded map shared by the server's threads (the requests and the
page warmer). A "not there" error of the inputs (no population, no sketches)
is as fixed by the closing as the inputs would be, so it is kept too, and
raised again as a fresh copy each time.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from typing import Generic, TypeVar, cast

Value = TypeVar("Value")
Missing = TypeVar("Missing", bound=Exception)


class KeptPerClosing(Generic[Value, Missing]):
    """A bounded least-recently-used map of inputs (or their ``missing`` error)."""

    def __init__(self, missing: type[Missing], *, size: int = 16) -> None:
        self._missing = missing
        self._size = size
        self._kept: OrderedDict[Hashable, Value | Missing] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], Value]) -> Value:
        """The value kept for ``key``, else ``compute()``'s, kept. Two threads
        asking at once may both compute; either result is the same."""
        with self._lock:
            kept = self._kept.get(key)
            if kept is not None:
                self._kept.move_to_end(key)
        if kept is None:
            try:
                kept = compute()
            except self._missing as missing:
                kept = missing
            with self._lock:
                self._kept[key] = kept
                while len(self._kept) > self._size:
                    self._kept.popitem(last=False)
        if isinstance(kept, self._missing):
            # A copy per raise: one instance raised again and again, from several
            # threads, would carry each raise's traceback on top of the last.
            raise copy.copy(kept).with_traceback(None)
        return cast(Value, kept)  # not the error: the value computed

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()

    def __iter__(self) -> Iterator[Hashable]:
        """The keys kept (a copy: safe while other threads add)."""
        with self._lock:
            return iter(list(self._kept))
