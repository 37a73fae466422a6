"""One pass over an export, group of rows by group of rows.

The streaming engine runs the row pass (:func:`agent.ingest.rows.row_pass`)
and hands over its batches; a million rows make a group (:func:`groups`).
Per group, on the main thread: prices by code and the price reason, the
rejected rows counted and kept for the quarantine, genre labels counted by
code, and each accepted row's address numbered in the export's address book
(:class:`agent.ingest.address_book.AddressBook`), whose new addresses go to
the keying child meanwhile. The group's visits are then written on a writer
thread (:func:`agent.ingest.outputs.write_group`) while the main thread takes
the next group; at most one group waits to be written, so memory stays at
two groups plus the address book, whatever the export's size (ADR 0004,
"Streaming"; ADR 0011).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import polars as pl

from agent.ingest import readers
from agent.ingest.address_book import AddressBook
from agent.ingest.coded_values import ByCode
from agent.ingest.disciplines import discipline_of, discipline_table
from agent.ingest.keying import Keying
from agent.ingest.mapping import Mapping
from agent.ingest.outputs import WRITTEN, Outputs, write_group
from agent.ingest.plan import ReadPlan
from agent.ingest.rows import price_of, priced, row_pass, row_reasons
from agent.segments import Placement
from protocol.errors import UsageError
from protocol.keys import SecretBytes

GROUP_ROWS = 1_000_000  # rows handled at once (in the engine's chunks of ~20,000 rows)
# What the engine parses ahead while a group is handled. A whole group ahead was no
# faster within the noise and held ~400 MB more (four quarters then passed 2 GB).
BATCH_ROWS = 100_000
_BYTES_PER_ADDRESS = 400  # about four visits of a hundred bytes a household, in a CSV


def stream_export(
    export: readers.Export,
    plan: ReadPlan,
    mapping: Mapping,
    out: Outputs,
    key_for: Callable[[str], SecretBytes],
    *,
    link: SecretBytes | None,
    placement: Placement | None = None,
) -> None:
    """One pass over the export: per group of rows, reasons, address numbers and visits;
    at the end ``out.household_table`` holds the export's household table (with each
    household's segment, when ``placement`` is given)."""
    keying = Keying()
    try:
        book = AddressBook(
            key_for,
            keying,
            link=link,
            expected=_expected_addresses(export),
            placement=placement,
        )
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="visits-writer") as writer:
            _stream_groups(export, plan, mapping, out, book=book, writer=writer)
        out.household_table = book.household_table()
    except BaseException:
        keying.close(abort=True)
        raise
    keying.close()


def _expected_addresses(export: readers.Export) -> int:
    """A rough count of an export's distinct addresses, to size the address table:
    too low costs a few re-placements, too high a few MiB (the table's start is capped)."""
    return export.path.stat().st_size // _BYTES_PER_ADDRESS if export.kind == "csv" else 0


def groups(export: readers.Export, plan: ReadPlan) -> Iterator[pl.DataFrame]:
    """The row pass in groups of ``GROUP_ROWS`` rows (the last one shorter), each in
    the engine's chunks (nothing is copied to make a group); a file that cannot be
    parsed to the end is the user's error. (Only the engine's own errors: a
    failure while a group is handled is not the file's fault and is not
    re-labelled.)"""
    try:
        pending: list[pl.DataFrame] = []
        size = 0
        batches = row_pass(export, plan).collect_batches(chunk_size=min(BATCH_ROWS, GROUP_ROWS))
        for batch in batches:
            pending.append(batch)
            size += batch.height
            if size >= GROUP_ROWS:
                yield pl.concat(pending)
                pending, size = [], 0
        if pending:
            yield pl.concat(pending)
    except pl.exceptions.PolarsError as exc:
        raise UsageError(
            f"{export.path}: cannot be read to the end ({type(exc).__name__})",
            hint="check delimiter, quoting and encoding in the mapping's [source]",
        ) from exc


def _stream_groups(
    export: readers.Export,
    plan: ReadPlan,
    mapping: Mapping,
    out: Outputs,
    *,
    book: AddressBook,
    writer: ThreadPoolExecutor,
) -> None:
    codes, headers = row_reasons(plan)
    prices = ByCode(price_of(plan.decimal or ","))
    # The genre labels met so far, by code, with their discipline.
    labels = ByCode(
        lambda values: discipline_table(values.alias("raw_discipline").to_frame(), mapping).drop(
            "raw_discipline"
        )
    )
    table = labels.frame

    writing: list[Future[None]] = []

    def handle(rows: pl.DataFrame) -> None:
        nonlocal table
        out.rows_read += rows.height
        rows = priced(rows, prices.update(rows["price_text"])["price"])
        ok = rows["reason"].is_null()
        accepted: pl.Series | None = ok
        bad = rows.filter(~ok)
        if bad.height:
            for (reason,), part in bad.group_by("reason"):
                out.count(codes[int(str(reason))], part.height)
            out.rejected.append(
                bad.select(
                    "source_row",
                    pl.lit(pl.Series(headers, dtype=pl.String))
                    .gather(pl.col("reason"))
                    .alias("column"),
                    pl.lit(pl.Series(codes, dtype=pl.String))
                    .gather(pl.col("reason"))
                    .alias("reason"),
                )
            )
            genre_codes = rows["raw_discipline"].to_physical().filter(ok)
        else:
            accepted = None
            genre_codes = rows["raw_discipline"].to_physical()
        out.genres.append(genre_codes.value_counts(name="len"))
        table = labels.update(rows["raw_discipline"])
        numbers = book.numbers(rows, accepted)
        writing.append(
            writer.submit(
                write_group,
                # Only what the writer needs, so the address strings can go now.
                rows.select(*WRITTEN),
                numbers,
                book.keyless,
                out,
                discipline_of(table, mapping),
            )
        )
        # At most one group waits to be written: memory stays at two groups.
        while len(writing) > 1:
            writing.pop(0).result()

    for group in groups(export, plan):
        handle(group)
        del group  # not held while the next group's rows arrive
    for job in writing:
        job.result()
    out.count("no_household_key", out.keyless)
    counts = pl.concat(out.genres).group_by("raw_discipline").agg(pl.col("len").sum())
    label = table["value"].gather(counts["raw_discipline"]).alias("raw_discipline")
    out.genres = [
        counts.with_columns(label),
        labels.table().rename({"value": "raw_discipline"}),
    ]
