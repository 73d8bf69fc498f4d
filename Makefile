# PMI — the two commands are `make dev` and `make test`; both install what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The lock is installed; its inputs are listed so that editing one re-checks the lock.
REQUIREMENTS := requirements.lock requirements-dev.txt shared/requirements.in \
	$(wildcard functions/*/requirements.in) $(wildcard functions/*/requirements.txt)
ENV ?= staging

.PHONY: help dev test deps tools lint format typecheck unit e2e bench bundles routes clean migrate
.PHONY: lock lock-check deploy-plan venv

help:
	@echo "make dev        run the whole platform locally (emulator, functions, gateway, demo data)"
	@echo "make test       install what is missing, then ruff, mypy and the whole test suite"
	@echo "make lint       ruff;  make typecheck  mypy strict (shared/, each function, scripts/)"
	@echo "make bench      benchmarks"
	@echo "make bundles    build/functions/<name>/: self-contained deploy folders"
	@echo "make routes     regenerate docs/routes.md from the route tables"
	@echo "make migrate    data migrations: dry run (what would change); APPLY=1 applies them"
	@echo "make clean      remove the virtualenv, caches and local run state"
	@echo "make lock       re-resolve requirements.lock and the functions' requirements.txt"
	@echo "                (UPGRADE=1: newest allowed versions); make lock-check only checks"
	@echo "make deploy-plan ENV=staging|production   print every command the release runs"

# The virtualenv is rebuilt when any requirements file changes, always from the lock
# (every package pinned and hash-checked); a lock that no longer matches its inputs stops
# here with what differs and the command that fixes it (`make lock`).
$(STAMP): $(REQUIREMENTS)
	@$(PYTHON) scripts/lock.py --check
	@echo "==> installing Python dependencies into $(VENV) from requirements.lock (first run takes about a minute)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements.lock
	@touch $@

# Node tools (firebase-tools for the Auth emulator, the Firebase JS SDK for the mobile-path
# tests), exactly as package-lock.json pins them; reinstalled when either file changes.
NODE_STAMP := node_modules/.installed
$(NODE_STAMP): package.json package-lock.json
	@echo "==> installing Node packages into node_modules (npm ci; first run takes about a minute)"
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $@

deps: $(STAMP) tools $(NODE_STAMP)

# Only the virtualenv (no Java or emulator): what the release pipeline's migration step needs.
venv: $(STAMP)

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

# Each function folder is checked on its own: the four entry points are all called main.py,
# so one run over every folder would see four modules named "main".
typecheck: $(STAMP)
	@echo "==> mypy strict: shared/ and migrations/, functions/*/ (one run each), scripts/"
	@$(VENV)/bin/mypy
	@for folder in functions/*/; do $(VENV)/bin/mypy "$$folder" || exit 1; done
	@$(VENV)/bin/mypy scripts

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

# Re-resolve the lock after changing an input (or merging a branch that did); commit
# requirements.lock and functions/*/requirements.txt with it.
lock:
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PYTHON) scripts/lock.py $(if $(UPGRADE),--upgrade)

lock-check:
	@$(PYTHON) scripts/lock.py --check

deploy-plan:
	@$(PYTHON) scripts/deploy_plan.py --env $(ENV)

# Against FIRESTORE_EMULATOR_HOST if set, else the project in GOOGLE_CLOUD_PROJECT
# (docs/operations.md, "Data migrations"). Extra flags: make migrate ARGS="--project p".
migrate: $(STAMP)
	@$(PY) scripts/migrate.py $(if $(APPLY),--apply) $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .dev build node_modules .artifacts
