"""``publiek aggregator``: the central aggregator (run by the taskforce).

In the order an operator works: set up the state (``init``) and run the
server (``serve``); create the staff accounts, register the custodian key and
rotate intake keys; enroll institutions (``token create``); each quarter open
the period, hand its signed config to offline agents, import their envelopes,
close, publish (or reopen) and export the benchmarks; set aside a stored
submission that should not count; revoke an institution that leaves.

Every command takes ``--state``, ``--database`` and ``--config``, declared once
here (:func:`aggregator_command`), and loads its settings and database the
same way (:class:`Aggregator`): the defaults, then the config file (``--config``,
or ``STATE/aggregator.toml`` when present), then the flags.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.errors import friendly, require_extra

if TYPE_CHECKING:
    from aggregator.keyring import Keyring
    from aggregator.settings import Settings
    from aggregator.storage import Database

aggregator_app = typer.Typer(
    no_args_is_help=True, help="Central aggregator (run by the taskforce)."
)
user_app = typer.Typer(no_args_is_help=True, help="Taskforce and privacy-officer accounts.")
custodian_app = typer.Typer(no_args_is_help=True, help="The custodian key the relay accepts.")
key_app = typer.Typer(no_args_is_help=True, help="The aggregator's intake keys (rotation).")
token_app = typer.Typer(no_args_is_help=True, help="Enrollment tokens.")
period_app = typer.Typer(no_args_is_help=True, help="Reporting periods.")
institution_app = typer.Typer(no_args_is_help=True, help="Enrolled institutions.")
segment_model_app = typer.Typer(
    no_args_is_help=True, help="Segment model releases: the model key, publishing releases."
)
submission_app = typer.Typer(
    no_args_is_help=True, help="Stored submissions: their status, setting one aside."
)
for _group, _name in [
    (user_app, "user"), (custodian_app, "custodian"), (key_app, "key"), (token_app, "token"),
    (period_app, "period"), (institution_app, "institution"), (submission_app, "submission"),
    (segment_model_app, "segment-model"),
]:  # fmt: skip
    aggregator_app.add_typer(_group, name=_name)

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
_SHARED_OPTIONS = [
    inspect.Parameter(
        "state", inspect.Parameter.KEYWORD_ONLY, default=Path("aggregator-state"), annotation=State
    ),
    inspect.Parameter(
        "database", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=DatabaseUrl
    ),
    inspect.Parameter(
        "config", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=ConfigFile
    ),
]
# What aggregator/ imports beyond the core dependencies (the `aggregator` extra in
# pyproject.toml; psycopg, httptools and uvloop are only loaded when present or asked for).
AGGREGATOR_MODULES = ("fastapi", "uvicorn", "sqlalchemy", "alembic", "argon2", "numpy")


def _count(n: int, noun: str) -> str:
    """ "1 institution", "5 institutions": counts as the operator reads them."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


class Aggregator:
    """The aggregator's settings and database, loaded the same way for every command."""

    def __init__(self, state: Path, database: str | None, config: Path | None) -> None:
        self.state, self.database, self.config = state, database, config

    def load_settings(self, **overrides: Any) -> Settings:
        """Defaults ← the config file ← --database and ``overrides`` (those not None).

        The state folder is made (0700) first, and anything in it that others could
        read is made private, one warning line per path (ADR 0017)."""
        from aggregator.settings import load_settings, make_state_private
        from protocol.state_files import PRIVATE_DIR_MODE

        self.state.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
        settings = load_settings(self.state, self.config, database_url=self.database, **overrides)
        for repaired in make_state_private(settings):
            typer.echo(repaired.warning(), err=True)
        return settings

    @cached_property
    def settings(self) -> Settings:
        return self.load_settings()

    def database_url(self) -> str:
        """The database URL in use, for a message about it: ``--database``, else the
        config's (a URL that broke loading the settings is the flag's or the file's)."""
        if self.database is not None:
            return self.database
        from aggregator.settings import load_settings

        return load_settings(self.state, self.config).db_url

    @cached_property
    def keyring(self) -> Keyring:
        """The keyring on the settings' database, its schema current and first keys made."""
        from aggregator.keyring import Keyring
        from aggregator.storage import Database

        # A command may run beside the server or another command (SQLite: see Database).
        db = Database(self.settings.db_url, write_lock_first=True)
        db.create_schema()
        keyring = Keyring(self.settings, db)
        keyring.ensure()
        return keyring

    @property
    def db(self) -> Database:
        db: Database = self.keyring.db
        return db


def aggregator_command(group: typer.Typer, name: str) -> Callable[[Callable[..., Any]], Any]:
    """Register ``func`` as command ``name`` of ``group`` with --state, --database and
    --config added to its options; it is called with ``agg``, the :class:`Aggregator`
    they select, and its failures are reported by :func:`cli.errors.friendly`."""

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        own = inspect.signature(func, eval_str=True)
        params = [p for p in own.parameters.values() if p.name != "agg"]

        def command(**options: Any) -> Any:
            require_extra("aggregator", AGGREGATOR_MODULES)
            from aggregator.database_url import DATABASE_ERRORS, explain

            agg = Aggregator(options.pop("state"), options.pop("database"), options.pop("config"))
            try:
                return func(**options, agg=agg)
            except DATABASE_ERRORS as exc:
                # The driver's message may quote the URL with its password: one
                # line naming the cause, the URL redacted (aggregator.database_url).
                raise explain(exc, agg.database_url()) from exc

        for attr in ("__module__", "__name__", "__qualname__", "__doc__"):
            setattr(command, attr, getattr(func, attr))
        command.__signature__ = own.replace(parameters=[*params, *_SHARED_OPTIONS])  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in [*params, *_SHARED_OPTIONS]}
        group.command(name)(friendly(command))
        return func

    return register


@aggregator_command(aggregator_app, "init")
def aggregator_init(*, agg: Aggregator) -> None:
    """Create or upgrade the database schema (alembic), the first keys and a config file."""
    from aggregator.migrations import current
    from aggregator.settings import write_default_config

    db = agg.db
    written = write_default_config(agg.settings) if agg.config is None else agg.config
    typer.echo(
        f"aggregator state ready in {agg.state} (schema revision {current(db.engine)}, "
        f"{db.dialect}); config: {written}"
    )


@aggregator_command(aggregator_app, "serve")
def aggregator_serve(
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
    *,
    agg: Aggregator,
) -> None:
    """Run the aggregator's HTTP API and dashboard (uvicorn).

    Prints the URL it listens on, the database it uses (password hidden) and
    where it logs, so an operator starting it by hand knows where to point agents
    and where to look: warnings and errors go to standard error (no access log),
    which a service manager (systemd's journal) or a shell redirect keeps."""
    from aggregator.database_url import redact
    from aggregator.server import serve

    settings = agg.load_settings(k=k, host=host, port=port, workers=workers)

    def announce(url: str) -> None:
        typer.echo(
            f"publiek aggregator listening on {url} (dashboard {url}/, API {url}/v1/); "
            f"state {agg.state}, database {redact(settings.db_url)}; "
            "log: warnings and errors to standard error; stop with Ctrl-C",
            err=True,
        )

    serve(
        settings, host=settings.host, port=settings.port, address_file=address_file,
        workers=settings.workers, announce=announce,
    )  # fmt: skip


@aggregator_command(user_app, "add")
def user_add(
    username: Annotated[str, typer.Argument(help="Account name, e.g. j.jansen.")],
    role: Annotated[str, typer.Option(help="taskforce or privacy-officer.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
    *,
    agg: Aggregator,
) -> None:
    """Create a staff account (the password is stored as an argon2id hash)."""
    from aggregator.auth import create_user

    create_user(agg.db, username, role, _read_password(password_stdin))
    typer.echo(f"user {username} ({role}) created")


def _read_password(from_stdin: bool) -> str:
    """The new password: one line of stdin (scripts), else asked twice, hidden."""
    import sys

    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(typer.prompt("password", hide_input=True, confirmation_prompt=True))


@aggregator_command(user_app, "token")
def user_token(
    username: Annotated[str, typer.Argument(help="Account name.")],
    days: Annotated[int, typer.Option(help="Days until the token expires.")] = 90,
    *,
    agg: Aggregator,
) -> None:
    """Print a new API token for a staff account (shown once)."""
    from datetime import timedelta

    from aggregator.auth import issue_token

    token = issue_token(agg.db, username, valid_for=timedelta(days=days))
    typer.echo(f"API token for {username} (valid {days} days; send as Authorization: Bearer):",
               err=True)  # fmt: skip
    typer.echo(token)


@aggregator_command(user_app, "disable")
def user_disable(
    username: Annotated[str, typer.Argument(help="Account name.")],
    *,
    agg: Aggregator,
) -> None:
    """Disable a staff account: its tokens stop working at once."""
    from aggregator.auth import disable_user

    disable_user(agg.db, username)
    typer.echo(f"user {username} disabled")


@aggregator_command(user_app, "enable")
def user_enable(
    username: Annotated[str, typer.Argument(help="Account name.")],
    *,
    agg: Aggregator,
) -> None:
    """Enable a disabled account again; its old API tokens stay revoked."""
    from aggregator.auth import enable_user

    revoked = enable_user(agg.db, username)
    typer.echo(
        f"user {username} enabled ({revoked} old API tokens revoked; get a new one: "
        f"publiek aggregator user token {username})"
    )


@aggregator_command(user_app, "password")
def user_password(
    username: Annotated[str, typer.Argument(help="Account name.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the new password from stdin.")
    ] = False,
    *,
    agg: Aggregator,
) -> None:
    """Set a new password for an account and revoke its API tokens (a reset)."""
    from aggregator.auth import set_password

    revoked = set_password(agg.db, username, _read_password(password_stdin))
    typer.echo(f"password of {username} changed; {revoked} API tokens revoked")


@aggregator_command(custodian_app, "register")
def aggregator_custodian_register(
    key: Annotated[str, typer.Option("--key", help="Custodian public key (base64url).")],
    *,
    agg: Aggregator,
) -> None:
    """Accept sealed sector keys signed by this custodian key."""
    from aggregator.custodian import register_custodian
    from protocol.keys import VerifyKey, fingerprint

    verify_key = VerifyKey.from_text(key)
    register_custodian(agg.db, verify_key)
    # The fingerprint as `custodian init` printed it, to compare by eye.
    typer.echo(f"custodian key {fingerprint(verify_key)} registered")


@aggregator_command(segment_model_app, "register-key")
def segment_model_register_key(
    key: Annotated[str, typer.Option("--key", help="The taskforce's model key (base64url).")],
    *,
    agg: Aggregator,
) -> None:
    """Accept segment model releases signed by this model key."""
    from aggregator.segment_models import register_model_key
    from protocol.keys import VerifyKey, fingerprint

    verify_key = VerifyKey.from_text(key)
    register_model_key(agg.db, verify_key)
    typer.echo(f"model key {fingerprint(verify_key)} registered")


@aggregator_command(segment_model_app, "publish")
def segment_model_publish(
    file: Annotated[Path, typer.Argument(help="The release file (VERSION.segments).")],
    *,
    agg: Aggregator,
) -> None:
    """Verify a release under the registered model key and serve it to agents."""
    from aggregator.segment_models import publish_release
    from protocol.segment_release import read_release_file

    published, new = publish_release(agg.db, read_release_file(file), where=str(file))
    label = " (synthetic)" if published.synthetic else ""
    state = "published" if new else "already published, unchanged"
    typer.echo(f"segment model {published.version}{label} {state}: digest {published.digest}")


@aggregator_command(key_app, "list")
def key_list(*, agg: Aggregator) -> None:
    """List every intake key with its state (pending, active, retired)."""
    keyring = agg.keyring
    current = {k["key_id"] for k in keyring.published() if k["current"]}
    for key in keyring.all_keys():
        mark = " (current)" if key["key_id"] in current else ""
        typer.echo(f"{key['key_id']} {key['state']}{mark}")


@aggregator_command(key_app, "create")
def key_create(*, agg: Aggregator) -> None:
    """Create a pending intake key (published, so agents can fetch it before it is active)."""
    typer.echo(agg.keyring.create())


@aggregator_command(key_app, "activate")
def key_activate(
    key_id: Annotated[str, typer.Argument(help="Key id of a pending key.")],
    *,
    agg: Aggregator,
) -> None:
    """pending → active: new envelopes are sealed to it; older active keys stay valid."""
    agg.keyring.activate(key_id)
    typer.echo(f"key {key_id} is active")


@aggregator_command(key_app, "retire")
def key_retire(
    key_id: Annotated[str, typer.Argument(help="Key id to retire.")],
    *,
    agg: Aggregator,
) -> None:
    """→ retired: envelopes sealed to it are refused from now on."""
    agg.keyring.retire(key_id)
    typer.echo(f"key {key_id} is retired")


@aggregator_command(token_app, "create")
def token_create(
    institution: Annotated[str, typer.Option(help="Institution name.")],
    discipline: Annotated[str, typer.Option(help="Sector discipline, e.g. theater.")],
    province: Annotated[str, typer.Option(help="Province slug, e.g. utrecht.")],
    hours: Annotated[int, typer.Option(help="Hours until the token expires.")] = 72,
    size_class: Annotated[
        str, typer.Option(help="Peer-group size class: small, medium or large (ADR 0007).")
    ] = "medium",
    *,
    agg: Aggregator,
) -> None:
    """Print a single-use, expiring enrollment token for one institution."""
    from datetime import timedelta

    from aggregator.enrollment import create_token

    institution_id, token = create_token(
        agg.db, name=institution, discipline=discipline, province=province,
        valid_for=timedelta(hours=hours), size_class=size_class,
    )  # fmt: skip
    typer.echo(f"institution {institution_id}: token (valid {hours} h, single use):", err=True)
    typer.echo(token)


@aggregator_command(period_app, "open")
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
    segment_model: Annotated[
        str | None,
        typer.Option(
            help="Segment model version every submission of the period uses; it must be "
            "published here (default: the release published last, else the built-in demo model "
            "synthetic-demo-2026)."
        ),
    ] = None,
    overlap_share: Annotated[
        float,
        typer.Option(
            help="Share of each submission's ρ for a household sketch (overlaps between "
            "institutions); the tables keep the rest. Default 0: no sketches this period."
        ),
    ] = 0.0,
    overlap_households: Annotated[
        float | None,
        typer.Option(
            help="Expected households per compared set (with --overlap-share): fixes the "
            "sketch's width."
        ),
    ] = None,
    *,
    agg: Aggregator,
) -> None:
    """Open a quarter for submissions and fix its signed period config."""
    from aggregator.periods import open_period
    from aggregator.settings import period_rho_for
    from protocol.errors import UsageError
    from protocol.messages import check_period

    check_period(period)
    settings = agg.settings
    if rho is not None and epsilon is not None:
        raise UsageError("give the budget as --rho or as --epsilon, not both")
    if epsilon is not None:
        if not epsilon > 0:
            raise UsageError("--epsilon must be positive")
        rho = period_rho_for(epsilon, settings.period_delta)
    budget = float(settings.period_rho if rho is None else rho)
    opened = open_period(
        agg.db, period, rho_budget=budget,
        delta=settings.period_delta, mechanism=settings.period_mechanism, k=settings.k,
        segment_model=segment_model,
        overlap_share=overlap_share, overlap_households=overlap_households,
    )  # fmt: skip
    release = f", release {opened.segment_model_digest[:16]}" if opened.segment_model_digest else ""
    typer.echo(
        f"period {period} is open (ρ budget {opened.rho_budget:g} per institution, "
        f"δ {opened.delta}, {opened.mechanism}, design {opened.design}, "
        f"segment model {opened.segment_model}{release})"
    )
    typer.echo(_sketch_summary(opened))


def _sketch_summary(opened: Any) -> str:
    """What the period fixed for household sketches: share, width and seed id."""
    import hashlib

    from aggregator.periods import period_sketch_of

    sketch = period_sketch_of(opened)
    if sketch is None:
        return "household sketches: none this period (the tables take the whole budget)"
    seed_id = hashlib.sha256(sketch.seed).hexdigest()[:16]
    return (
        f"household sketch: {sketch.design}, {sketch.weight:.0%} of each submission's ρ "
        f"(ρ {sketch.weight * opened.rho_budget:g}), width {sketch.width}, seed id {seed_id} "
        "(SHA-256 of the public seed)"
    )


@aggregator_command(period_app, "list")
def period_list(*, agg: Aggregator) -> None:
    """Every period with its state, budget and how many institutions submitted."""
    from aggregator.periods import list_periods, submitted_institutions

    submitted = submitted_institutions(agg.db)
    periods = list_periods(agg.db)
    if not periods:
        typer.echo("no periods yet (open one: publiek aggregator period open 2026-Q3)")
    for row in periods:
        opened = f", opened {row.opened_at:%Y-%m-%d}" if row.opened_at else ""
        typer.echo(
            f"{row.label} {row.state}: ρ budget {row.rho_budget:g}, "
            f"{submitted.get(row.label, 0)} institutions submitted{opened}"
        )


@aggregator_command(period_app, "config")
def period_config_out(
    period: Annotated[str, typer.Argument(help="Quarter label, e.g. 2026-Q3.")],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write the signed config here (default: standard output)."),
    ] = None,
    *,
    agg: Aggregator,
) -> None:
    """Write the period's signed config, for agents that export offline (--period-config)."""
    from aggregator.periods import get_period, period_config

    key = agg.keyring.receipt_key()
    text = json.dumps(period_config(get_period(agg.db, period), key).to_dict(), indent=2) + "\n"
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote the signed period config for {period} to {out}", err=True)


@aggregator_command(aggregator_app, "import")
def aggregator_import(
    file: Annotated[Path, typer.Argument(help="Envelope file from `publiek agent export`.")],
    receipt_out: Annotated[
        Path | None, typer.Option(help="Write the signed receipt here (JSON) for the agent.")
    ] = None,
    *,
    agg: Aggregator,
) -> None:
    """Accept an exported envelope through exactly the same intake as HTTP."""
    from aggregator.intake import Intake

    keyring = agg.keyring
    receipt = Intake(keyring.db, keyring).accept_file(file)
    doc = json.dumps(receipt.to_dict(), indent=2, sort_keys=True)
    if receipt_out:
        receipt_out.write_text(doc + "\n", encoding="utf-8")
    typer.echo(
        f"accepted {receipt.submission_id} from {receipt.institution_id} "
        f"({receipt.period}): log index {receipt.log_index}"
    )


@aggregator_command(period_app, "close")
def period_close(
    period: Annotated[str, typer.Argument(help="Period label, e.g. 2026-Q3.")],
    *,
    agg: Aggregator,
) -> None:
    """Stop intake for a period and compute its benchmarks (late submissions are refused)."""
    from aggregator.periods import close_period

    result = close_period(agg.db, period, k=agg.settings.k)
    typer.echo(
        f"period {period} closed: {_count(len(result.assignment), 'institution')}, "
        f"{_count(len(result.groups), 'peer group')} (k={result.k}); "
        f"inputs digest {result.inputs_digest}"
    )
    for item in result.left_out:
        typer.echo(
            f"warning: submission {item.submission_id} of {item.institution_id} is left out: "
            f"{item.reason} (set it aside: publiek aggregator submission set-aside "
            f"{item.submission_id} --reason ...)",
            err=True,
        )


@aggregator_command(period_app, "publish")
def period_publish(
    period: Annotated[str, typer.Argument(help="Period label, e.g. 2026-Q3.")],
    *,
    agg: Aggregator,
) -> None:
    """Make a closed period's benchmarks public (refused below k institutions)."""
    from aggregator.periods import publish_period

    publish_period(agg.db, period)
    typer.echo(f"period {period} published")


@aggregator_command(period_app, "reopen")
def period_reopen(
    period: Annotated[str, typer.Argument(help="Period label, e.g. 2026-Q3.")],
    *,
    agg: Aggregator,
) -> None:
    """Admit late submissions: a closed, unpublished period opens again."""
    from aggregator.periods import reopen_period

    reopen_period(agg.db, period)
    typer.echo(f"period {period} is open again; its benchmarks were discarded")


@aggregator_command(aggregator_app, "benchmarks")
def aggregator_benchmarks(
    period: Annotated[str, typer.Option(help="Period label, e.g. 2026-Q3.")],
    fmt: Annotated[str, typer.Option("--format", help="csv, parquet or json.")] = "csv",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
    *,
    agg: Aggregator,
) -> None:
    """Export a closed or published period's benchmarks (every peer group and cell)."""
    import sys

    from aggregator import periods
    from aggregator.exports import export
    from protocol.errors import UsageError

    row = periods.get_period(agg.db, period)
    if row.state == periods.OPEN:
        raise UsageError(
            f"period {period} is still open",
            hint=f"close it: publiek aggregator period close {period}",
        )
    _, groups = periods.visible_groups(agg.db, row, k=agg.settings.k)
    data = export(period, groups, fmt)
    if output is None:
        if fmt == "parquet":
            raise UsageError("Parquet is binary", hint="write it to a file with --output")
        sys.stdout.buffer.write(data)
    else:
        output.write_bytes(data)
        typer.echo(f"wrote {len(data)} bytes to {output}", err=True)


@aggregator_command(submission_app, "list")
def submission_list(
    period: Annotated[str, typer.Argument(help="Period label, e.g. 2026-Q3.")],
    *,
    agg: Aggregator,
) -> None:
    """Every stored submission of a period with its status: accepted, left-out (a
    value cannot be right, so no benchmark counts it) or set-aside, and why."""
    from aggregator.set_aside import period_submissions

    state, items = period_submissions(agg.db, period)
    typer.echo(f"period {period} ({state}): {len(items)} stored submissions")
    for item in items:
        why = f": {item['reason']}" if item["reason"] else ""
        typer.echo(
            f"{item['submission_id']} {item['institution_id']} log {item['log_index']} "
            f"ρ {item['rho']:g} {item['status']}{why}"
        )


@aggregator_command(submission_app, "set-aside")
def submission_set_aside(
    submission_id: Annotated[str, typer.Argument(help="Submission id (32 hex digits).")],
    reason: Annotated[
        str,
        typer.Option(
            "--reason",
            help="Why, in one line of at most 500 characters; kept in the transparency log "
            "and shown to the institution: never personal data.",
        ),
    ],
    *,
    agg: Aggregator,
) -> None:
    """Leave a stored submission out of its period's benchmarks, recorded in the
    transparency log (final; its ρ stays spent; a closed period is recomputed)."""
    from aggregator.set_aside import set_aside

    record = set_aside(agg.db, submission_id, reason)
    typer.echo(
        f"submission {record.submission_id} of {record.institution_id} ({record.period}) is set "
        f"aside: log index {record.log_index}"
    )


@aggregator_command(institution_app, "list")
def institution_list(
    period: Annotated[
        str | None, typer.Option(help="Only this period: who submitted and who not yet.")
    ] = None,
    *,
    agg: Aggregator,
) -> None:
    """Every institution: enrolled, token issued or revoked, and its stored
    submissions per period (``submission list PERIOD`` shows each one's status)."""
    from aggregator.enrollment import institution_overview
    from aggregator.periods import get_period

    if period is not None:
        get_period(agg.db, period)  # an unknown period is refused, not shown as empty
    rows = institution_overview(agg.db)
    if not rows:
        typer.echo("no institutions yet (enroll one: publiek aggregator token create ...)")
    for row in rows:
        subs: dict[str, int] = row["submissions"]  # type: ignore[assignment]
        if period is not None:
            done = f"submitted ({subs[period]})" if period in subs else "not submitted"
            what = f"{period}: {done}"
        else:
            what = ", ".join(f"{p}: {n}" for p, n in subs.items()) or "no submissions"
        typer.echo(
            f"{row['institution_id']} ({row['discipline']}, {row['province']}, "
            f"{row['size_class']}) {row['state']}; {what}"
        )


@aggregator_command(institution_app, "revoke")
def institution_revoke(
    institution_id: Annotated[str, typer.Argument(help="Institution id (slug).")],
    *,
    agg: Aggregator,
) -> None:
    """Revoke an institution: every later submission from it is refused."""
    from aggregator.enrollment import revoke

    revoke(agg.db, institution_id)
    typer.echo(f"institution {institution_id} revoked")
