"""One read over an export's bytes: its SHA-256 digest and where UTF-8 first fails.

The digest tells an export ingested before from a new one; the UTF-8 check
tells an export that must be transcoded (polars reads UTF-8 only). Standard
library only (and ``protocol.errors``), so that the ingest process
(:mod:`agent.ingest.process`) can start reading the first export on a
thread while polars is still being imported (:func:`start`): on two cores,
the digest of a 900 MiB export takes 0.6 s of one core, and the imports
leave the other one idle.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import threading
from concurrent.futures import Future
from dataclasses import dataclass, replace
from pathlib import Path

from protocol.errors import UsageError

CHUNK = 1 << 24


@dataclass(frozen=True)
class Scan:
    """One read over a file's bytes: its digest and, if asked, where UTF-8 first fails."""

    digest: str
    first_bad_utf8: int | None

    def without_utf8_check(self) -> Scan:
        return replace(self, first_bad_utf8=None)


def scan_bytes(path: Path, *, check_utf8: bool) -> Scan:
    """SHA-256 of the file, and the offset of the first byte that is not UTF-8.

    Hashing runs in a second thread (hashlib releases the GIL on large
    buffers) while this thread validates UTF-8, so the file is read once."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    bad: int | None = None
    offset = 0
    with open_export_file(path) as fh:
        while chunk := fh.read(CHUNK):
            worker = threading.Thread(target=digest.update, args=(chunk,))
            worker.start()
            # An ASCII chunk with no multi-byte sequence pending from the previous
            # chunk is valid UTF-8 as it is: isascii() checks that at memory speed,
            # where decoding would build a 16 MiB string first.
            if check_utf8 and bad is None and not (chunk.isascii() and not decoder.getstate()[0]):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    bad = offset + max(exc.start, 0)
            worker.join()
            offset += len(chunk)
    if check_utf8 and bad is None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            bad = max(offset - 1, 0)
    return Scan(digest.hexdigest(), bad)


def open_export_file(path: Path) -> io.BufferedReader:
    """The export opened for reading bytes; every failure a one-line :class:`UsageError`."""
    try:
        return path.open("rb")
    except FileNotFoundError as exc:
        raise UsageError(f"{path}: no such file", hint="check the export path") from exc
    except IsADirectoryError as exc:
        raise UsageError(f"{path}: is a folder, not an export file") from exc
    except OSError as exc:
        raise UsageError(
            f"{path}: cannot be read ({exc.strerror or type(exc).__name__})",
            hint="check the file's permissions for the user running the agent",
        ) from exc


def start(path: Path) -> Future[Scan] | None:
    """Scan ``path`` on a thread of its own, UTF-8 checked; None when it is not a
    regular file (the ingest then says what is wrong with it, as for any other)."""
    if not path.is_file():
        return None
    scanning: Future[Scan] = Future()

    def run() -> None:
        try:
            scanning.set_result(scan_bytes(path, check_utf8=True))
        except Exception as exc:  # noqa: BLE001 (handed to whoever waits for the result)
            scanning.set_exception(exc)

    # A daemon: a run that stops early (a bad mapping, say) need not wait for it.
    threading.Thread(target=run, name="early-digest", daemon=True).start()
    return scanning


def checked_as(early: Future[Scan], *, check_utf8: bool) -> Future[Scan]:
    """An early scan (always UTF-8 checked) as this export needs it: without the
    UTF-8 finding where the file is not read as UTF-8 (not a CSV, or another
    encoding in the mapping)."""
    if check_utf8:
        return early
    scanning: Future[Scan] = Future()

    def settle(done: Future[Scan]) -> None:
        failed = done.exception()
        if failed is None:
            scanning.set_result(done.result().without_utf8_check())
        else:
            scanning.set_exception(failed)

    early.add_done_callback(settle)
    return scanning
