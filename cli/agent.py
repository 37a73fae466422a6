"""``publiek agent``: what an institution's IT runs on premises.

In the order an operator meets them: enroll once, draft a mapping file and
ingest the box-office exports, then each quarter check the budget, fetch the
sector key, submit (or export for the offline path, and keep the receipt),
and inspect what left; once a period is published, read its household overlaps
and write its own report.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from cli.errors import TOO_MANY_REJECTED, friendly

agent_app = typer.Typer(no_args_is_help=True, help="On-premise agent (run by institution IT).")
mapping_app = typer.Typer(no_args_is_help=True, help="Mapping files: export headers → canonical.")
agent_app.add_typer(mapping_app, name="mapping")
sector_key_app = typer.Typer(no_args_is_help=True, help="The period's sector key.")
agent_app.add_typer(sector_key_app, name="sector-key")
receipt_app = typer.Typer(no_args_is_help=True, help="Receipts from the aggregator.")
agent_app.add_typer(receipt_app, name="receipt")
segment_model_app = typer.Typer(no_args_is_help=True, help="The segment model releases use.")
agent_app.add_typer(segment_model_app, name="segment-model")

# ``agent report``: written with the own numbers only, the aggregator being out
# of reach or the period not published yet; not 0, so that a scheduled run
# notices the benchmark is missing.
OWN_NUMBERS_ONLY = 3

Workspace = Annotated[
    Path,
    typer.Option("--workspace", "-w", help="Agent workspace folder.", envvar="PUBLIEK_WORKSPACE"),
]


@agent_app.command("enroll")
@friendly
def agent_enroll(
    aggregator: Annotated[str, typer.Option("--aggregator", help="Aggregator base URL.")],
    token: Annotated[
        str,
        typer.Option(
            "--token",
            envvar="PUBLIEK_ENROLL_TOKEN",
            help="Enrollment token from the taskforce (or set PUBLIEK_ENROLL_TOKEN, which keeps "
            "it out of the process list and shell history).",
        ),
    ],
    workspace: Workspace = Path("publiek-workspace"),
    custodian_key: Annotated[
        str | None,
        typer.Option(help="The custodian's public key, from the taskforce (pinned here)."),
    ] = None,
) -> None:
    """Generate this agent's keys and register their public halves."""
    from agent.enrollment import enroll, trial_exports
    from agent.workspace import Workspace as AgentWorkspace
    from protocol.keys import SealPrivateKey

    ws = AgentWorkspace(workspace)
    trial = trial_exports(ws)
    config = enroll(ws, aggregator, token, custodian_key=custodian_key)
    typer.echo(f"enrolled as {config.institution_id} ({config.discipline}, {config.province})")
    if trial:
        typer.echo(
            f"removed the trial ingest of {trial} export{'s' if trial != 1 else ''} (keyed with "
            "local keys, which match no other institution's): ingest them again after "
            "`publiek agent sector-key fetch --period P`"
        )
    sealing_id = SealPrivateKey.load(ws.seal_key_path).public.key_id
    typer.echo(f"sealing key id (tell the custodian): {sealing_id}")


@agent_app.command("init")
@friendly
def agent_init(workspace: Workspace = Path("publiek-workspace")) -> None:
    """Create an unenrolled workspace, to try a mapping on real exports before enrolling.

    Every other command refuses a folder that is not a workspace, so that a
    mistyped --workspace never starts a new one; `agent enroll` creates one too,
    and enrolls this one later."""
    from agent.workspace import Workspace as AgentWorkspace

    ws = AgentWorkspace(workspace)
    if ws.is_workspace():
        typer.echo(f"{workspace} is a workspace already; nothing changed")
        return
    ws.ensure()
    typer.echo(
        f"created the unenrolled workspace {workspace}; ingest into it to try a mapping, "
        "enroll it with `publiek agent enroll` before submitting"
    )


@segment_model_app.command("install")
@friendly
def agent_segment_model_install(
    model_file: Annotated[
        Path, typer.Argument(metavar="FILE", help="The segment model file the taskforce published.")
    ],
    workspace: Workspace = Path("publiek-workspace"),
) -> None:
    """Check a segment model file and keep it as the model this workspace releases with."""
    from agent.segment_install import install_model
    from agent.segments import demo_warning
    from agent.workspace import Workspace as AgentWorkspace

    model = install_model(AgentWorkspace(workspace).existing(), model_file)
    typer.echo(f"installed segment model {model.version} ({model.digest[:16]})")
    if warning := demo_warning(model):
        typer.echo(warning, err=True)


@segment_model_app.command("pin-key")
@friendly
def agent_segment_model_pin_key(
    model_key: Annotated[
        str,
        typer.Option(
            "--model-key", help="The taskforce's model key (base64url), confirmed out of band."
        ),
    ],
    workspace: Workspace = Path("publiek-workspace"),
) -> None:
    """Pin the key segment model releases must be signed with (a different key
    already pinned is never replaced)."""
    from agent.segment_install import pin_model_key
    from agent.workspace import Workspace as AgentWorkspace
    from protocol.keys import fingerprint

    key = pin_model_key(AgentWorkspace(workspace).existing(), model_key)
    typer.echo(f"model key {fingerprint(key)} pinned")


@segment_model_app.command("fetch")
@friendly
def agent_segment_model_fetch(
    version: Annotated[str, typer.Option(help="The release's version, e.g. synthetic-2026.1.")],
    workspace: Workspace = Path("publiek-workspace"),
) -> None:
    """Download a release from the aggregator, verify it under the pinned model
    key as that version, and keep it as the model this workspace releases with."""
    from agent.segment_install import fetch_release, model_of
    from agent.segments import demo_warning
    from agent.workspace import Workspace as AgentWorkspace

    release = fetch_release(AgentWorkspace(workspace).existing(), version)
    synthetic = " (synthetic)" if release.synthetic else ""
    typer.echo(f"installed segment model {release.version}{synthetic} ({release.digest[:16]})")
    if warning := demo_warning(model_of(release)):
        typer.echo(warning, err=True)


@mapping_app.command("suggest")
@friendly
def agent_mapping_suggest(
    export: Annotated[
        Path,
        typer.Argument(metavar="EXPORT", help="One box-office export (CSV, XLSX or Parquet)."),
    ],
    sheet: Annotated[
        str | None, typer.Option("--sheet", help="XLSX: the sheet with the data (default: first).")
    ] = None,
    workspace: Annotated[
        Path | None,
        typer.Option(
            "--workspace",
            "-w",
            help="Enrolled workspace: its discipline is proposed as default_discipline for an "
            "export without a genre column.",
            envvar="PUBLIEK_WORKSPACE",
        ),
    ] = None,
) -> None:
    """Print a draft mapping file from the export's header row (redirect it to MAP.toml)."""
    from agent.ingest.run import enrolled_discipline
    from agent.ingest.suggest import suggest_mapping
    from agent.workspace import Workspace as AgentWorkspace

    enrolled = enrolled_discipline(AgentWorkspace(workspace).existing()) if workspace else None
    typer.echo(suggest_mapping(export, sheet=sheet, enrolled=enrolled), nl=False)


@agent_app.command("ingest")
@friendly
def agent_ingest(
    exports: Annotated[
        list[Path],
        typer.Argument(
            metavar="EXPORT",
            help="Box-office export files (CSV, XLSX or Parquet); several in one call. "
            "A file ingested before (same SHA-256) is skipped, never counted twice.",
        ),
    ],
    mapping: Annotated[
        Path,
        typer.Option(
            "--mapping",
            "-m",
            help="Mapping file (TOML): \\[columns] maps canonical names to export headers; "
            "\\[source] keys left out (encoding, delimiter, decimal, date_format, sheet) are "
            "detected. Draft one with `publiek agent mapping suggest EXPORT`.",
        ),
    ],
    workspace: Workspace = Path("publiek-workspace"),
    report_json: Annotated[
        Path | None,
        typer.Option(
            "--report-json",
            help="Also write the report as JSON here: rows_read, rows_accepted, rows_rejected, "
            "rejected_by_reason, households, detected, quarantine files (counts, no row content).",
        ),
    ] = None,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Remove the visits of these exports if ingested before and ingest them "
            "again (after fixing the mapping); refused once a period of theirs was released.",
        ),
    ] = False,
    max_rejected: Annotated[
        float | None,
        typer.Option(
            "--max-rejected",
            help="Share of an export's rows (0–1) that may be rejected; above it the export "
            "is held back, nothing stored, exit 3 (default: \\[ingest] max_rejected in "
            "agent.toml, else 0.2).",
        ),
    ] = None,
) -> None:
    """Normalise exports into canonical household visits in the workspace.

    Exit 0 when the exports were read (rejected rows go to the workspace's
    quarantine/ folder with row number, column and reason); exit 3 when an
    export rejected more than its allowed share of rows and was held back
    (nothing of it stored; fix the mapping and run the same command again);
    exit 2 with one line naming file, line and column when an export cannot
    be used at all."""
    # The ingest tunes its own process before it imports polars (ADR 0011).
    from agent.ingest.process import ingest_files
    from agent.ingest.report import held_back_line
    from agent.segment_install import ingest_warning
    from agent.workspace import Workspace as AgentWorkspace

    ws = AgentWorkspace(workspace).existing()
    report = ingest_files(exports, mapping, workspace, replace=replace, max_rejected=max_rejected)
    if warning := ingest_warning(ws):
        typer.echo(warning, err=True)
    for name in report.files_replaced:
        typer.echo(f"replaced {name}: its earlier visits were removed")
    for name in report.detected:
        typer.echo(f"read {report.detected_line(name)}")
    for name in report.files_skipped:
        typer.echo(
            f"skipped {name}: ingested before (same file digest); to ingest it again "
            "with a changed mapping, add --replace"
        )
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(report.rejected_by_reason.items()))
    typer.echo(
        f"{report.rows_read} rows read: {report.rows_accepted} accepted, "
        f"{report.rows_rejected} rejected{f' ({reasons})' if reasons else ''}; "
        f"{report.households} households"
        + (f"; held back, not counted: {', '.join(report.held_back)}" if report.held_back else "")
    )
    if report.unmapped_disciplines:
        typer.echo(
            "unmapped disciplines counted as other: "
            + ", ".join(sorted(report.unmapped_disciplines))
            + " (add them to [discipline_map]; visits stored already change only with --replace)"
        )
    if report.defaulted:
        typer.echo(
            f"{report.defaulted} visits without a genre counted as {report.default_discipline} "
            "(map a genre column, or set default_discipline in the mapping)"
        )
    for period, n in report.overlapping.items():
        typer.echo(
            f"warning: {period}: {n} visits have the same household, date and event as "
            "visits of another export; if the exports overlap (cumulative exports) those "
            "count twice: map order_id so that each order counts once",
            err=True,
        )
    if report_json:
        report_json.write_text(json.dumps(report.to_dict(), indent=2), encoding="utf-8")
    for name, held in report.held_back.items():
        typer.echo(held_back_line(name, held, report.max_rejected), err=True)
    if report.held_back:
        raise typer.Exit(TOO_MANY_REJECTED)


@agent_app.command("budget")
@friendly
def agent_budget(
    workspace: Workspace = Path("publiek-workspace"),
    period: Annotated[
        str | None, typer.Option(help="Only this period, e.g. 2026-Q3 (default: all).")
    ] = None,
) -> None:
    """Show the privacy-budget ledger: what each period spent and what is left."""
    from agent.ledger import format_ledger
    from agent.release_config import release_config
    from agent.workspace import Workspace as AgentWorkspace

    ws = AgentWorkspace(workspace).existing()
    typer.echo(format_ledger(ws, lambda p: release_config(ws, p).period_budget, period))


@sector_key_app.command("fetch")
@friendly
def agent_sector_key_fetch(
    period: Annotated[str, typer.Option(help="Period label, e.g. 2026-Q3.")],
    workspace: Workspace = Path("publiek-workspace"),
) -> None:
    """Fetch the period's sealed sector key, verify it under the pinned custodian key."""
    from agent.sector_keys import fetch_sector_key
    from agent.workspace import Workspace as AgentWorkspace

    fp = fetch_sector_key(AgentWorkspace(workspace).existing(), period)
    typer.echo(f"sector key for {period} installed (custodian {fp})")


@agent_app.command("submit")
@friendly
def agent_submit(
    period: Annotated[str, typer.Option(help="Quarter label, e.g. 2026-Q3.")],
    workspace: Workspace = Path("publiek-workspace"),
    segment_model: Annotated[
        Path | None,
        typer.Option(
            help="Segment model file (default: the one installed with `agent segment-model "
            "install`, else the synthetic demo model)."
        ),
    ] = None,
) -> None:
    """Check the period with the aggregator, then release the DP tables (or reuse the
    stored release), seal and send them. Nothing is drawn for a period that is
    unknown, not open, out of budget, or when this institution is revoked."""
    from agent.segment_install import model_for_release
    from agent.segments import demo_warning
    from agent.submit import submit_period
    from agent.workspace import Workspace as AgentWorkspace

    ws = AgentWorkspace(workspace).existing()
    model = model_for_release(ws, segment_model)
    if warning := demo_warning(model):
        typer.echo(warning, err=True)
    done = submit_period(ws, period, model)
    release, receipt = done.release, done.receipt
    reused = " (stored release reused, no new noise)" if release.reused else ""
    typer.echo(
        f"submitted {release.payload.submission_id}{reused}: log index {receipt['log_index']}, "
        f"ρ={release.payload.privacy.rho:g} of the period's {done.period_config.rho_budget:g} "
        f"(ε={release.payload.privacy.epsilon:.2f}, δ={release.payload.privacy.delta:g})"
    )


@agent_app.command("export")
@friendly
def agent_export(
    period: Annotated[str, typer.Option(help="Quarter label, e.g. 2026-Q3.")],
    out: Annotated[Path, typer.Option("--out", help="Envelope file to write.")],
    workspace: Workspace = Path("publiek-workspace"),
    key_set: Annotated[
        Path | None, typer.Option(help="Aggregator key set (GET /v1/keys) instead of the cache.")
    ] = None,
    period_config: Annotated[
        Path | None,
        typer.Option(
            help="The period's signed config from the taskforce (publiek aggregator period "
            "config) instead of the workspace's cache; verified before anything is drawn."
        ),
    ] = None,
    segment_model: Annotated[
        Path | None,
        typer.Option(
            help="Segment model file (default: the one installed with `agent segment-model "
            "install`, else the synthetic demo model)."
        ),
    ] = None,
) -> None:
    """Seal the period's release to a file for `publiek aggregator import`."""
    from agent.export import export_release
    from agent.segment_install import model_for_release
    from agent.segments import demo_warning
    from agent.workspace import Workspace as AgentWorkspace

    ws = AgentWorkspace(workspace).existing()
    model = model_for_release(ws, segment_model)
    if warning := demo_warning(model):
        typer.echo(warning, err=True)
    keys = json.loads(key_set.read_text(encoding="utf-8")) if key_set else None
    submission_id, path = export_release(
        ws, period, out, model, key_set=keys, period_config=period_config
    )
    typer.echo(f"wrote submission {submission_id} to {path}")


@receipt_app.command("add")
@friendly
def agent_receipt_add(
    file: Annotated[Path, typer.Argument(help="Receipt from `aggregator import --receipt-out`.")],
    workspace: Workspace = Path("publiek-workspace"),
) -> None:
    """Verify a receipt's signature and keep it with the agent's receipts."""
    from agent.receipts import add_receipt
    from agent.workspace import Workspace as AgentWorkspace

    receipt = add_receipt(AgentWorkspace(workspace).existing(), file)
    typer.echo(f"receipt for {receipt.submission_id} kept (log index {receipt.log_index})")


@receipt_app.command("export")
@friendly
def agent_receipt_export(
    period: Annotated[str, typer.Option(help="Quarter label, e.g. 2026-Q3.")],
    out: Annotated[Path, typer.Option(help="File to write the receipt to.")],
    workspace: Workspace = Path("publiek-workspace"),
) -> None:
    """Write the period's receipt to a file for `publiek audit verify-log --receipt`."""
    from agent.receipts import export_receipt
    from agent.workspace import Workspace as AgentWorkspace

    receipt = export_receipt(AgentWorkspace(workspace).existing(), period, out)
    typer.echo(
        f"wrote the receipt for {receipt.submission_id} (log index {receipt.log_index}) to {out}"
    )


@agent_app.command("pin-custodian")
@friendly
def agent_pin_custodian(
    key: Annotated[
        str,
        typer.Option(
            "--custodian-key",
            help="The custodian's public key, from the taskforce (an option, as in `agent "
            "enroll`: a key's text may begin with '-').",
        ),
    ],
    workspace: Workspace = Path("publiek-workspace"),
) -> None:
    """Pin the custodian's key in an enrolled workspace that has none, without
    enrolling again (a different key already pinned is never replaced)."""
    from agent.sector_keys import pin_custodian
    from agent.workspace import Workspace as AgentWorkspace
    from protocol.keys import fingerprint

    ws = AgentWorkspace(workspace).existing()
    ws.load_config()  # an enrolled workspace only: a typo in -w must not make a new one
    typer.echo(f"custodian key {fingerprint(pin_custodian(ws, key))} pinned")


@agent_app.command("status")
@friendly
def agent_status(workspace: Workspace = Path("publiek-workspace")) -> None:
    """Enrolled to what, what was ingested, and per period: sector key, releases, receipts."""
    from agent.status import format_status
    from agent.workspace import Workspace as AgentWorkspace

    typer.echo(format_status(AgentWorkspace(workspace).existing()))


@agent_app.command("overlaps")
@friendly
def agent_overlaps(
    period: Annotated[str, typer.Option(help="A published period, e.g. 2026-Q3.")],
    other: Annotated[
        str | None,
        typer.Option(
            "--with",
            metavar="OTHER_ID",
            help="Another institution's id: the households shared with it, when both "
            "consented (share_named_overlaps = true in release.toml).",
        ),
    ] = None,
    workspace: Workspace = Path("publiek-workspace"),
) -> None:
    """The households this institution shares with each discipline, province and
    the sector (or with one named institution), as the aggregator publishes them:
    an estimate with its 95% interval, or too uncertain; exit 2 with the reason
    when the aggregator refuses."""
    from agent.overlaps import read_overlaps
    from agent.overlaps_text import format_named, format_own
    from agent.workspace import Workspace as AgentWorkspace

    answer = read_overlaps(AgentWorkspace(workspace).existing(), period, other)
    typer.echo(format_own(answer) if other is None else format_named(answer))


@agent_app.command("report")
@friendly
def agent_report(
    period: Annotated[str, typer.Option(help="A published period, e.g. 2026-Q3.")],
    out: Annotated[
        Path | None,
        typer.Option(help="Write here (default: the workspace's reports/report-PERIOD-LANG.html)."),
    ] = None,
    lang: Annotated[str, typer.Option(help="nl (default) or en.")] = "nl",
    workspace: Workspace = Path("publiek-workspace"),
) -> None:
    """Write the institution's own report: one HTML file (owner-only) with its
    exact numbers, counted here and never sent, beside its peer group's and the
    sector's published benchmark. Exit 3 when the aggregator could not be
    reached or has not published the period yet: the file then holds the own
    numbers only."""
    from agent.own_report import write_report_file
    from agent.workspace import Workspace as AgentWorkspace

    written = write_report_file(AgentWorkspace(workspace).existing(), period, lang=lang, out=out)
    typer.echo(str(written.path))
    if written.offline:
        typer.echo(
            f"warning: own numbers only, the benchmark could not be fetched ({written.offline}); "
            "run the command again when the aggregator can be reached",
            err=True,
        )
        raise typer.Exit(OWN_NUMBERS_ONLY)
    if written.unpublished:
        typer.echo(
            f"warning: own numbers only, no benchmark of {period} for this institution yet "
            f"({written.unpublished}); run the command again once the taskforce has published "
            "the period with a submission of this institution counted in it (`publiek agent "
            "status` shows what was sent)",
            err=True,
        )
        raise typer.Exit(OWN_NUMBERS_ONLY)


@agent_app.command("inspect")
@friendly
def agent_inspect(
    submission: Annotated[str, typer.Argument(help="Submission id, or its outbox file.")],
    workspace: Workspace = Path("publiek-workspace"),
    as_json: Annotated[bool, typer.Option("--json", help="Every cell, as JSON.")] = False,
) -> None:
    """Show exactly the plaintext that left (or would leave) and check the envelope."""
    from agent.inspect import format_inspection, inspect_submission, inspection_json
    from agent.workspace import Workspace as AgentWorkspace

    inspection = inspect_submission(AgentWorkspace(workspace).existing(), submission)
    typer.echo(inspection_json(inspection) if as_json else format_inspection(inspection))
    if inspection.sealed and not inspection.matches:
        raise typer.Exit(1)
