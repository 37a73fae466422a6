"""``publiek custodian``: the sector-key custodian (a taskforce role).

Create the signing key once, approve each agent's sealing key as institutions
confirm it out of band, then each quarter distribute the period's sector key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.errors import friendly

# `custodian distribute` finished for every other agent but skipped at least one.
SKIPPED_EXIT_CODE = 3

custodian_app = typer.Typer(no_args_is_help=True, help="Sector-key custodian (taskforce role).")

CustodianDir = Annotated[
    Path,
    typer.Option("--state", help="Custodian state folder.", envvar="PUBLIEK_CUSTODIAN_STATE"),
]


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
    """Create the period's sector key (once) and relay it sealed to each approved agent.

    Exit code 0 when every listed agent was sealed to or is held back by the roster
    (not approved yet, key changed); 3 when the distribution finished for the others
    but skipped an agent whose listed key cannot be sealed to (named on stderr with
    the reason); 2 when nothing was distributed (ADR 0017)."""
    from custodian.distribute import distribute
    from custodian.state import CustodianState

    result = distribute(CustodianState(state), aggregator, period, token=token, trust_new=trust_new)
    n = len(result.sealed)
    typer.echo(f"{period}: sector key sealed to {n} agent{'' if n == 1 else 's'}")
    for institution_id, kid in result.awaiting_approval:
        typer.echo(f"  not approved yet: {institution_id} (sealing key {kid})")
    for institution_id, kid in result.key_changed:
        typer.echo(f"  KEY CHANGED, refused: {institution_id} now shows sealing key {kid}")
    if result.awaiting_approval or result.key_changed:
        typer.echo(
            "confirm each key id with its institution (the id its `agent enroll` printed), "
            "then: publiek custodian approve --institution ID --key-id KEY_ID, and run "
            "distribute again"
        )
    for name, reason in result.skipped:
        typer.echo(f"  SKIPPED: {name}: {reason}", err=True)
    if result.skipped:
        typer.echo(
            f"{len(result.skipped)} agent(s) skipped, the others have the sector key: revoke each "
            "skipped institution (publiek aggregator institution revoke ID) and have it enroll "
            "again with a new key",
            err=True,
        )
        raise typer.Exit(SKIPPED_EXIT_CODE)
