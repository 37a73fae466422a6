"""Group commit for intake: one writer thread per server process.

Intake is serialised by the transparency log (each entry chains to the one
before it), so submissions arriving together would otherwise queue for the
write lock one transaction each, and on PostgreSQL each would wait for its
own WAL flush. Here every request hands its envelope to one writer thread and
waits; the writer takes everything queued so far as one batch, and
:meth:`Intake.accept_batch` verifies each envelope of it on its own
(decryption, signature, schema, ρ — what one envelope raises is its answer
only) and stores the valid ones in one transaction; then every request of the
batch is answered. Under light load a batch is one envelope and nothing waits;
under heavy load the batch grows by itself to what arrived during the previous
one (ADR 0010, which also records why verification runs in the writer).

A request is answered only after its batch committed (or failed as a whole),
so a receipt still means "stored"; a process killed mid-batch loses the
uncommitted batch entirely and its agents, having no receipt, send the same
envelopes again.
"""

from __future__ import annotations

import asyncio
import os
import queue
import threading
from concurrent.futures import Future

from aggregator.intake import Intake
from protocol.messages import Receipt

MAX_BATCH = 64  # envelopes per transaction; bounds how long one commit holds the log


class GroupCommit:
    def __init__(self, intake: Intake, max_batch: int = MAX_BATCH) -> None:
        self._intake = intake
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[tuple[bytes, Future[Receipt]]] = queue.SimpleQueue()
        self._started_in: int | None = None
        self._writer: threading.Thread | None = None
        self._start_lock = threading.Lock()

    async def submit(self, envelope: bytes) -> Receipt:
        """Queue one envelope; return its receipt once its batch is committed."""
        self._ensure_writer()
        answer: Future[Receipt] = Future()
        self._queue.put((envelope, answer))
        return await asyncio.wrap_future(answer)

    def _ensure_writer(self) -> None:
        # Started on first use in each process (forked server workers do not inherit
        # the parent's threads), and again should it ever have died.
        if self._writer_running():
            return
        with self._start_lock:
            if not self._writer_running():
                self._writer = threading.Thread(
                    target=self._write, name="publiek-intake", daemon=True
                )
                self._writer.start()
                self._started_in = os.getpid()

    def _writer_running(self) -> bool:
        return (
            self._writer is not None and self._started_in == os.getpid() and self._writer.is_alive()
        )

    def _write(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self._max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            # A request whose client went away is cancelled; one taken up here can
            # no longer be (its answer must be settable). The given-up ones are
            # not stored: their agents hold no receipt and will send them again.
            batch = [item for item in batch if item[1].set_running_or_notify_cancel()]
            try:
                self._commit(batch)
            except BaseException as exc:
                # Whatever went wrong, no request of the batch is left waiting; the
                # writer goes on unless the process is being stopped.
                for _, answer in batch:
                    if not answer.done():
                        answer.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise

    def _commit(self, batch: list[tuple[bytes, Future[Receipt]]]) -> None:
        if not batch:
            return
        # A failure of the whole batch (e.g. the database lost while reading keys)
        # propagates to ``_write``, which hands it to every request of the batch:
        # the API answers a lost database with 503.
        outcomes = self._intake.accept_batch([envelope for envelope, _ in batch])
        for (_, answer), outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, Exception):
                answer.set_exception(outcome)
            else:
                answer.set_result(outcome)
