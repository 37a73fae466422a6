# The two set-up commands: `make demo` and `make test`. Each works alone on a
# fresh machine with Python 3.11+ and make: it creates .venv, installs the
# project with its dependencies, then runs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
WORKSPACE ?= ./demo-workspace

.PHONY: demo test lint typecheck pytest install clean postgres browser

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/publiek demo --workspace $(WORKSPACE)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# The aggregator's storage and intake tests also run against a throwaway
# PostgreSQL server (started by the tests in a temporary folder); install
# Debian's package when its binaries are absent.
postgres:
	@if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then \
		echo "installing PostgreSQL (Debian package postgresql) for the aggregator tests"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql >/dev/null; \
	fi

# The browser tests (tests/browser/) drive Debian's Chromium through Playwright, which
# is told where it is (no browser download); install the package when it is absent.
browser:
	@if ! command -v chromium >/dev/null 2>&1; then \
		echo "installing Chromium (Debian package chromium) for the browser tests"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	fi

pytest: $(STAMP) postgres browser
	$(BIN)/pytest

test: lint typecheck pytest

clean:
	rm -rf $(VENV) $(WORKSPACE)
