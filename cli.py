"""The ``publiek`` command: thin wrappers that call into the packages.

This module and ``demo/`` are the only places that know both the agent and
the aggregator. Every command turns a :class:`PubliekError` into one line on
stderr and exit code 2; ``--verbose`` adds the traceback.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from protocol.errors import PubliekError

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__.splitlines()[0])
agent_app = typer.Typer(no_args_is_help=True, help="On-premise agent (run by institution IT).")
aggregator_app = typer.Typer(
    no_args_is_help=True, help="Central aggregator (run by the taskforce)."
)
app.add_typer(agent_app, name="agent")
app.add_typer(aggregator_app, name="aggregator")

F = TypeVar("F", bound=Callable[..., Any])
_state = {"verbose": False}

Workspace = Annotated[
    Path,
    typer.Option("--workspace", "-w", help="Agent workspace folder.", envvar="PUBLIEK_WORKSPACE"),
]


def friendly(func: F) -> F:
    """Report Publiek errors as one actionable line with exit code 2."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except PubliekError as exc:
            if _state["verbose"]:
                raise
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:
            # Library messages can quote the data they choked on (a cell of an
            # export, say), so only the type is shown unless --verbose.
            if _state["verbose"]:
                raise
            typer.echo(
                f"error: unexpected {type(exc).__name__}; run again with --verbose for details",
                err=True,
            )
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


@app.callback()
def main_options(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show tracebacks.")] = False,
) -> None:
    """Publiek: privacy-preserving audience benchmarks for the cultural sector."""
    _state["verbose"] = verbose


mapping_app = typer.Typer(no_args_is_help=True, help="Mapping files: export headers → canonical.")
agent_app.add_typer(mapping_app, name="mapping")


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
) -> None:
    """Normalise exports into canonical household visits in the workspace.

    Exit 0 when the exports were read (rejected rows go to the workspace's
    quarantine/ folder with row number, column and reason); exit 2 with one
    line naming file, line and column when an export cannot be used at all."""
    from agent import file_scan
    from agent.memory import settle_garbage_collector, tune_for_ingest

    fresh_process = tune_for_ingest()  # before polars is imported (ADR 0011)
    # The first export's digest is read while polars is imported (one core is idle then).
    early = {exports[0]: scan} if exports and (scan := file_scan.start(exports[0])) else {}

    from agent.ingest import ingest_exports
    from agent.ingest.mapping import Mapping
    from agent.workspace import Workspace as AgentWorkspace

    if fresh_process:  # not when called in-process (tests): freezing there would pile up
        settle_garbage_collector()
    report = ingest_exports(
        exports, Mapping.load(mapping), AgentWorkspace(workspace), early_scans=early
    )
    for name in report.detected:
        typer.echo(f"read {report.detected_line(name)}")
    for name in report.files_skipped:
        typer.echo(f"skipped {name}: ingested before (same file digest)")
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(report.rejected_by_reason.items()))
    typer.echo(
        f"{report.rows_read} rows read: {report.rows_accepted} accepted, "
        f"{report.rows_rejected} rejected{f' ({reasons})' if reasons else ''}; "
        f"{report.households} households"
    )
    if report.unmapped_disciplines:
        typer.echo(
            "unmapped disciplines counted as other: "
            + ", ".join(sorted(report.unmapped_disciplines))
            + " (add them to [discipline_map])"
        )
    if report_json:
        report_json.write_text(json.dumps(report.to_dict(), indent=2), encoding="utf-8")


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
) -> None:
    """Print a draft mapping file from the export's header row (redirect it to MAP.toml)."""
    from agent.ingest.suggest import suggest_mapping

    typer.echo(suggest_mapping(export, sheet=sheet), nl=False)


State = Annotated[
    Path,
    typer.Option("--state", help="Aggregator state folder.", envvar="PUBLIEK_AGGREGATOR_STATE"),
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database", help="SQLAlchemy URL (default: SQLite in the state folder)."),
]


ConfigFile = Annotated[
    Path | None,
    typer.Option("--config", help="Config file (default: STATE/aggregator.toml when present)."),
]


def _settings(
    state: Path, database: str | None, k: int | None = None, config: Path | None = None,
    **more: Any,
) -> Any:  # fmt: skip
    from aggregator.settings import load_settings

    state.mkdir(parents=True, exist_ok=True)
    return load_settings(state, config, database_url=database, k=k, **more)


def _aggregator_db(state: Path, database: str | None, config: Path | None = None) -> Any:
    from aggregator.keyring import Keyring
    from aggregator.storage import Database

    settings = _settings(state, database, config=config)
    db = Database(settings.db_url)
    db.create_schema()
    Keyring(settings, db).ensure()
    return db


@aggregator_app.command("init")
@friendly
def aggregator_init(
    state: State = Path("aggregator-state"),
    database: DatabaseUrl = None,
    config: ConfigFile = None,
) -> None:
    """Create or upgrade the database schema (alembic), the first keys and a config file."""
    from aggregator.migrations import current
    from aggregator.settings import write_default_config

    settings = _settings(state, database, config=config)
    db = _aggregator_db(state, database, config)
    written = write_default_config(settings) if config is None else config
    typer.echo(
        f"aggregator state ready in {state} (schema revision {current(db.engine)}, "
        f"{db.dialect}); config: {written}"
    )


@aggregator_app.command("serve")
@friendly
def aggregator_serve(
    state: State = Path("aggregator-state"),
    database: DatabaseUrl = None,
    config: ConfigFile = None,
    host: Annotated[str | None, typer.Option(help="Address to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (0 picks a free one).")] = None,
    k: Annotated[
        int | None, typer.Option(help="Minimum institutions per published cell (default 5).")
    ] = None,
    address_file: Annotated[
        Path | None, typer.Option(help="Write the bound URL here once listening.")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes sharing the socket (default 1).")
    ] = None,
) -> None:
    """Run the aggregator's HTTP API and dashboard (uvicorn)."""
    from aggregator.server import serve

    settings = _settings(state, database, k, config, host=host, port=port, workers=workers)
    serve(
        settings, host=settings.host, port=settings.port, address_file=address_file,
        workers=settings.workers,
    )  # fmt: skip


token_app = typer.Typer(no_args_is_help=True, help="Enrollment tokens.")
aggregator_app.add_typer(token_app, name="token")
period_app = typer.Typer(no_args_is_help=True, help="Reporting periods.")
aggregator_app.add_typer(period_app, name="period")
institution_app = typer.Typer(no_args_is_help=True, help="Enrolled institutions.")
aggregator_app.add_typer(institution_app, name="institution")


@token_app.command("create")
@friendly
def token_create(
    institution: Annotated[str, typer.Option(help="Institution name.")],
    discipline: Annotated[str, typer.Option(help="Sector discipline, e.g. theater.")],
    province: Annotated[str, typer.Option(help="Province slug, e.g. utrecht.")],
    hours: Annotated[int, typer.Option(help="Hours until the token expires.")] = 72,
    state: State = Path("aggregator-state"),
    database: DatabaseUrl = None,
    size_class: Annotated[
        str, typer.Option(help="Peer-group size class: small, medium or large (ADR 0007).")
    ] = "medium",
) -> None:
    """Print a single-use, expiring enrollment token for one institution."""
    from datetime import timedelta

    from aggregator.enrollment import create_token

    db = _aggregator_db(state, database)
    institution_id, token = create_token(
        db, name=institution, discipline=discipline, province=province,
        valid_for=timedelta(hours=hours), size_class=size_class,
    )  # fmt: skip
    typer.echo(f"institution {institution_id}: token (valid {hours} h, single use):", err=True)
    typer.echo(token)


@period_app.command("open")
@friendly
def period_open(
    period: Annotated[str, typer.Argument(help="Quarter label, e.g. 2026-Q3 (no months).")],
    rho: Annotated[
        float | None,
        typer.Option(
            help="Privacy budget per institution (zCDP ρ; default: period_rho of the config, "
            "ε = 1 at δ = 1e-7)."
        ),
    ] = None,
    epsilon: Annotated[
        float | None,
        typer.Option(help="The budget as ε at the config's period_delta (instead of --rho)."),
    ] = None,
    state: State = Path("aggregator-state"),
    database: DatabaseUrl = None,
    config: ConfigFile = None,
) -> None:
    """Open a quarter for submissions and fix its signed period config."""
    from aggregator.periods import open_period
    from aggregator.settings import period_rho_for
    from protocol.errors import UsageError
    from protocol.messages import check_period

    check_period(period)
    settings = _settings(state, database, config=config)
    if rho is not None and epsilon is not None:
        raise UsageError("give the budget as --rho or as --epsilon, not both")
    if epsilon is not None:
        if not epsilon > 0:
            raise UsageError("--epsilon must be positive")
        rho = period_rho_for(epsilon, settings.period_delta)
    budget = float(settings.period_rho if rho is None else rho)
    opened = open_period(
        _aggregator_db(state, database, config), period, rho_budget=budget,
        delta=settings.period_delta, mechanism=settings.period_mechanism, k=settings.k,
    )  # fmt: skip
    typer.echo(
        f"period {period} is open (ρ budget {opened.rho_budget:g} per institution, "
        f"δ {opened.delta}, {opened.mechanism}, design {opened.design})"
    )


@period_app.command("config")
@friendly
def period_config_out(
    period: Annotated[str, typer.Argument(help="Quarter label, e.g. 2026-Q3.")],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write the signed config here (default: standard output)."),
    ] = None,
    state: State = Path("aggregator-state"),
    database: DatabaseUrl = None,
    config: ConfigFile = None,
) -> None:
    """Write the period's signed config, for agents that export offline (--period-config)."""
    from aggregator.keyring import Keyring
    from aggregator.periods import get_period, period_config

    db = _aggregator_db(state, database, config)
    key = Keyring(_settings(state, database, config=config), db).receipt_key()
    text = json.dumps(period_config(get_period(db, period), key).to_dict(), indent=2) + "\n"
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote the signed period config for {period} to {out}", err=True)


@institution_app.command("revoke")
@friendly
def institution_revoke(
    institution_id: Annotated[str, typer.Argument(help="Institution id (slug).")],
    state: State = Path("aggregator-state"),
    database: DatabaseUrl = None,
) -> None:
    """Revoke an institution: every later submission from it is refused."""
    from aggregator.enrollment import revoke

    revoke(_aggregator_db(state, database), institution_id)
    typer.echo(f"institution {institution_id} revoked")


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
    from agent.enrollment import enroll
    from agent.workspace import Workspace as AgentWorkspace
    from protocol.keys import SealPrivateKey

    ws = AgentWorkspace(workspace)
    config = enroll(ws, aggregator, token, custodian_key=custodian_key)
    typer.echo(f"enrolled as {config.institution_id} ({config.discipline}, {config.province})")
    sealing_id = SealPrivateKey.load(ws.seal_key_path).public.key_id
    typer.echo(f"sealing key id (tell the custodian): {sealing_id}")


@agent_app.command("submit")
@friendly
def agent_submit(
    period: Annotated[str, typer.Option(help="Quarter label, e.g. 2026-Q3.")],
    workspace: Workspace = Path("publiek-workspace"),
    segment_model: Annotated[
        Path | None, typer.Option(help="Segment model file (default: synthetic demo model).")
    ] = None,
) -> None:
    """Check the period with the aggregator, then release the DP tables (or reuse the
    stored release), seal and send them. Nothing is drawn for a period that is
    unknown, not open, out of budget, or when this institution is revoked."""
    from agent.segments import SegmentModel, synthetic_demo_model
    from agent.submit import submit_period
    from agent.workspace import Workspace as AgentWorkspace

    ws = AgentWorkspace(workspace)
    model = SegmentModel.load(segment_model) if segment_model else synthetic_demo_model()
    done = submit_period(ws, period, model)
    release, receipt = done.release, done.receipt
    reused = " (stored release reused, no new noise)" if release.reused else ""
    typer.echo(
        f"submitted {release.payload.submission_id}{reused}: log index {receipt['log_index']}, "
        f"ρ={release.payload.privacy.rho:g} of the period's {done.period_config.rho_budget:g} "
        f"(ε={release.payload.privacy.epsilon:.2f}, δ={release.payload.privacy.delta:g})"
    )


def _fetch_log(aggregator: str, token: str | None) -> list[dict[str, Any]]:
    """Every log entry, page by page (GET /v1/log is paginated and needs a staff token)."""
    import httpx

    from protocol.errors import UsageError

    if not token:
        raise UsageError(
            "reading the transparency log needs a privacy-officer or taskforce token",
            hint="pass --token or set PUBLIEK_TOKEN (publiek aggregator user token NAME)",
        )
    entries: list[dict[str, Any]] = []
    offset: int | None = 0
    with httpx.Client(base_url=aggregator, timeout=60) as client:
        while offset is not None:
            page = (
                client.get(
                    "/v1/log",
                    params={"offset": offset, "limit": 500},
                    headers={"authorization": f"Bearer {token}"},
                )
                .raise_for_status()
                .json()
            )
            entries.extend(page["entries"])
            offset = page.get("next_offset")
    return entries


@app.command("demo")
@friendly
def demo(
    workspace: Annotated[
        Path, typer.Option("--workspace", "-w", help="Folder for the demo's state.")
    ] = Path("demo-workspace"),
    institutions: Annotated[int, typer.Option(help="Number of synthetic institutions.")] = 16,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic sector.")] = 7,
) -> None:
    """Run the whole system end to end on a synthetic sector."""
    from demo.run import run_demo

    run_demo(workspace, institutions=institutions, seed=seed, progress=typer.echo)


# --- protocol: key rotation, sector-key custodian, offline path, audit (issue 6) ---

key_app = typer.Typer(no_args_is_help=True, help="The aggregator's intake keys (rotation).")
aggregator_app.add_typer(key_app, name="key")
agg_custodian_app = typer.Typer(no_args_is_help=True, help="The custodian key the relay accepts.")
aggregator_app.add_typer(agg_custodian_app, name="custodian")
custodian_app = typer.Typer(no_args_is_help=True, help="Sector-key custodian (taskforce role).")
app.add_typer(custodian_app, name="custodian")
audit_app = typer.Typer(no_args_is_help=True, help="Independent checks of the aggregator.")
app.add_typer(audit_app, name="audit")
sector_key_app = typer.Typer(no_args_is_help=True, help="The period's sector key.")
agent_app.add_typer(sector_key_app, name="sector-key")
receipt_app = typer.Typer(no_args_is_help=True, help="Receipts from the aggregator.")
agent_app.add_typer(receipt_app, name="receipt")

CustodianDir = Annotated[
    Path,
    typer.Option("--state", help="Custodian state folder.", envvar="PUBLIEK_CUSTODIAN_STATE"),
]


def _keyring(state: Path, database: str | None) -> Any:
    from aggregator.keyring import Keyring

    return Keyring(_settings(state, database), _aggregator_db(state, database))


@key_app.command("list")
@friendly
def key_list(state: State = Path("aggregator-state"), database: DatabaseUrl = None) -> None:
    """List every intake key with its state (pending, active, retired)."""
    keyring = _keyring(state, database)
    current = {k["key_id"] for k in keyring.published() if k["current"]}
    for key in keyring.all_keys():
        mark = " (current)" if key["key_id"] in current else ""
        typer.echo(f"{key['key_id']} {key['state']}{mark}")


@key_app.command("create")
@friendly
def key_create(state: State = Path("aggregator-state"), database: DatabaseUrl = None) -> None:
    """Create a pending intake key (published, so agents can fetch it before it is active)."""
    typer.echo(_keyring(state, database).create())


@key_app.command("activate")
@friendly
def key_activate(
    key_id: Annotated[str, typer.Argument(help="Key id of a pending key.")],
    state: State = Path("aggregator-state"),
    database: DatabaseUrl = None,
) -> None:
    """pending → active: new envelopes are sealed to it; older active keys stay valid."""
    _keyring(state, database).activate(key_id)
    typer.echo(f"key {key_id} is active")


@key_app.command("retire")
@friendly
def key_retire(
    key_id: Annotated[str, typer.Argument(help="Key id to retire.")],
    state: State = Path("aggregator-state"),
    database: DatabaseUrl = None,
) -> None:
    """→ retired: envelopes sealed to it are refused from now on."""
    _keyring(state, database).retire(key_id)
    typer.echo(f"key {key_id} is retired")


@aggregator_app.command("import")
@friendly
def aggregator_import(
    file: Annotated[Path, typer.Argument(help="Envelope file from `publiek agent export`.")],
    receipt_out: Annotated[
        Path | None, typer.Option(help="Write the signed receipt here (JSON) for the agent.")
    ] = None,
    state: State = Path("aggregator-state"),
    database: DatabaseUrl = None,
) -> None:
    """Accept an exported envelope through exactly the same intake as HTTP."""
    from aggregator.intake import Intake

    keyring = _keyring(state, database)
    receipt = Intake(keyring.db, keyring).accept_file(file)
    doc = json.dumps(receipt.to_dict(), indent=2, sort_keys=True)
    if receipt_out:
        receipt_out.write_text(doc + "\n", encoding="utf-8")
    typer.echo(
        f"accepted {receipt.submission_id} from {receipt.institution_id} "
        f"({receipt.period}): log index {receipt.log_index}"
    )


@agg_custodian_app.command("register")
@friendly
def aggregator_custodian_register(
    key: Annotated[str, typer.Option("--key", help="Custodian public key (base64url).")],
    state: State = Path("aggregator-state"),
    database: DatabaseUrl = None,
) -> None:
    """Accept sealed sector keys signed by this custodian key."""
    from aggregator.custodian import register_custodian
    from protocol.keys import VerifyKey

    key_id = register_custodian(_aggregator_db(state, database), VerifyKey.from_text(key))
    typer.echo(f"custodian key {key_id} registered")


@custodian_app.command("init")
@friendly
def custodian_init(state: CustodianDir = Path("custodian-state")) -> None:
    """Create the custodian signing key; print its public half for agents to pin."""
    from custodian.state import CustodianState
    from protocol.keys import fingerprint

    public = CustodianState(state).init().public
    typer.echo(f"fingerprint {fingerprint(public)}; give agents this key out of band:", err=True)
    typer.echo(public.to_text())


@custodian_app.command("approve")
@friendly
def custodian_approve(
    institution: Annotated[str, typer.Option(help="Institution id.")],
    key_id: Annotated[str, typer.Option(help="The sealing key id the agent printed.")],
    state: CustodianDir = Path("custodian-state"),
) -> None:
    """Approve an agent's sealing key (confirmed with the institution out of band)."""
    from custodian.state import CustodianState

    CustodianState(state).approve(institution, key_id)
    typer.echo(f"{institution}: sealing key {key_id} approved")


@custodian_app.command("distribute")
@friendly
def custodian_distribute(
    period: Annotated[str, typer.Option(help="Period label, e.g. 2026-Q3.")],
    aggregator: Annotated[str, typer.Option("--aggregator", help="Aggregator base URL.")],
    token: Annotated[
        str,
        typer.Option(
            "--token", envvar="PUBLIEK_TOKEN", help="Taskforce API token (the custodian's)."
        ),
    ],
    state: CustodianDir = Path("custodian-state"),
    trust_new: Annotated[
        bool, typer.Option(help="Approve institutions seen for the first time (TOFU).")
    ] = False,
) -> None:
    """Create the period's sector key (once) and relay it sealed to each approved agent."""
    from custodian.distribute import distribute
    from custodian.state import CustodianState

    result = distribute(CustodianState(state), aggregator, period, token=token, trust_new=trust_new)
    typer.echo(f"{period}: sector key sealed to {len(result.sealed)} agents")
    for institution_id, kid in result.awaiting_approval:
        typer.echo(f"  not approved yet: {institution_id} (sealing key {kid})")
    for institution_id, kid in result.key_changed:
        typer.echo(f"  KEY CHANGED, refused: {institution_id} now shows sealing key {kid}")


@sector_key_app.command("fetch")
@friendly
def agent_sector_key_fetch(
    period: Annotated[str, typer.Option(help="Period label, e.g. 2026-Q3.")],
    workspace: Workspace = Path("publiek-workspace"),
) -> None:
    """Fetch the period's sealed sector key, verify it under the pinned custodian key."""
    from agent.sector_keys import fetch_sector_key
    from agent.workspace import Workspace as AgentWorkspace

    fp = fetch_sector_key(AgentWorkspace(workspace), period)
    typer.echo(f"sector key for {period} installed (custodian {fp})")


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
        Path | None, typer.Option(help="Segment model file (default: synthetic demo model).")
    ] = None,
) -> None:
    """Seal the period's release to a file for `publiek aggregator import`."""
    from agent.export import export_release
    from agent.segments import SegmentModel, synthetic_demo_model
    from agent.workspace import Workspace as AgentWorkspace

    ws = AgentWorkspace(workspace)
    model = SegmentModel.load(segment_model) if segment_model else synthetic_demo_model()
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

    receipt = add_receipt(AgentWorkspace(workspace), file)
    typer.echo(f"receipt for {receipt.submission_id} kept (log index {receipt.log_index})")


@audit_app.command("verify-log")
@friendly
def audit_verify_log(
    aggregator: Annotated[
        str | None, typer.Option("--aggregator", help="Fetch the log from this URL.")
    ] = None,
    log: Annotated[
        Path | None, typer.Option("--log", help="Or read a saved log (GET /v1/log) file.")
    ] = None,
    receipt: Annotated[
        Path | None, typer.Option("--receipt", help="Also check this receipt is in the log.")
    ] = None,
    receipt_key: Annotated[
        str | None, typer.Option(help="Aggregator receipt public key to check the receipt with.")
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar="PUBLIEK_TOKEN",
            help="Privacy-officer or taskforce API token (the log is not public).",
        ),
    ] = None,
) -> None:
    """Recompute the whole hash chain; optionally check a receipt's signature and entry."""
    import httpx

    from protocol.errors import ServiceUnavailable, UsageError
    from protocol.keys import VerifyKey
    from protocol.messages import Receipt
    from protocol.translog import verify_chain, verify_receipt, verify_receipt_in_log

    if (aggregator is None) == (log is None):
        raise UsageError("give exactly one of --aggregator URL or --log FILE")
    try:
        if aggregator is None:
            doc = json.loads(Path(str(log)).read_text(encoding="utf-8"))
        else:
            doc = {"entries": _fetch_log(aggregator, token)}
            if receipt is not None and receipt_key is None:
                keys = httpx.get(f"{aggregator}/v1/keys", timeout=60).raise_for_status().json()
                receipt_key = str(keys["receipt_key"])
    except httpx.HTTPError as exc:
        raise ServiceUnavailable(f"cannot read the log from {aggregator}: {exc}") from exc
    except ValueError as exc:
        raise UsageError(f"{log} is not a saved log (JSON)") from exc
    entries = doc["entries"] if isinstance(doc, dict) and "entries" in doc else doc
    head = verify_chain(entries)
    typer.echo(f"log ok: {len(entries)} entries, head {head}")
    if receipt is not None:
        if receipt_key is None:
            raise UsageError("checking a receipt against a log file needs --receipt-key")
        r = Receipt.from_dict(json.loads(receipt.read_text(encoding="utf-8")))
        verify_receipt(r, VerifyKey.from_text(receipt_key))
        verify_receipt_in_log(r, entries)
        typer.echo(f"receipt ok: {r.submission_id} is log entry {r.log_index}")


# --- aggregator: periods, benchmarks, staff accounts (issue 7) ---

user_app = typer.Typer(no_args_is_help=True, help="Taskforce and privacy-officer accounts.")
aggregator_app.add_typer(user_app, name="user")


@period_app.command("close")
@friendly
def period_close(
    period: Annotated[str, typer.Argument(help="Period label, e.g. 2026-Q3.")],
    state: State = Path("aggregator-state"),
    database: DatabaseUrl = None,
    config: ConfigFile = None,
) -> None:
    """Stop intake for a period and compute its benchmarks (late submissions are refused)."""
    from aggregator.periods import close_period

    settings = _settings(state, database, config=config)
    result = close_period(_aggregator_db(state, database, config), period, k=settings.k)
    typer.echo(
        f"period {period} closed: {len(result.assignment)} institutions, "
        f"{len(result.groups)} peer groups (k={result.k}); inputs digest {result.inputs_digest}"
    )


@period_app.command("publish")
@friendly
def period_publish(
    period: Annotated[str, typer.Argument(help="Period label, e.g. 2026-Q3.")],
    state: State = Path("aggregator-state"),
    database: DatabaseUrl = None,
    config: ConfigFile = None,
) -> None:
    """Make a closed period's benchmarks public."""
    from aggregator.periods import publish_period

    publish_period(_aggregator_db(state, database, config), period)
    typer.echo(f"period {period} published")


@period_app.command("reopen")
@friendly
def period_reopen(
    period: Annotated[str, typer.Argument(help="Period label, e.g. 2026-Q3.")],
    state: State = Path("aggregator-state"),
    database: DatabaseUrl = None,
    config: ConfigFile = None,
) -> None:
    """Admit late submissions: a closed, unpublished period opens again."""
    from aggregator.periods import reopen_period

    reopen_period(_aggregator_db(state, database, config), period)
    typer.echo(f"period {period} is open again; its benchmarks were discarded")


@aggregator_app.command("benchmarks")
@friendly
def aggregator_benchmarks(
    period: Annotated[str, typer.Option(help="Period label, e.g. 2026-Q3.")],
    fmt: Annotated[str, typer.Option("--format", help="csv, parquet or json.")] = "csv",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
    state: State = Path("aggregator-state"),
    database: DatabaseUrl = None,
    config: ConfigFile = None,
) -> None:
    """Export a closed or published period's benchmarks (every peer group and cell)."""
    import sys

    from aggregator import benchmarks, periods
    from aggregator.exports import export
    from protocol.errors import UsageError

    db = _aggregator_db(state, database, config)
    row = periods.get_period(db, period)
    if row.state == periods.OPEN:
        raise UsageError(
            f"period {period} is still open",
            hint=f"close it: publiek aggregator period close {period}",
        )
    with db.session() as s:
        groups = [
            {
                **benchmarks.group_summary(g.group_id, g.level, g.merged_from, len(g.members)),
                "cells": benchmarks.readable_cells(g.cells),
            }
            for g in benchmarks.stored(s, period)
        ]
    data = export(period, groups, fmt)
    if output is None:
        if fmt == "parquet":
            raise UsageError("Parquet is binary", hint="write it to a file with --output")
        sys.stdout.buffer.write(data)
    else:
        output.write_bytes(data)
        typer.echo(f"wrote {len(data)} bytes to {output}", err=True)


@user_app.command("add")
@friendly
def user_add(
    username: Annotated[str, typer.Argument(help="Account name, e.g. j.jansen.")],
    role: Annotated[str, typer.Option(help="taskforce or privacy-officer.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
    state: State = Path("aggregator-state"),
    database: DatabaseUrl = None,
    config: ConfigFile = None,
) -> None:
    """Create a staff account (the password is stored as an argon2id hash)."""
    import sys

    from aggregator.auth import create_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    create_user(_aggregator_db(state, database, config), username, role, password)
    typer.echo(f"user {username} ({role}) created")


@user_app.command("token")
@friendly
def user_token(
    username: Annotated[str, typer.Argument(help="Account name.")],
    days: Annotated[int, typer.Option(help="Days until the token expires.")] = 90,
    state: State = Path("aggregator-state"),
    database: DatabaseUrl = None,
    config: ConfigFile = None,
) -> None:
    """Print a new API token for a staff account (shown once)."""
    from datetime import timedelta

    from aggregator.auth import issue_token

    token = issue_token(
        _aggregator_db(state, database, config), username, valid_for=timedelta(days=days)
    )
    typer.echo(f"API token for {username} (valid {days} days; send as Authorization: Bearer):",
               err=True)  # fmt: skip
    typer.echo(token)


@user_app.command("disable")
@friendly
def user_disable(
    username: Annotated[str, typer.Argument(help="Account name.")],
    state: State = Path("aggregator-state"),
    database: DatabaseUrl = None,
    config: ConfigFile = None,
) -> None:
    """Disable a staff account: its tokens stop working at once."""
    from aggregator.auth import disable_user

    disable_user(_aggregator_db(state, database, config), username)
    typer.echo(f"user {username} disabled")


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

    ws = AgentWorkspace(workspace)
    typer.echo(format_ledger(ws, lambda p: release_config(ws, p).period_budget, period))


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

    inspection = inspect_submission(AgentWorkspace(workspace), submission)
    typer.echo(inspection_json(inspection) if as_json else format_inspection(inspection))
    if inspection.sealed and not inspection.matches:
        raise typer.Exit(1)


def main() -> None:
    app(prog_name="publiek")


if __name__ == "__main__":
    main()
