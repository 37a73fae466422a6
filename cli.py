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
    from agent.ingest import ingest_exports
    from agent.ingest.mapping import Mapping
    from agent.workspace import Workspace as AgentWorkspace

    report = ingest_exports(exports, Mapping.load(mapping), AgentWorkspace(workspace))
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


def main() -> None:
    app(prog_name="publiek")


if __name__ == "__main__":
    main()
