"""Packaging: each extra installs what its part of Publiek imports, and no more.

An institution installs ``publiek[agent]`` without the aggregator's server
stack; the taskforce installs ``publiek[aggregator]``; ``publiek[demo]`` adds
the synthetic sector; ``dev`` pulls all three and the test tools.
"""

from __future__ import annotations

import ast
import functools
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cli.errors
from cli import app
from tests.ingest.ingest_fixtures import GOOD_ROWS, HEADER, MAPPING
from tests.scratch import scratch

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
PACKAGES = (
    "protocol", "dp", "views", "agent", "aggregator", "custodian", "segments", "demo", "cli"
)  # fmt: skip
# Which requirement set each package's imports must be covered by.
NEEDS = {
    "protocol": (),
    "dp": (),
    "views": (),
    "agent": ("agent",),
    "custodian": (),
    "segments": (),
    "cli": ("agent",),  # the aggregator and demo commands check their extras first
    "aggregator": ("aggregator",),
    "demo": ("agent", "demo"),
}
SERVER_STACK = ("fastapi", "starlette", "uvicorn", "sqlalchemy", "alembic", "argon2", "numpy")
# Kept out of the fresh environment's processes: what would put this run's packages in
# front of its own, and a setting that would make each process compile its imports anew.
LEAKS = {"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "PYTHONDONTWRITEBYTECODE"}
NOT_INSTALLED = "error: the {extra} is not installed: pip install 'publiek[{extra}]'\n"


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


def declared(extras: tuple[str, ...]) -> set[str]:
    """Distribution names the core dependencies and ``extras`` pull in (self-references
    such as ``publiek[aggregator]`` followed)."""
    names = {_name(r) for r in PROJECT["dependencies"]}
    todo, seen = list(extras), set()
    while todo:
        extra = todo.pop()
        seen.add(extra)
        for requirement in PROJECT["optional-dependencies"][extra]:
            if _name(requirement) == "publiek":
                inner = re.search(r"\[(.*)\]", requirement)
                assert inner, requirement
                todo.extend(e.strip() for e in inner.group(1).split(",") if e not in seen)
            else:
                names.add(_name(requirement))
    return names


def third_party_imports(package: str) -> set[str]:
    """Top-level modules outside the project and the standard library that
    ``package`` imports anywhere, lazy imports in functions included."""
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return found - set(PACKAGES) - set(sys.stdlib_module_names) - {"__future__"}


@functools.cache
def installed_distributions() -> dict[str, list[str]]:
    """Top-level module → the installed distributions that provide it (read once:
    it scans every installed distribution's file list)."""
    return dict(packages_distributions())


@pytest.mark.slow  # 0.4 s or more: outside the inner loop (ADR 0032)
@pytest.mark.parametrize("package", PACKAGES)
def test_every_import_is_declared_by_the_extra_that_installs_it(package: str) -> None:
    distributions = installed_distributions()
    allowed = declared(NEEDS[package])
    undeclared = {
        module: distributions.get(module, ["?"])
        for module in third_party_imports(package)
        if not {_name(d) for d in distributions.get(module, [])} & allowed
    }
    assert undeclared == {}, f"{package}/ imports these without declaring them"


def test_the_agent_extra_leaves_the_server_stack_out() -> None:
    assert not declared(("agent",)) & {_name(m) for m in (*SERVER_STACK, "argon2-cffi")}


@pytest.mark.parametrize(
    ("extra", "args"),
    [
        ("aggregator", ["aggregator", "init"]),
        ("aggregator", ["aggregator", "period", "close", "2026-Q3"]),
        ("demo", ["demo"]),
    ],
)
def test_a_command_whose_extra_is_missing_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, extra: str, args: list[str]
) -> None:
    real = cli.errors.find_spec
    monkeypatch.setattr(
        cli.errors, "find_spec", lambda name: None if name == "fastapi" else real(name)
    )
    state = tmp_path / "state"
    extra_args = ["--workspace", str(state)] if extra == "demo" else ["--state", str(state)]
    result = CliRunner().invoke(app, [*args, *extra_args])
    assert (result.exit_code, result.stderr) == (2, NOT_INSTALLED.format(extra=extra))
    assert not state.exists()  # refused before doing anything


# -- each extra installed alone into a fresh virtual environment ---------------


def _uv() -> str:
    try:
        from uv import find_uv_bin
    except ImportError:
        found = shutil.which("uv")
        if found is None:
            pytest.fail("uv is missing: it is a dev dependency (make install)")
        return found
    return str(find_uv_bin())


def _run(*args: str | Path, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    # This run's environment (certificates, proxies, uv's cache) less LEAKS.
    env = {k: v for k, v in os.environ.items() if k not in LEAKS}
    command = [str(a) for a in args]
    result = subprocess.run(command, check=False, cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=300)  # fmt: skip
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel, built from a copy of its sources: a build in the
    work tree would leave build/ and an egg-info behind."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    out = tmp_path_factory.mktemp("dist")
    _run(_uv(), "build", "--wheel", "--quiet", "--out-dir", out, source, cwd=source)
    (built,) = out.glob("publiek-*.whl")
    return built


def _venv_with(extra: str, wheel: Path, place: Path) -> Path:
    """A fresh virtual environment (not the system's packages) with ``publiek[extra]``
    resolved and installed from its metadata, as ``pip install`` would; offline from
    uv's cache when that holds everything, from the package index otherwise."""
    venv = place / f"venv-{extra}"
    _run(_uv(), "venv", "--quiet", "--python", sys.executable, venv, cwd=place)
    python = venv / "bin" / "python"
    install = [_uv(), "pip", "install", "--quiet", "--python", python, f"{wheel}[{extra}]"]
    if _run(*install, "--offline", cwd=place, check=False).returncode != 0:
        _run(*install, cwd=place)
    return venv


def _modules_of(*packages: str) -> list[str]:
    return sorted(
        str(path.relative_to(ROOT).with_suffix("")).replace("/", ".").removesuffix(".__init__")
        for package in packages
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts and path.name != "__main__.py"
    )


# Run in the fresh environment: import every named module, then print which of the
# modules after "--" can be found there.
IMPORT_ALL = """
import importlib, importlib.util, sys
split = sys.argv.index("--")
for name in sys.argv[1:split]:
    importlib.import_module(name)
print(" ".join(m for m in sys.argv[split + 1:] if importlib.util.find_spec(m) is not None))
"""
# Appended to IMPORT_ALL in the aggregator's environment, run in a folder with its state.
BUILD_APP = """
from pathlib import Path
from aggregator.app import create_app
from aggregator.settings import load_settings
app = create_app(load_settings(Path("agg")))
print(next(path for path in app.openapi()["paths"] if path == "/v1/submissions"))
"""


@pytest.fixture(scope="module")
def agent_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with scratch(tmp_path_factory, "agent") as folder:
        yield _venv_with("agent", wheel, folder)


@pytest.fixture(scope="module")
def aggregator_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with scratch(tmp_path_factory, "aggregator") as folder:
        yield _venv_with("aggregator", wheel, folder)


@pytest.mark.slow
def test_the_agent_extra_runs_the_agent_without_the_server_stack(
    agent_venv: Path, tmp_path: Path
) -> None:
    bin_ = agent_venv / "bin"
    modules = _modules_of("protocol", "dp", "agent", "custodian", "segments", "cli")
    found = _run(bin_ / "python", "-c", IMPORT_ALL, *modules, "--", *SERVER_STACK, "faker",
                 cwd=tmp_path)  # fmt: skip
    assert found.stdout.split() == []
    assert "enroll" in _run(bin_ / "publiek", "agent", "--help", cwd=tmp_path).stdout
    # A real ingest: polars, pyarrow, charset detection and the keying child process.
    export = tmp_path / "export.csv"
    export.write_text("\n".join([HEADER, *GOOD_ROWS]) + "\n", encoding="utf-8")
    (tmp_path / "map.toml").write_text(MAPPING, encoding="utf-8")
    _run(bin_ / "publiek", "agent", "init", "-w", "ws", cwd=tmp_path)
    ingest = _run(bin_ / "publiek", "agent", "ingest", export, "-m", "map.toml", "-w", "ws",
                  cwd=tmp_path)  # fmt: skip
    assert "4 rows read: 4 accepted" in ingest.stdout
    refused = _run(bin_ / "publiek", "aggregator", "init", "--state", "agg", cwd=tmp_path,
                   check=False)  # fmt: skip
    assert (refused.returncode, refused.stderr) == (2, NOT_INSTALLED.format(extra="aggregator"))
    assert not (tmp_path / "agg").exists()


@pytest.mark.slow
def test_the_aggregator_extra_runs_the_server(aggregator_venv: Path, tmp_path: Path) -> None:
    bin_ = aggregator_venv / "bin"
    assert "serve" in _run(bin_ / "publiek", "aggregator", "--help", cwd=tmp_path).stdout
    # The schema migrated, the first keys made and the server's app built on them.
    _run(bin_ / "publiek", "aggregator", "init", "--state", "agg", cwd=tmp_path)
    found = _run(bin_ / "python", "-c", IMPORT_ALL + BUILD_APP, *_modules_of("aggregator"), "--",
                 *SERVER_STACK, "faker", cwd=tmp_path)  # fmt: skip
    assert found.stdout.split("\n")[:2] == [" ".join(SERVER_STACK), "/v1/submissions"]
    demo = _run(bin_ / "publiek", "demo", "--workspace", "d", cwd=tmp_path, check=False)
    assert (demo.returncode, demo.stderr) == (2, NOT_INSTALLED.format(extra="demo"))
