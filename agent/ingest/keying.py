"""Household keys computed beside the ingest: in a child process for large slices.

The HMAC loop (:func:`agent.ingest.household_keys.keyed_digests`) is Python. On a
thread it holds the GIL about a microsecond per identity, and at millions of
households that stalls the main thread, whose polars calls need the GIL
between calls: a four-quarter export (six million household keys) took
31–38 s that way against 17 s with keying left out. One child process
(:mod:`agent.ingest.keying_process`) keys the large slices instead; slices
below ``PROCESS_MIN`` identities (tests, small exports) are keyed inline, so
small ingests never pay for starting a process.

The child reads requests from its stdin — the period's sector key, the
workspace's link key and the identities, newline-joined (a normalised
identity holds no whitespace) — and answers each with the concatenated
32-byte household keys on its stdout, in order, followed by the link keys
(one more HMAC per identity, under the link key: new vs returning across
periods, docs/privacy-officer.md). Both keys thus only ever travel through a
pipe between the agent's own processes: never a file, an argument or a log.
"""

from __future__ import annotations

import collections
import contextlib
import queue
import subprocess
import sys
import threading
from concurrent.futures import Future
from dataclasses import dataclass

import polars as pl

from agent.ingest import keying_process
from agent.ingest.household_keys import from_digests
from agent.ingest.keying_process import ANSWER, REQUEST, SEPARATOR, both_digests
from protocol.keys import SecretBytes

PROCESS_MIN = 50_000


@dataclass(frozen=True)
class PendingKeys:
    """The keys of one slice of identities, once computed (null where no identity).

    ``digests`` holds the household keys of the present identities and, when
    the slice was submitted with a link key, their link keys after them."""

    size: int
    present: pl.Series
    digests: Future[bytes]
    linked: bool = False

    def result(self) -> pl.Series:
        """The household keys (HMAC under the sector key), one per identity."""
        return self._scattered("household_key", 0)

    def link_keys(self) -> pl.Series:
        """The link keys (HMAC under the link key), one per identity; all null
        when the slice was submitted without a link key."""
        if not self.linked:
            return pl.repeat(None, self.size, dtype=pl.Binary, eager=True).alias("link_key")
        return self._scattered("link_key", 32 * self.present.len())

    def _scattered(self, name: str, start: int) -> pl.Series:
        keys = pl.repeat(None, self.size, dtype=pl.Binary, eager=True).alias(name)
        if n := self.present.len():
            blob = memoryview(self.digests.result())[start : start + 32 * n]
            keys = keys.scatter(self.present, from_digests(blob, name))
        return keys


class Keying:
    """Submits slices of identities for keying; :meth:`close` ends the child process."""

    def __init__(self) -> None:
        self._child: subprocess.Popen[bytes] | None = None
        self._requests: queue.Queue[bytes | None] = queue.Queue()
        self._waiting: collections.deque[Future[bytes]] = collections.deque()
        self._threads: list[threading.Thread] = []
        # Set by the receiving thread when the child's answers end; checked and
        # appended to under one lock, so no request can wait on a child that is gone.
        self._lock = threading.Lock()
        self._ended = False

    def submit(
        self, identities: pl.Series, key: SecretBytes, link: SecretBytes | None = None
    ) -> PendingKeys:
        """Key a slice of identities under the sector ``key`` and, if given, the ``link`` key."""
        mask = identities.is_not_null()
        present = identities.filter(mask)
        digests: Future[bytes] = Future()
        raw_link = None if link is None else link.reveal()
        if present.len() >= PROCESS_MIN:
            if self._child is None:
                self._start()
            payload = present.cast(pl.String).str.join(SEPARATOR.decode()).item().encode()
            raw = key.reveal()
            secret = raw + (raw_link or b"")
            head = REQUEST.pack(len(raw), len(raw_link or b""), len(payload))
            with self._lock:
                if self._ended:
                    raise RuntimeError("the household keying process ended early")
                self._waiting.append(digests)
                self._requests.put(head + secret + payload)
        else:
            digests.set_result(
                both_digests(present.cast(pl.Binary).to_list(), key.reveal(), raw_link)
            )
        return PendingKeys(identities.len(), mask.arg_true(), digests, linked=link is not None)

    def _start(self) -> None:
        # Started by file path, isolated (-I: no PYTHONPATH, user site or current
        # folder on its path): the child needs only the standard library.
        self._ended = False
        self._child = subprocess.Popen(  # noqa: S603 (this interpreter, the agent's own module)
            [sys.executable, "-I", keying_process.__file__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        for target in (self._send, self._receive):
            thread = threading.Thread(target=target, name=f"household-keys-{target.__name__}")
            thread.daemon = True
            thread.start()
            self._threads.append(thread)

    def _send(self) -> None:
        assert self._child is not None and self._child.stdin is not None
        stdin = self._child.stdin
        # An OSError means the child is gone; _receive then fails what still waits.
        with contextlib.suppress(OSError):
            while (request := self._requests.get()) is not None:
                stdin.write(request)
                stdin.flush()
        with contextlib.suppress(OSError):
            stdin.close()

    def _receive(self) -> None:
        assert self._child is not None and self._child.stdout is not None
        stdout = self._child.stdout
        while len(head := stdout.read(ANSWER.size)) == ANSWER.size:
            (size,) = ANSWER.unpack(head)
            self._waiting.popleft().set_result(stdout.read(size))
        with self._lock:
            self._ended = True
            while self._waiting:
                self._waiting.popleft().set_exception(
                    RuntimeError("the household keying process ended early")
                )

    def close(self, *, abort: bool = False) -> None:
        """Let the child finish and exit; with ``abort`` (after an error), stop it at once."""
        if self._child is None:
            return
        if abort:
            self._child.kill()
        self._requests.put(None)
        self._child.wait()
        for thread in self._threads:
            thread.join()
        self._child = None
