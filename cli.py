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

    return wrapper  # type: ignore[return-value]


@app.callback()
def main_options(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show tracebacks.")] = False,
) -> None:
    """Publiek: privacy-preserving audience benchmarks for the cultural sector."""
    _state["verbose"] = verbose


@agent_app.command("ingest")
@friendly
def agent_ingest(
    exports: Annotated[list[Path], typer.Argument(help="Box-office export files.")],
    mapping: Annotated[Path, typer.Option("--mapping", "-m", help="Mapping file (TOML).")],
    workspace: Workspace = Path("publiek-workspace"),
    report_json: Annotated[
        Path | None, typer.Option("--report-json", help="Write the ingest report as JSON here.")
    ] = None,
) -> None:
    """Normalise exports into canonical household visits in the workspace."""
    from agent.ingest import ingest_exports
    from agent.ingest.mapping import Mapping
    from agent.workspace import Workspace as AgentWorkspace

    report = ingest_exports(exports, Mapping.load(mapping), AgentWorkspace(workspace))
    typer.echo(
        f"read {report.rows_read} rows: {report.rows_accepted} accepted, "
        f"{report.rows_rejected} rejected {report.rejected_by_reason or ''}; "
        f"{report.households} households"
    )
    if report_json:
        report_json.write_text(json.dumps(report.to_dict(), indent=2), encoding="utf-8")


State = Annotated[
    Path,
    typer.Option("--state", help="Aggregator state folder.", envvar="PUBLIEK_AGGREGATOR_STATE"),
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database", help="SQLAlchemy URL (default: SQLite in the state folder)."),
]


def _settings(state: Path, database: str | None, k: int | None = None) -> Any:
    from aggregator.settings import DEFAULT_K, Settings

    state.mkdir(parents=True, exist_ok=True)
    return Settings(state_dir=state, database_url=database, k=k or DEFAULT_K)


def _aggregator_db(state: Path, database: str | None) -> Any:
    from aggregator.keyring import Keyring
    from aggregator.storage import Database

    settings = _settings(state, database)
    db = Database(settings.db_url)
    db.create_schema()
    Keyring(settings, db).ensure()
    return db


@aggregator_app.command("init")
@friendly
def aggregator_init(state: State = Path("aggregator-state"), database: DatabaseUrl = None) -> None:
    """Create the database schema and the aggregator's first keys."""
    _aggregator_db(state, database)
    typer.echo(f"aggregator state ready in {state}")


@aggregator_app.command("serve")
@friendly
def aggregator_serve(
    state: State = Path("aggregator-state"),
    database: DatabaseUrl = None,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0 picks a free one).")] = 8470,
    k: Annotated[int, typer.Option(help="Minimum institutions per published cell.")] = 5,
    address_file: Annotated[
        Path | None, typer.Option(help="Write the bound URL here once listening.")
    ] = None,
) -> None:
    """Run the aggregator's HTTP API and dashboard (uvicorn)."""
    from aggregator.server import serve

    serve(_settings(state, database, k), host=host, port=port, address_file=address_file)


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
) -> None:
    """Print a single-use, expiring enrollment token for one institution."""
    from datetime import timedelta

    from aggregator.enrollment import create_token

    db = _aggregator_db(state, database)
    institution_id, token = create_token(
        db, name=institution, discipline=discipline, province=province,
        valid_for=timedelta(hours=hours),
    )  # fmt: skip
    typer.echo(f"institution {institution_id}: token (valid {hours} h, single use):", err=True)
    typer.echo(token)


@period_app.command("open")
@friendly
def period_open(
    period: Annotated[str, typer.Argument(help="Period label, e.g. 2026-Q3.")],
    rho: Annotated[float, typer.Option(help="Privacy budget per institution (zCDP ρ).")] = 0.5,
    state: State = Path("aggregator-state"),
    database: DatabaseUrl = None,
) -> None:
    """Open a period for submissions."""
    from aggregator.periods import open_period

    open_period(_aggregator_db(state, database), period, rho_budget=rho)
    typer.echo(f"period {period} is open (ρ budget {rho:g} per institution)")


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
    token: Annotated[str, typer.Option("--token", help="Enrollment token from the taskforce.")],
    workspace: Workspace = Path("publiek-workspace"),
) -> None:
    """Generate this agent's keys and register their public halves."""
    from agent.enrollment import enroll
    from agent.workspace import Workspace as AgentWorkspace

    config = enroll(AgentWorkspace(workspace), aggregator, token)
    typer.echo(f"enrolled as {config.institution_id} ({config.discipline}, {config.province})")


@agent_app.command("submit")
@friendly
def agent_submit(
    period: Annotated[str, typer.Option(help="Period label, e.g. 2026-Q3.")],
    workspace: Workspace = Path("publiek-workspace"),
    segment_model: Annotated[
        Path | None, typer.Option(help="Segment model file (default: synthetic demo model).")
    ] = None,
) -> None:
    """Release the period's DP tables (or reuse the stored release), seal and send them."""
    from agent.client import AggregatorClient
    from agent.release import prepare_release, seal_to_outbox, store_receipt
    from agent.release_config import release_config
    from agent.segments import SegmentModel, synthetic_demo_model
    from agent.workspace import Workspace as AgentWorkspace

    ws = AgentWorkspace(workspace)
    model = SegmentModel.load(segment_model) if segment_model else synthetic_demo_model()
    release = prepare_release(ws, period, model, release_config(ws, period))
    with AggregatorClient(ws.load_config().aggregator_url) as client:
        envelope = seal_to_outbox(ws, release.payload, client.current_key())
        receipt = client.submit(envelope.read_bytes())
    store_receipt(ws, release.payload.submission_id, receipt)
    reused = " (stored release reused, no new noise)" if release.reused else ""
    typer.echo(
        f"submitted {release.payload.submission_id}{reused}: log index {receipt['log_index']}, "
        f"ρ={release.payload.privacy.rho:g} (ε={release.payload.privacy.epsilon:.2f}, "
        f"δ={release.payload.privacy.delta:g})"
    )


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
