"""The aggregator commands an operator reaches for on day one (issue 15): what
is there (``period list``, ``institution list``), staff credentials
(``user enable``, ``user password``) and a database that cannot be reached
(one line naming the cause, never the password)."""

from __future__ import annotations

import socket
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from aggregator.auth import login, principal_for_token
from aggregator.database_url import normalise_url, redact
from aggregator.intake import Intake
from aggregator.settings import load_settings
from aggregator.storage import Database
from cli import app
from protocol.errors import Unauthenticated

runner = CliRunner()
PASSWORD = "a long enough passphrase"


def run(*args: str, input: str | None = None) -> Any:
    result = runner.invoke(app, list(args), input=input)
    assert result.exit_code == 0, result.output
    return result


def refused(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 2, result.output
    return str(result.output)


def test_period_list_shows_each_period_its_state_and_who_submitted(
    tmp_path: Path, kit: Any
) -> None:
    agg = kit.make_aggregator(tmp_path)
    agents = kit.enroll(agg.db, [(f"Zaal {i}", "theater", "utrecht", "small") for i in range(2)])
    Intake(agg.db, agg.keyring).accept(agents[0].seal(agents[0].payload(), agg.recipient))
    agg.db.engine.dispose()
    run("aggregator", "period", "open", "2026-Q4", "--state", str(tmp_path))
    lines = run("aggregator", "period", "list", "--state", str(tmp_path)).stdout.splitlines()
    assert lines[0].startswith(f"{kit.PERIOD} open: ρ budget 0.5, 1 institutions submitted")
    assert lines[1].startswith("2026-Q4 open: ρ budget ")
    assert "0 institutions submitted" in lines[1]


def test_an_empty_aggregator_lists_no_periods_and_says_how_to_open_one(tmp_path: Path) -> None:
    assert "period open" in run("aggregator", "period", "list", "--state", str(tmp_path)).stdout


def test_institution_list_shows_who_submitted_in_a_period_and_who_not_yet(
    tmp_path: Path, kit: Any
) -> None:
    agg = kit.make_aggregator(tmp_path)
    agents = kit.enroll(agg.db, [("Zaal Een", "theater", "utrecht", "small"),
                                 ("Zaal Twee", "music", "zeeland", "large")])  # fmt: skip
    Intake(agg.db, agg.keyring).accept(agents[0].seal(agents[0].payload(), agg.recipient))
    agg.db.engine.dispose()
    common = ["--state", str(tmp_path)]
    for_period = run("aggregator", "institution", "list", "--period", kit.PERIOD, *common).stdout
    assert f"zaal-een (theater, utrecht, small) enrolled; {kit.PERIOD}: submitted (1)" in for_period
    assert f"zaal-twee (music, zeeland, large) enrolled; {kit.PERIOD}: not submitted" in for_period
    overall = run("aggregator", "institution", "list", *common).stdout
    assert f"zaal-een (theater, utrecht, small) enrolled; {kit.PERIOD}: 1" in overall
    assert "zaal-twee (music, zeeland, large) enrolled; no submissions" in overall
    assert "does not exist" in refused("aggregator", "institution", "list", "--period", "2030-Q1",
                                       *common)  # fmt: skip


def add_user(state: Path) -> str:
    run("aggregator", "user", "add", "tf", "--role", "taskforce", "--password-stdin",
        "--state", str(state), input=PASSWORD + "\n")  # fmt: skip
    return str(run("aggregator", "user", "token", "tf", "--state", str(state)).stdout.strip())


def test_an_enabled_account_works_again_but_not_with_its_old_token(tmp_path: Path) -> None:
    old = add_user(tmp_path)
    run("aggregator", "user", "disable", "tf", "--state", str(tmp_path))
    assert (
        "1 old API tokens revoked"
        in run("aggregator", "user", "enable", "tf", "--state", str(tmp_path)).stdout
    )
    new = run("aggregator", "user", "token", "tf", "--state", str(tmp_path)).stdout.strip()
    db = Database(load_settings(tmp_path).db_url)
    try:
        assert principal_for_token(db, new).name == "tf"
        with pytest.raises(Unauthenticated):
            principal_for_token(db, old)
    finally:
        db.engine.dispose()


def test_enabling_an_account_that_is_not_disabled_is_refused_with_what_to_do_instead(
    tmp_path: Path,
) -> None:
    add_user(tmp_path)
    out = refused("aggregator", "user", "enable", "tf", "--state", str(tmp_path))
    assert "not disabled" in out
    assert "`publiek aggregator user token tf`" in out
    assert "`publiek aggregator user password tf`" in out


def test_a_token_for_a_disabled_account_is_refused_with_the_command_that_enables_it(
    tmp_path: Path,
) -> None:
    add_user(tmp_path)
    run("aggregator", "user", "disable", "tf", "--state", str(tmp_path))
    out = refused("aggregator", "user", "token", "tf", "--state", str(tmp_path))
    assert "user tf is disabled" in out and "`publiek aggregator user enable tf`" in out


@pytest.mark.slow  # 0.4 s or more: outside the inner loop (ADR 0032)
@pytest.mark.parametrize("command", ["token", "disable", "enable"])
def test_an_unknown_account_is_refused_with_the_command_that_creates_it(
    tmp_path: Path, command: str
) -> None:
    add_user(tmp_path)
    out = refused("aggregator", "user", command, "nobody", "--state", str(tmp_path))
    assert "no user 'nobody'" in out
    assert "`publiek aggregator user add nobody --role taskforce`" in out


def test_adding_an_account_twice_is_refused_with_the_password_reset(tmp_path: Path) -> None:
    add_user(tmp_path)
    result = runner.invoke(app, ["aggregator", "user", "add", "tf", "--role", "taskforce",
                                 "--password-stdin", "--state", str(tmp_path)],
                           input=PASSWORD + "\n")  # fmt: skip
    assert result.exit_code == 2
    assert "already exists" in result.output
    assert "`publiek aggregator user password tf`" in result.output


@pytest.mark.slow  # 0.4 s or more: outside the inner loop (ADR 0032)
def test_a_password_reset_changes_the_password_and_revokes_the_tokens(tmp_path: Path) -> None:
    old = add_user(tmp_path)
    out = run("aggregator", "user", "password", "tf", "--password-stdin", "--state", str(tmp_path),
              input="another long passphrase\n").stdout  # fmt: skip
    assert "1 API tokens revoked" in out
    db = Database(load_settings(tmp_path).db_url)
    try:
        with pytest.raises(Unauthenticated):
            principal_for_token(db, old)
        with pytest.raises(Unauthenticated):
            login(db, "tf", PASSWORD, valid_for=timedelta(days=1))
        token = login(db, "tf", "another long passphrase", valid_for=timedelta(days=1))
        assert principal_for_token(db, token).name == "tf"
    finally:
        db.engine.dispose()


def test_a_password_reset_of_an_unknown_user_is_refused(tmp_path: Path) -> None:
    result = runner.invoke(app, ["aggregator", "user", "password", "nobody", "--password-stdin",
                                 "--state", str(tmp_path)], input=PASSWORD + "\n")  # fmt: skip
    assert result.exit_code == 2 and "no user 'nobody'" in result.output
    assert "`publiek aggregator user add nobody --role taskforce`" in result.output


# --- a database that cannot be reached -----------------------------------------

SECRET = "s3cret-Pa55word"


def with_password(url: str) -> str:
    return url.replace("publiek@", f"publiek:{SECRET}@")


def init_refused(tmp_path: Path, url: str) -> str:
    out = refused("aggregator", "init", "--state", str(tmp_path), "--database", url)
    assert SECRET not in out
    assert "unexpected" not in out
    assert len(out.strip().splitlines()) == 1
    return out


def test_a_postgres_url_is_accepted_as_postgresql() -> None:
    assert normalise_url("postgres://u@h/db") == "postgresql://u@h/db"
    assert normalise_url("postgres+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("postgresql://u@h/db") == "postgresql://u@h/db"


def test_a_password_is_never_shown_in_a_url() -> None:
    assert SECRET not in redact(f"postgresql+psycopg://publiek:{SECRET}@db.example/publiek")
    assert SECRET not in redact(f"not a url {SECRET}")


# libpq takes its secrets from the query string as well as from the user part.
SECRET_QUERY = f"password={SECRET}&sslpassword={SECRET}&passfile=/home/{SECRET}/.pgpass"


def test_secrets_in_the_query_string_are_hidden_and_the_rest_is_shown() -> None:
    shown = redact(
        f"postgresql+psycopg://publiek@db.example/publiek?sslmode=require&{SECRET_QUERY}"
    )
    assert SECRET not in shown
    assert shown == (
        "postgresql+psycopg://publiek@db.example/publiek"
        "?passfile=***&password=***&sslmode=require&sslpassword=***"
    )
    assert SECRET not in redact(f"postgresql://publiek@db.example/publiek?PASSWORD={SECRET}")


@pytest.mark.slow
def test_init_works_with_a_postgres_url(tmp_path: Path, postgres: Any, kit: Any) -> None:
    url = kit.new_postgres_database(postgres).replace("postgresql+psycopg://", "postgres://")
    assert (
        "postgresql"
        in run("aggregator", "init", "--state", str(tmp_path), "--database", url).stdout
    )


@pytest.mark.slow
def test_an_unknown_database_is_named_with_the_command_that_creates_it(
    tmp_path: Path, postgres: Any
) -> None:
    out = init_refused(tmp_path, with_password(postgres.url("nosuchdb")))
    assert "the database does not exist" in out and "createdb" in out
    assert f"publiek:***@127.0.0.1:{postgres.port}/nosuchdb" in out


@pytest.mark.slow
def test_an_unknown_database_user_is_named(tmp_path: Path, postgres: Any) -> None:
    url = postgres.url("postgres").replace("publiek@", f"nobody:{SECRET}@")
    assert "the database user does not exist" in init_refused(tmp_path, url)


@pytest.mark.slow
def test_a_wrong_password_is_named_without_showing_it(tmp_path: Path, postgres: Any) -> None:
    # The test server trusts every local connection, so this one user is given a
    # password and made to need it: PostgreSQL's own check, not an imitation.
    with psycopg.connect(postgres.admin_dsn, autocommit=True) as conn:
        conn.execute("CREATE ROLE pwuser LOGIN PASSWORD 'right-password-123'")
    hba = postgres.data / "pg_hba.conf"
    original = hba.read_text()
    try:
        hba.write_text("host all pwuser 127.0.0.1/32 scram-sha-256\n" + original)
        postgres.pg_ctl("reload")
        url = f"postgresql+psycopg://pwuser:{SECRET}@127.0.0.1:{postgres.port}/postgres"
        out = init_refused(tmp_path, url)
        assert "refused the user name or password" in out
    finally:
        hba.write_text(original)
        postgres.pg_ctl("reload")


def test_a_server_that_does_not_answer_is_named(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"postgresql+psycopg://publiek:{SECRET}@127.0.0.1:{port}/publiek"
    out = init_refused(tmp_path, url)
    assert "no database server answers" in out and "start PostgreSQL" in out


def test_a_password_in_the_query_string_is_not_shown_when_the_server_does_not_answer(
    tmp_path: Path,
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = init_refused(
        tmp_path, f"postgresql+psycopg://publiek@127.0.0.1:{port}/publiek?{SECRET_QUERY}"
    )
    assert "no database server answers" in out and "password=***" in out


def test_a_url_sqlalchemy_cannot_read_is_refused_with_the_form_to_use(tmp_path: Path) -> None:
    out = init_refused(tmp_path, f"publiek:{SECRET}@localhost/publiek")
    assert "postgresql+psycopg://" in out


@pytest.mark.slow
def test_serve_prints_its_url_its_database_without_password_and_where_it_logs(
    tmp_path: Path, server_factory: Any
) -> None:
    url = f"sqlite:///{tmp_path / 'aggregator.db'}"
    server = server_factory(tmp_path, url)
    printed = (tmp_path / "server.log").read_text()
    assert f"listening on {server.url} " in printed
    assert f"database {url}" in printed
    assert "log: warnings and errors to standard error" in printed


@pytest.mark.slow
def test_serve_hides_a_password_in_the_query_string_of_its_database(
    tmp_path: Path, server_factory: Any, postgres: Any, kit: Any
) -> None:
    # The test server trusts local connections: libpq is handed the secrets and
    # does not need them, so the server starts and prints its line.
    passfile = tmp_path / "pgpass"
    passfile.write_text("")
    (tmp_path / "state").mkdir()
    query = f"password={SECRET}&sslpassword={SECRET}&passfile={passfile}"
    server_factory(tmp_path / "state", f"{kit.new_postgres_database(postgres)}?{query}")
    printed = (tmp_path / "state" / "server.log").read_text()
    assert "database postgresql+psycopg://publiek@127.0.0.1:" in printed
    assert "?passfile=***&password=***&sslpassword=***;" in printed
    assert SECRET not in printed and str(passfile) not in printed


@pytest.mark.slow
def test_serve_on_an_ipv6_address_prints_and_writes_its_url_in_brackets(
    tmp_path: Path, server_factory: Any
) -> None:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    server = server_factory(tmp_path, f"sqlite:///{tmp_path / 'aggregator.db'}", host="::1")
    assert server.url.startswith("http://[::1]:")  # the address file; the server answered on it
    assert f"listening on {server.url} " in (tmp_path / "server.log").read_text()
