# PMI — the two commands are `make dev` and `make test`; both install what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
REQUIREMENTS := requirements-dev.txt $(wildcard functions/*/requirements.txt)

.PHONY: help dev test deps tools lint format typecheck unit e2e bench bundles routes clean migrate

help:
	@echo "make dev        run the whole platform locally (emulator, functions, gateway, demo data)"
	@echo "make test       install what is missing, then ruff, mypy and the whole test suite"
	@echo "make lint       ruff;  make typecheck  mypy on shared/;  make bench  benchmarks"
	@echo "make bundles    build/functions/<name>/: self-contained deploy folders"
	@echo "make routes     regenerate docs/routes.md from the route tables"
	@echo "make migrate    data migrations: dry run (what would change); APPLY=1 applies them"
	@echo "make clean      remove the virtualenv, caches and local run state"

# The virtualenv is rebuilt when any requirements file changes.
$(STAMP): $(REQUIREMENTS)
	@echo "==> installing Python dependencies into $(VENV) (first run takes about a minute)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

# Node tools (firebase-tools for the Auth emulator, the Firebase JS SDK for the mobile-path
# tests), exactly as package-lock.json pins them; reinstalled when either file changes.
NODE_STAMP := node_modules/.installed
$(NODE_STAMP): package.json package-lock.json
	@echo "==> installing Node packages into node_modules (npm ci; first run takes about a minute)"
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $@

deps: $(STAMP) tools $(NODE_STAMP)

tools:
	@bash scripts/ensure_tools.sh

dev: deps
	@$(PY) scripts/dev.py

test: deps lint typecheck
	@echo "==> pytest (one Firestore emulator for the session)"
	@$(PY) -m pytest

lint: $(STAMP)
	@echo "==> ruff"
	@$(VENV)/bin/ruff check .

format: $(STAMP)
	@$(VENV)/bin/ruff format .

typecheck: $(STAMP)
	@echo "==> mypy (shared/, migrations/)"
	@$(VENV)/bin/mypy

unit: deps
	@$(PY) -m pytest -m "not e2e and not slow"

e2e: deps
	@$(PY) -m pytest -m "e2e or slow"

bench: deps
	@for script in bench/bench_*.py; do echo "==> $$script"; $(PY) $$script || exit 1; done

routes: $(STAMP)
	@$(PY) scripts/route_table.py

bundles: $(STAMP)
	@$(PY) scripts/build_bundles.py

# Against FIRESTORE_EMULATOR_HOST if set, else the project in GOOGLE_CLOUD_PROJECT
# (docs/operations.md, "Data migrations"). Extra flags: make migrate ARGS="--project p".
migrate: $(STAMP)
	@$(PY) scripts/migrate.py $(if $(APPLY),--apply) $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .dev build node_modules .artifacts
