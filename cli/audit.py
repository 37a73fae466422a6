"""``publiek audit``: independent checks of the aggregator (privacy officer, taskforce)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.errors import friendly

if TYPE_CHECKING:
    from protocol.client import ProblemClient

audit_app = typer.Typer(no_args_is_help=True, help="Independent checks of the aggregator.")
Token = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="PUBLIEK_TOKEN",
        help="Privacy-officer or taskforce API token (what it reads is not public).",
    ),
]


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
    token: Token = None,
) -> None:
    """Recompute the whole hash chain and list the set-aside submissions; optionally
    check a receipt's signature and entry."""
    from protocol.client import ProblemClient
    from protocol.errors import UsageError
    from protocol.keys import VerifyKey
    from protocol.messages import Receipt
    from protocol.translog import (
        ERASED_REASON,
        SET_ASIDE,
        verify_chain,
        verify_receipt,
        verify_receipt_in_log,
    )

    if (aggregator is None) == (log is None):
        raise UsageError("give exactly one of --aggregator URL or --log FILE")
    if aggregator is None:
        try:
            doc = json.loads(Path(str(log)).read_text(encoding="utf-8"))
        except ValueError as exc:
            raise UsageError(f"{log} is not a saved log (JSON)") from exc
    else:
        if not token:
            raise UsageError(
                "reading the transparency log needs a privacy-officer or taskforce token",
                hint="pass --token or set PUBLIEK_TOKEN (publiek aggregator user token NAME)",
            )
        with ProblemClient(aggregator, token=token, timeout=60) as client:
            doc = {"entries": _fetch_log(client)}
            if receipt is not None and receipt_key is None:
                receipt_key = str(client.get("/v1/keys")["receipt_key"])
    entries = doc["entries"] if isinstance(doc, dict) and "entries" in doc else doc
    head = verify_chain(entries)
    typer.echo(f"log ok: {len(entries)} entries, head {head}")
    for entry in entries:
        if entry.get("kind") == SET_ASIDE:
            reason = entry.get("reason")
            typer.echo(
                f"entry {entry['log_index']}: submission {entry['submission_id']} of "
                f"{entry['institution_id']} ({entry['period']}) set aside at "
                f"{entry['appended_at']}: {ERASED_REASON if reason is None else reason}"
            )
    if receipt is not None:
        if receipt_key is None:
            raise UsageError("checking a receipt against a log file needs --receipt-key")
        r = Receipt.from_dict(json.loads(receipt.read_text(encoding="utf-8")))
        verify_receipt(r, VerifyKey.from_text(receipt_key))
        verify_receipt_in_log(r, entries)
        typer.echo(f"receipt ok: {r.submission_id} is log entry {r.log_index}")


def _fetch_log(client: ProblemClient) -> list[dict[str, Any]]:
    """Every log entry, page by page (GET /v1/log is paginated and needs a staff token)."""
    entries: list[dict[str, Any]] = []
    offset: int | None = 0
    while offset is not None:
        page = client.get("/v1/log", params={"offset": offset, "limit": 500})
        entries.extend(page["entries"])
        offset = page.get("next_offset")
    return entries


@audit_app.command("submissions")
@friendly
def audit_submissions(
    period: Annotated[str, typer.Argument(help="Period label, e.g. 2026-Q3.")],
    aggregator: Annotated[str, typer.Option("--aggregator", help="The aggregator's URL.")],
    token: Token = None,
) -> None:
    """A period's stored submissions with their status (accepted, left-out,
    set-aside) and why: ids, institutions and ρ, never a value."""
    from protocol.client import ProblemClient
    from protocol.errors import UsageError
    from protocol.messages import check_period

    check_period(period)
    if not token:
        raise UsageError(
            "listing a period's submissions needs a privacy-officer or taskforce token",
            hint="pass --token or set PUBLIEK_TOKEN (publiek aggregator user token NAME)",
        )
    items: list[dict[str, Any]] = []
    with ProblemClient(aggregator, token=token, timeout=60) as client:
        offset: int | None = 0
        while offset is not None:
            page = client.get(
                f"/v1/periods/{period}/submissions", params={"offset": offset, "limit": 500}
            )
            items.extend(page["submissions"])
            offset = page.get("next_offset")
    typer.echo(f"period {period}: {len(items)} stored submissions")
    for item in items:
        why = f": {item['reason']}" if item.get("reason") else ""
        typer.echo(
            f"{item['submission_id']} {item['institution_id']} log {item['log_index']} "
            f"{item['status']}{why}"
        )
