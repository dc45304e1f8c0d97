# fusion-site — two commands do everything on a fresh machine:
#   make run    set up and run the site, the worker and (without Ontraport credentials) the local sandbox
#   make test   set up and run lint, type checks and the whole test-suite (SQLite, and PostgreSQL when
#               DATABASE_URL names one)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
MIN_PYTHON := 3.12

.PHONY: run test test-cluster lint typecheck pytest pytest-sqlite pytest-postgres system-deps bench bench-deps clean help

help:
	@echo "make run   - run the site on http://127.0.0.1:8000 with its worker (and the Ontraport sandbox)"
	@echo "make test  - lint, type-check and run every test"

# --- set-up ------------------------------------------------------------------------------------------------
python-check:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' || { \
	  echo "fusion-site needs Python $(MIN_PYTHON) or newer (Django 6)."; \
	  echo "'$(PYTHON)' is $$($(PYTHON) --version 2>&1). Install 3.13 (pyenv install 3.13; this repo's .python-version"; \
	  echo "selects it) or run: make PYTHON=/path/to/python3.13 $(MAKECMDGOALS)"; exit 1; }

$(VENV)/.runtime: requirements.txt | python-check
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# Browser tests drive Debian's Chromium (Playwright's own browser download is not used).
system-deps:
	@if ! command -v chromium >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "The browser tests need Chromium: sudo apt-get install chromium"; exit 1; fi; fi
	@# The cluster test (tests/webhooks/telemetry/test_cluster.py) starts a Redis of its own.
	@if ! command -v redis-server >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; \
	  else echo "The cluster test needs Redis: sudo apt-get install redis-server"; exit 1; fi; fi

# --- run ---------------------------------------------------------------------------------------------------
run: $(VENV)/.runtime
	$(PY) -m fusion_site.dev

# --- test --------------------------------------------------------------------------------------------------
test: $(VENV)/.dev system-deps lint typecheck pytest

# The house's import contracts (pyproject.toml, [tool.importlinter]; docs/architecture.md) are part of lint.
lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-logo

typecheck: $(VENV)/.dev
	FUSION_ACCESS_KEY=typecheck-only-key-0123456789 DEBUG=1 $(VENV)/bin/mypy .

# The suite runs on SQLite always; again on PostgreSQL when DATABASE_URL names one (CI requires it).
pytest: pytest-sqlite pytest-postgres

pytest-sqlite: $(VENV)/.dev
	env -u DATABASE_URL $(PY) -m pytest $(PYTEST_ARGS)

# bench/cluster.py at a small size (2 web nodes, 3 workers, Redis, a kill and a restart), alone: it is part
# of `make test`'s PostgreSQL run too.
test-cluster: $(VENV)/.dev system-deps
	@[[ "$${DATABASE_URL:-}" == postgres* ]] || { echo "make test-cluster needs DATABASE_URL=postgres://..."; exit 1; }
	$(PY) -m pytest -m cluster tests/webhooks/telemetry/test_cluster.py $(PYTEST_ARGS)

pytest-postgres: $(VENV)/.dev
	@if [[ "$${DATABASE_URL:-}" == postgres* ]]; then \
	  echo "== the suite again on PostgreSQL"; $(PY) -m pytest $(PYTEST_ARGS); \
	elif [ -n "$${REQUIRE_POSTGRES:-}" ]; then \
	  echo "REQUIRE_POSTGRES is set but DATABASE_URL does not name a PostgreSQL database"; exit 1; \
	else echo "== PostgreSQL run skipped: set DATABASE_URL=postgres://... to run the suite on it too"; fi

bench: $(VENV)/.dev
	@echo "See docs/benchmarks.md: python bench/ingest.py, bench/burst.py, bench/process.py, bench/cluster.py"

# What the bench scripts need beyond the venv: Debian's wrk (load generator) and Redis (bench/cluster.py).
bench-deps: $(VENV)/.dev
	@missing=""; command -v wrk >/dev/null || missing="$$missing wrk"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "The benchmarks need:$$missing (sudo apt-get install$$missing)"; exit 1; fi; fi

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
