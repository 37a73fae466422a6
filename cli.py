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


def main() -> None:
    app(prog_name="publiek")


if __name__ == "__main__":
    main()
