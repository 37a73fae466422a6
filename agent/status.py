"""``agent status``: what this workspace is, as an operator asks it.

Enrolled to which aggregator as which institution, which custodian key is
pinned, which segment model releases use, what was ingested, and per period
whether its sector key is there, what was released (ρ spent) and which
receipts are kept. Read only: a status
of a folder that is not a workspace creates nothing, and nothing here
prints row content, keys or household data, only names, counts and ids.
"""

from __future__ import annotations

import json
import sqlite3
import tomllib
from contextlib import closing
from typing import Any

from agent.release_config import FILE_NAME as RELEASE_TOML
from agent.sector_keys import custodian_key_path, pinned_custodian
from agent.segment_install import describe_installed, model_key_path, pinned_model_key
from agent.workspace import Workspace
from dp.release_design import DISCIPLINES
from protocol.keys import fingerprint


def _rows(workspace: Workspace, query: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(f"file:{workspace.db_path}?mode=ro", uri=True)) as db:
        try:
            return db.execute(query).fetchall()
        except sqlite3.OperationalError:  # a table an older agent never made
            return []


def format_status(workspace: Workspace) -> str:
    """The workspace's status as lines for the terminal."""
    workspace.existing()
    lines = [f"workspace {workspace.root}"]
    if not workspace.enrolled:
        lines.append("not enrolled (publiek agent enroll --aggregator URL --token T)")
    else:
        c = workspace.load_config()
        lines.append(
            f"enrolled as {c.institution_id} ({c.discipline}, {c.province}) at {c.aggregator_url}"
        )
    custodian = (
        fingerprint(pinned_custodian(workspace))
        if custodian_key_path(workspace).exists()
        else "none pinned"
    )
    lines.append(f"custodian key: {custodian}")
    model_key = (
        fingerprint(pinned_model_key(workspace))
        if model_key_path(workspace).exists()
        else "none pinned"
    )
    lines.append(f"segment model key: {model_key}")
    lines.append(f"segment model: {describe_installed(workspace)}")
    lines.append(f"catchment origin: {_catchment_origin(workspace)}")
    lines.append(f"household sketch parts: {_sketch_parts(workspace)}")
    if not workspace.db_path.exists():
        lines.append("nothing ingested or released yet")
        return "\n".join(lines)
    files = _rows(
        workspace,
        "SELECT file_name, ingested_at, rows_read, rows_accepted, rows_rejected "
        "FROM ingested_files ORDER BY ingested_at",
    )
    lines.append(f"ingested exports: {len(files)}")
    lines += [
        f"  {name} at {at}: {read} rows read, {accepted} accepted, {rejected} rejected"
        for name, at, read, accepted, rejected in files
    ]
    receipts: dict[str, dict[str, object]] = {
        str(sid): json.loads(str(doc))
        for sid, doc in _rows(workspace, "SELECT submission_id, receipt FROM receipts")
    }
    stored = {f.name.removeprefix("period=") for f in workspace.visits_dir.glob("period=*")}
    # A period whose sector key was fetched before anything of it was ingested.
    stored |= {f.stem.removeprefix("sector-") for f in workspace.keys_dir.glob("sector-*.key")}
    # An unenrolled workspace (`agent init`) cannot have released anything.
    # Read from the ledger's table directly (read only; ``agent.ledger`` opens for
    # writing). An unenrolled workspace (`agent init`) has released nothing.
    entries = _rows(
        workspace, "SELECT period, submission_id, rho, created_at FROM releases ORDER BY rowid"
    )
    released = {str(period) for period, *_ in entries}
    for period in sorted(stored | released):
        key = (
            "fetched"
            if workspace.sector_key_path(period).exists()
            else "local (a trial: removed when the workspace enrolls)"
            if workspace.local_sector_key_path(period).exists()
            else "missing"
        )
        lines.append(f"period {period}: sector key {key}")
        for _, submission_id, rho, created_at in (e for e in entries if e[0] == period):
            receipt = receipts.get(str(submission_id))
            sent = f"receipt: log index {receipt['log_index']}" if receipt else "no receipt kept"
            lines.append(
                f"  release {submission_id} at {created_at}, ρ={float(str(rho)):g}; {sent}"
            )
        if period not in released:
            lines.append("  not released yet")
    return "\n".join(lines)


def _release_setting(workspace: Workspace, key: str) -> Any:
    """``key`` of release.toml, None when the file or the key is absent.

    Status only shows the setting: a file that does not read raises
    ValueError with a few words to show instead (``agent submit`` names what
    is wrong in it)."""
    try:
        text = (workspace.root / RELEASE_TOML).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError:
        raise ValueError(f"{RELEASE_TOML} does not read as TOML") from None
    try:
        return tomllib.loads(text).get(key)
    except tomllib.TOMLDecodeError:
        raise ValueError(f"{RELEASE_TOML} does not read as TOML") from None


def _catchment_origin(workspace: Workspace) -> str:
    """The institution's own PC4 its catchment bands are counted from (``home_pc4``
    in release.toml, sent as ``catchment_origin``), in a few words; never raises
    for a file that does not read (``agent submit`` names what is wrong)."""
    try:
        found = _release_setting(workspace, "home_pc4")
    except ValueError as unreadable:
        return str(unreadable)
    if found is None:
        return (
            f"none (set home_pc4 in {RELEASE_TOML}: without it every household's catchment "
            "band is unknown and no catchment figures count this institution)"
        )
    return f"PC4 {found} ({RELEASE_TOML} home_pc4)"


def _sketch_parts(workspace: Workspace) -> str:
    """The disciplines a household sketch has parts for (``sketch_disciplines``
    in release.toml, plus the enrolled discipline), in a few words; public
    config, shown as declared. Never raises for a file that does not read
    (``agent submit`` names what is wrong)."""
    enrolled = workspace.load_config().discipline if workspace.enrolled else None
    try:
        declared = _release_setting(workspace, "sketch_disciplines")
    except ValueError as unreadable:
        return str(unreadable)
    if declared is None:
        if enrolled is None:
            return "the enrolled discipline alone (not enrolled yet)"
        return f"{enrolled} alone (the enrolled discipline; {RELEASE_TOML} sketch_disciplines)"
    if not isinstance(declared, list) or not all(isinstance(d, str) for d in declared):
        return f"sketch_disciplines in {RELEASE_TOML} is not a list of disciplines"
    if not set(declared) <= set(DISCIPLINES):
        return f"sketch_disciplines in {RELEASE_TOML} names a discipline outside the key set"
    chosen = {*declared, *([enrolled] if enrolled else [])}
    parts = [d for d in DISCIPLINES if d in chosen]
    tail = f"; {enrolled}'s part also holds undeclared main disciplines" if enrolled else ""
    return f"{', '.join(parts)} ({RELEASE_TOML} sketch_disciplines){tail}"
