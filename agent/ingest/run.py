"""The ingest run: from export files to canonical visits in the workspace.

Per export: read it as strings (nothing is inferred behind the user's back),
settle what the mapping leaves out (:mod:`agent.ingest.plan`), then stream it
once, group of rows by group of rows (:mod:`agent.ingest.stream`), into the
run's folder in ``tmp/``. A file whose digest (computed on a thread beside
the pass, :mod:`agent.ingest.file_scan`) was ingested before is skipped before
anything moves, so ingesting twice never double-counts; otherwise its
outputs move into place (:mod:`agent.ingest.outputs`) and it is recorded
(:mod:`agent.ingest.ingested`). Rows are only ever counted or located (row
number, column, reason), never printed (ADR 0004, ADR 0009, ADR 0011).

This module imports polars: a process that ingests should enter through
:func:`agent.ingest.process.ingest_files`, which tunes the process first.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import polars as pl

from agent.ingest import dialect, ingested, readers
from agent.ingest.file_scan import Scan, checked_as, scan_bytes
from agent.ingest.mapping import Mapping
from agent.ingest.outputs import Outputs, move_into_place
from agent.ingest.plan import plan_export
from agent.ingest.report import IngestReport, count_households, key_columns
from agent.ingest.rows import ADDRESS_FIELDS
from agent.ingest.stream import stream_export
from agent.periods import label_of
from agent.workspace import Workspace
from protocol.errors import UsageError
from protocol.keys import SecretBytes


def ingest_exports(
    paths: Sequence[Path],
    mapping: Mapping,
    workspace: Workspace,
    *,
    sector_key: Callable[[str], SecretBytes] | None = None,
    early_scans: dict[Path, Future[Scan]] | None = None,
) -> IngestReport:
    """Ingest every export; return counts only (never row content).

    Fails with :class:`UsageError` before writing anything for a file that
    cannot be used at all; a file is recorded as ingested only after its
    visits and quarantine are in place. ``early_scans``: scans of exports
    already under way (:func:`agent.ingest.file_scan.start`), used instead of
    starting them again."""
    workspace.ensure()
    # A run that was killed leaves its tmp folder (which may hold a transcoded copy
    # of an export) behind; nothing else uses tmp/, so it goes before anything new.
    shutil.rmtree(workspace.root / "tmp", ignore_errors=True)
    key_for = sector_key or workspace.sector_key
    # Created on the first ingest of a workspace that has none (docs/operations.md).
    link = workspace.link_key()
    report = IngestReport()
    keyed: list[pl.DataFrame] = []
    for path in paths:
        _ingest_one(
            path,
            mapping,
            workspace,
            key_for=key_for,
            link=link,
            report=report,
            keyed=keyed,
            early=(early_scans or {}).get(path),
        )
    report.periods = sorted(
        {label_of(p) for frame in keyed for p in frame["period_code"].unique().to_list()}
    )
    if keyed:
        report.households = count_households(pl.concat(keyed))
    return report


@dataclass
class _Attempt:
    """One pass over an export into a tmp folder, not yet moved into place."""

    out: Outputs
    detected: dict[str, str]


def _attempt(
    path: Path,
    mapping: Mapping,
    scan: Scan,
    tmp: Path,
    *,
    key_for: Callable[[str], SecretBytes],
    link: SecretBytes,
) -> _Attempt:
    export = readers.open_export(path, mapping.source, scan, tmp, wanted=mapping.columns.values())
    plan = plan_export(export, mapping)
    out = Outputs(
        tmp=tmp,
        digest=scan.digest,
        name=path.name,
        key_headers="+".join(mapping.columns[n] for n in ADDRESS_FIELDS if n in mapping.columns)
        or "(no postcode, house number or e-mail mapped)",
    )
    stream_export(export, plan, mapping, out, key_for, link=link)
    return _Attempt(out, dict(export.detected))


def _ingest_one(
    path: Path,
    mapping: Mapping,
    workspace: Workspace,
    *,
    key_for: Callable[[str], SecretBytes],
    link: SecretBytes,
    report: IngestReport,
    keyed: list[pl.DataFrame],
    early: Future[Scan] | None,
) -> None:
    if not path.exists():
        raise UsageError(f"{path}: no such file", hint="check the export path")
    kind = readers.kind_of(path)
    wants_utf8 = mapping.source.encoding is None or dialect.canonical_encoding(
        mapping.source.encoding
    ) in ("utf-8", "utf-8-sig")
    check_utf8 = kind == "csv" and wants_utf8
    tmp_root = workspace.root / "tmp"
    tmp_root.mkdir(mode=0o700, exist_ok=True)
    tmp_root.chmod(0o700)
    # The digest (and the whole-file UTF-8 check) runs beside the pass instead of
    # before it: "ingested before?" and "was the file UTF-8 after all?" are decided
    # at the end, before anything moves into place; a file that turns out not to
    # be UTF-8 is read again with what the whole-file check found.
    size = path.stat().st_size
    scanning = None if early is None else checked_as(early, check_utf8=check_utf8)
    if ingested.size_seen(workspace, size):
        # Maybe the very export ingested before (a cron job re-running on an unchanged
        # file): decide that from the digest first, without a pass. Exports of a size
        # never ingested cannot have an ingested digest, so they skip this.
        if scanning is None:
            scanning = Future()
            scanning.set_result(scan_bytes(path, check_utf8=check_utf8))
        if ingested.seen(workspace, scanning.result().digest):
            report.files_skipped.append(path.name)
            return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="digest") as digesting:
        if scanning is None:
            scanning = digesting.submit(scan_bytes, path, check_utf8=check_utf8)
        # Read as UTF-8 until the whole-file check says otherwise, unless that check
        # is already done (an export of a size seen before).
        first = scanning.result() if scanning.done() else Scan(digest="", first_bad_utf8=None)
        tmp = Path(tempfile.mkdtemp(prefix="run-", dir=tmp_root))
        try:
            failed: UsageError | None = None
            attempt: _Attempt | None = None
            try:
                attempt = _attempt(path, mapping, first, tmp, key_for=key_for, link=link)
            except UsageError as exc:  # decided below: a skipped file is no error
                failed = exc
            scan = scanning.result()
            if ingested.seen(workspace, scan.digest):
                report.files_skipped.append(path.name)
                return
            if failed is not None and (scan.first_bad_utf8 is None or scan is first):
                raise failed
            if attempt is None or (scan is not first and scan.first_bad_utf8 is not None):
                shutil.rmtree(tmp, ignore_errors=True)
                tmp = Path(tempfile.mkdtemp(prefix="run-", dir=tmp_root))
                attempt = _attempt(path, mapping, scan, tmp, key_for=key_for, link=link)
            out = attempt.out
            out.digest = scan.digest
            report.detected[path.name] = attempt.detected
            report.source_from_mapping[path.name] = {
                k: v for k, v in asdict(mapping.source).items() if v is not None
            }
            unmapped = move_into_place(out, workspace)
            # Only the key columns are kept; distinct keys are counted at the end, when
            # the household table is gone (counting beside ``move_into_place`` on a
            # thread, or before the table is let go, held up to 250 MB more with six
            # million keys).
            keyed.append(key_columns(out.household_table))
            out.household_table = pl.DataFrame()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    read, by_reason = out.rows_read, out.by_reason
    accepted = read - sum(by_reason.values())
    report.rows_read += read
    report.rows_accepted += accepted
    report.rows_rejected += read - accepted
    for code, n in by_reason.items():
        report.rejected_by_reason[code] = report.rejected_by_reason.get(code, 0) + n
    for value, n in unmapped.items():
        report.unmapped_disciplines[value] = report.unmapped_disciplines.get(value, 0) + n
    report.files_ingested.append(path.name)
    if read > accepted:
        report.quarantine.append(str(workspace.quarantine_dir / f"{scan.digest}.parquet"))
    ingested.record(workspace, scan.digest, path.name, size=size, read=read, accepted=accepted)
