"""The ingest run: from export files to canonical visits in the workspace.

Per export: read it as strings (nothing is inferred behind the user's back),
settle what the mapping leaves out (:mod:`agent.ingest.plan`), then stream it
once, group of rows by group of rows (:mod:`agent.ingest.stream`), into the
run's folder in ``tmp/``. A file whose digest (computed on a thread beside
the pass, :mod:`agent.ingest.file_scan`) was ingested before is skipped before
anything moves, so ingesting twice never double-counts; otherwise its
outputs move into place (:mod:`agent.ingest.outputs`) and it is recorded
(:mod:`agent.ingest.ingested`). An export that rejects more than
``max_rejected`` of its rows is held back instead: only its quarantine is
written, nothing is recorded, so the same command run again after fixing
the mapping ingests it. ``replace`` removes an ingested export's visits and
record first, unless a period it holds was released (ADR 0022). Each
household is placed in a segment of the workspace's segment model while its
PC6 is known (ADR 0029). Rows are
only ever counted or located (row number, column, reason), never printed
(ADR 0004, ADR 0009, ADR 0011).

This module imports polars: a process that ingests should enter through
:func:`agent.ingest.process.ingest_files`, which tunes the process first.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import tomllib
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import polars as pl

from agent.ingest import dialect, ingested, readers
from agent.ingest.file_scan import Scan, checked_as, scan_bytes
from agent.ingest.mapping import Mapping
from agent.ingest.outputs import (
    Outputs,
    move_into_place,
    periods_of,
    remove_export,
    write_quarantine,
)
from agent.ingest.plan import plan_export
from agent.ingest.reasons import data_rows_rejected
from agent.ingest.report import IngestReport, count_households, key_columns
from agent.ingest.rows import ADDRESS_FIELDS
from agent.ingest.stream import stream_export
from agent.periods import label_of
from agent.segment_install import model_for_ingest
from agent.segments import Placement, SegmentModel
from agent.visits import DISCIPLINES, overlapping
from agent.workspace import Workspace
from protocol.errors import UsageError
from protocol.keys import SecretBytes

# The share of an export's rows that may be rejected before the export is held back
# (``[ingest] max_rejected`` in agent.toml, ``--max-rejected``).
MAX_REJECTED = 0.2


def configured_max_rejected(workspace: Workspace) -> float:
    """``[ingest] max_rejected`` of the workspace's agent.toml, else :data:`MAX_REJECTED`."""
    section = _agent_toml(workspace).get("ingest", {})
    value = section.get("max_rejected", MAX_REJECTED) if isinstance(section, dict) else None
    return check_max_rejected(value, where=f"{workspace.config_path}: [ingest] max_rejected")


def check_max_rejected(value: object, *, where: str) -> float:
    """A share between 0 and 1, or a :class:`UsageError` saying so."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise UsageError(
            f"{where} must be a share between 0 and 1", hint="e.g. 0.2 for 20 % of the rows"
        )
    return float(value)


def enrolled_discipline(workspace: Workspace) -> str | None:
    """The sector discipline the workspace enrolled with (agent.toml), if any: the
    discipline of visits from exports without a genre column."""
    discipline = _agent_toml(workspace).get("discipline")
    return discipline if isinstance(discipline, str) and discipline in DISCIPLINES else None


def _agent_toml(workspace: Workspace) -> dict[str, object]:
    """The workspace's agent.toml as TOML (empty before enrollment)."""
    try:
        return tomllib.loads(workspace.config_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(
            f"{workspace.config_path} cannot be read ({type(exc).__name__})",
            hint="it must be the UTF-8 TOML file written by `publiek agent enroll`",
        ) from exc


def ingest_exports(
    paths: Sequence[Path],
    mapping: Mapping,
    workspace: Workspace,
    *,
    sector_key: Callable[[str], SecretBytes] | None = None,
    early_scans: dict[Path, Future[Scan]] | None = None,
    replace: bool = False,
    max_rejected: float | None = None,
    segment_model: SegmentModel | None = None,
) -> IngestReport:
    """Ingest every export; return counts only (never row content).

    Fails with :class:`UsageError` before writing anything for a file that
    cannot be used at all; a file is recorded as ingested only after its
    visits and quarantine are in place, and only when it rejected at most
    ``max_rejected`` of its rows (default: :func:`configured_max_rejected`).
    ``replace``: an export ingested before is ingested again, its earlier
    visits removed only once the new run of it is accepted (a held-back or
    failed run keeps them), unless one of its periods was released (then
    :class:`UsageError`, before anything is read). ``early_scans``: scans of
    exports already under way (:func:`agent.ingest.file_scan.start`), used
    instead of starting them again. ``segment_model``: the model households
    are placed with (default: :func:`agent.segment_install.model_for_ingest`,
    the workspace's)."""
    workspace.ensure()
    model = segment_model if segment_model is not None else model_for_ingest(workspace)
    limit = configured_max_rejected(workspace) if max_rejected is None else max_rejected
    limit = check_max_rejected(limit, where="--max-rejected")
    # A run that was killed leaves its tmp folder (which may hold a transcoded copy
    # of an export) behind; nothing else uses tmp/, so it goes before anything new.
    shutil.rmtree(workspace.root / "tmp", ignore_errors=True)
    key_for = sector_key or workspace.sector_key
    # Created on the first ingest of a workspace that has none (docs/operations.md).
    link = workspace.link_key()
    enrolled = enrolled_discipline(workspace)
    if mapping.default_discipline is None and "discipline" not in mapping.columns and enrolled:
        # No genre column: the institution's own discipline, not "other" (ADR 0022).
        mapping = dataclasses.replace(mapping, default_discipline=enrolled)
    report = IngestReport(
        max_rejected=limit, default_discipline=mapping.default_discipline or "other"
    )
    replacing = _replaceable(paths, workspace, early_scans or {}) if replace else set()
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
            max_rejected=limit,
            replacing=replacing,
            model=model,
        )
    report.periods = sorted(
        {label_of(p) for frame in keyed for p in frame["period_code"].unique().to_list()}
    )
    if keyed:
        report.households = count_households(pl.concat(keyed))
    if report.files_ingested and "order_id" not in mapping.columns:
        # Without order ids the period's exports cannot be deduplicated: say when
        # they look like they overlap (a cumulative export ingested beside another).
        for period in report.periods:
            n = overlapping(workspace.load_visits(period))
            if n:
                report.overlapping[period] = n
    return report


def _replaceable(
    paths: Sequence[Path], workspace: Workspace, early_scans: dict[Path, Future[Scan]]
) -> set[str]:
    """The digests of the exports ingested before, to be ingested again (``--replace``).

    Every export is checked before any is read, so a refusal changes nothing.
    Nothing is removed here: :func:`_ingest_one` replaces an export's visits
    only once its new run is accepted, and keeps its place in the order of the
    period's exports (:func:`agent.ingest.ingested.record`), so a replaced
    day-1 export never overrides day 2's orders."""
    ingested_before: set[str] = set()
    for path in paths:
        if not path.exists():
            raise UsageError(f"{path}: no such file", hint="check the export path")
        early = early_scans.get(path)
        digest = (early.result() if early else scan_bytes(path, check_utf8=False)).digest
        if not ingested.seen(workspace, digest):
            continue
        done = ingested.released(workspace, periods_of(workspace, digest))
        if done:
            raise UsageError(
                f"{path.name}: cannot replace it, its visits of {', '.join(done)} were "
                "released already (replacing them would need a second release)",
                hint="leave it as it is; corrections go into the next period's exports",
            )
        ingested_before.add(digest)
    return ingested_before


@dataclass
class _Attempt:
    """One pass over an export into a tmp folder, not yet moved into place."""

    out: Outputs
    detected: dict[str, str]
    layout: str  # the export's header row, as ingested.layout_of names it


def _attempt(
    path: Path,
    mapping: Mapping,
    scan: Scan,
    tmp: Path,
    *,
    key_for: Callable[[str], SecretBytes],
    link: SecretBytes,
    model: SegmentModel | None,
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
    placement: Placement | None = None
    if model is not None:
        placement = model.placement
        out.segment_model = model.digest
    stream_export(export, plan, mapping, out, key_for, link=link, placement=placement)
    return _Attempt(out, dict(export.detected), ingested.layout_of(export.columns))


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
    max_rejected: float,
    replacing: set[str],
    model: SegmentModel | None,
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
        digest = scanning.result().digest
        if ingested.seen(workspace, digest) and digest not in replacing:
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
                attempt = _attempt(
                    path, mapping, first, tmp, key_for=key_for, link=link, model=model
                )
            except UsageError as exc:  # decided below: a skipped file is no error
                failed = exc
            scan = scanning.result()
            if ingested.seen(workspace, scan.digest) and scan.digest not in replacing:
                report.files_skipped.append(path.name)
                return
            if failed is not None and (scan.first_bad_utf8 is None or scan is first):
                raise failed
            if attempt is None or (scan is not first and scan.first_bad_utf8 is not None):
                shutil.rmtree(tmp, ignore_errors=True)
                tmp = Path(tempfile.mkdtemp(prefix="run-", dir=tmp_root))
                attempt = _attempt(
                    path, mapping, scan, tmp, key_for=key_for, link=link, model=model
                )
            out = attempt.out
            out.digest = scan.digest
            report.detected[path.name] = attempt.detected
            report.source_from_mapping[path.name] = {
                k: v for k, v in asdict(mapping.source).items() if v is not None
            }
            data_read, rejected = data_rows_rejected(out.rows_read, out.by_reason)
            if rejected > max_rejected * data_read:
                # Most likely a mapping mistake: store nothing and record nothing, so
                # that the same command ingests it once the mapping is fixed.
                write_quarantine(out, workspace)
                report.held_back[path.name] = {
                    "rows_read": out.rows_read,
                    "rows_rejected": rejected,
                    "rejected_by_reason": dict(out.by_reason),
                    "earlier_kept": scan.digest in replacing,
                }
                report.quarantine.append(str(workspace.quarantine_dir / f"{scan.digest}.parquet"))
                return
            if scan.digest in replacing:
                # Accepted: now the earlier run's visits go (a period the new mapping no
                # longer puts visits in included), and the new ones take their place.
                remove_export(workspace, scan.digest)
                report.files_replaced.append(path.name)
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
    report.defaulted += out.defaulted
    report.files_ingested.append(path.name)
    if read > accepted:
        report.quarantine.append(str(workspace.quarantine_dir / f"{scan.digest}.parquet"))
    ingested.record(
        workspace, scan.digest, path.name, size=size, read=read, accepted=accepted,
        layout=attempt.layout,
    )  # fmt: skip
