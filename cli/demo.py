"""``publiek demo``: the whole system end to end on a synthetic sector."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.aggregator import AGGREGATOR_MODULES
from cli.errors import friendly, require_extra


@friendly
def demo(
    workspace: Annotated[
        Path, typer.Option("--workspace", "-w", help="Folder for the demo's state.")
    ] = Path("demo-workspace"),
    institutions: Annotated[int, typer.Option(help="Number of synthetic institutions.")] = 24,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic sector.")] = 7,
    serve: Annotated[
        bool, typer.Option("--serve", help="Keep the aggregator and its dashboard up until Ctrl-C.")
    ] = False,
) -> None:
    """Run the whole system end to end on a synthetic sector."""
    require_extra("demo", (*AGGREGATOR_MODULES, "faker"))
    from demo.run import run_demo

    run_demo(workspace, institutions=institutions, seed=seed, progress=typer.echo, serve=serve)
