"""The ``publiek`` command: thin wrappers that call into the packages.

This package and ``demo/`` are the only places that know both the agent and
the aggregator. Every command turns a :class:`PubliekError` into one line on
stderr and exit code 2; ``--verbose`` adds the traceback.

One module per role, in the order an operator meets them: ``agent`` (an
institution's IT), ``aggregator`` (the taskforce's server), ``custodian`` (the
sector-key custodian), ``segments`` (segment model releases, the model owner
and the taskforce), ``audit`` (independent checks) and ``demo``; ``errors``
holds the shared error reporting. Commands import what they use inside their
function, so that ``publiek`` starts quickly (cron).
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from cli.agent import agent_app
from cli.aggregator import aggregator_app
from cli.audit import audit_app
from cli.custodian import custodian_app
from cli.demo import demo as demo_command
from cli.errors import set_verbose
from cli.segments import segments_app
from protocol.state_files import restrict_umask

__all__ = ["app", "main"]

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Publiek: audience statistics for the cultural sector, without pooling personal data.",
)
app.add_typer(agent_app, name="agent")
app.add_typer(aggregator_app, name="aggregator")
app.add_typer(custodian_app, name="custodian")
app.add_typer(segments_app, name="segments")
app.add_typer(audit_app, name="audit")
app.command("demo")(demo_command)


@app.callback()
def main_options(
    ctx: typer.Context,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show tracebacks.")] = False,
) -> None:
    """Publiek: privacy-preserving audience benchmarks for the cultural sector."""
    set_verbose(verbose)
    # Every file a command creates is its owner's only, whatever the umask (ADR 0017);
    # put back when the command ends, for callers that run it in their own process.
    previous = restrict_umask()
    ctx.call_on_close(lambda: os.umask(previous))


def main() -> None:
    app(prog_name="publiek")
