# PMI — the two commands are `make dev` and `make test`; both install what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TESTS_MYPYPATH := .:scripts:functions/auth:functions/vehicles:functions/bookings:functions/monitoring
# The lock is installed; its inputs are listed so that editing one re-checks the lock.
REQUIREMENTS := requirements.lock requirements-dev.txt shared/requirements.in \
	$(wildcard functions/*/requirements.in) $(wildcard functions/*/requirements.txt)
ENV ?= staging

.PHONY: help dev test deps tools lint format typecheck unit e2e bench bundles routes clean migrate
.PHONY: lock lock-check deploy-plan venv
.PHONY: assets browser jscheck openapi fuzz load
.PHONY: alerting

help:
	@echo "make dev        run the whole platform locally (emulator, functions, gateway, demo data)"
	@echo "make test       install what is missing, then ruff, mypy and the whole test suite"
	@echo "make lint       ruff: lint and formatting;  make typecheck  mypy strict (shared/, each function, scripts/, bench/, tests/)"
	@echo "make format     ruff format: fixes what make lint reports as unformatted"
	@echo "make bench      benchmarks"
	@echo "make bundles    build/functions/<name>/: self-contained deploy folders"
	@echo "make routes     regenerate docs/routes.md from the route tables"
	@echo "make openapi    regenerate the API contract (openapi.json, docs/api.md, collection)"
	@echo "make fuzz       the long Schemathesis run (every case of every operation, every role)"
	@echo "make load       the mixed load test against the floor (writes docs/benchmarks.md)"
	@echo "make migrate    data migrations: dry run (what would change); APPLY=1 applies them"
	@echo "make assets     npm ci + copy the dashboard libraries into hosting/vendor/ (part of deps)"
	@echo "make clean      remove the virtualenv, caches and local run state"
	@echo "make lock       re-resolve requirements.lock and the functions' requirements.txt"
	@echo "                (UPGRADE=1: newest allowed versions); make lock-check only checks"
	@echo "make deploy-plan ENV=staging|production   print every command the release runs"
	@echo "make alerting ENV=staging|production [APPLY=1]   log-based metrics and alert policies"

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

deps: $(STAMP) tools assets

# JavaScript: npm ci when the lock changes (firebase-tools for the Auth emulator, the
# Firebase JS SDK for the mobile-path tests, the dashboard's libraries); the dashboard's libraries copied from
# node_modules into hosting/vendor/ (git-ignored) — a Hosting deploy must run `make assets` too.
NODE_STAMP := node_modules/.installed
VENDOR_STAMP := hosting/vendor/manifest.json

$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "Node.js 20+ with npm is required (the dashboard and its SDK)" >&2; exit 1; }
	@echo "==> installing JavaScript dependencies (npm ci)"
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(VENDOR_STAMP): $(NODE_STAMP) scripts/vendor_assets.mjs
	@node scripts/vendor_assets.mjs

assets: $(VENDOR_STAMP)

browser:
	@bash scripts/ensure_browser.sh

jscheck: $(NODE_STAMP)
	@echo "==> tsc (JSDoc types of the SDK and dashboard)"
	@node_modules/.bin/tsc -p jsconfig.json

# Only the virtualenv (no Java or emulator): what the release pipeline's migration step needs.
venv: $(STAMP)

tools:
	@bash scripts/ensure_tools.sh

dev: deps
	@$(PY) scripts/dev.py

test: deps browser lint typecheck jscheck
	@echo "==> pytest (one Firestore emulator for the session)"
	@$(PY) -m pytest

lint: $(STAMP)
	@echo "==> ruff (lint, and formatting: \`make format\` fixes it)"
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check --quiet . || { echo "ruff format: the files above need \`make format\`"; exit 1; }

format: $(STAMP)
	@$(VENV)/bin/ruff format .

# Each function folder is checked on its own: the four entry points are all called main.py,
# so one run over every folder would see four modules named "main".
typecheck: $(STAMP)
	@echo "==> mypy strict: shared/ and migrations/, functions/*/ (one run each), scripts/, bench/, tests/"
	@$(VENV)/bin/mypy
	@for folder in functions/*/; do $(VENV)/bin/mypy "$$folder" || exit 1; done
	@$(VENV)/bin/mypy scripts
	@$(VENV)/bin/mypy bench/*.py
	@for folder in bench/fixtures/*/; do $(VENV)/bin/mypy "$$folder" || exit 1; done
	@# The tests import every function's packages, as pytest's pythonpath (pyproject.toml) does.
	@MYPYPATH=$(TESTS_MYPYPATH) $(VENV)/bin/mypy tests

unit: deps
	@$(PY) -m pytest -m "not e2e and not slow"

e2e: deps browser
	@$(PY) -m pytest -m "e2e or slow"

bench: deps browser
	@for script in bench/bench_*.py; do echo "==> $$script"; $(PY) $$script || exit 1; done

routes: $(STAMP)
	@$(PY) scripts/route_table.py

# The API contract, generated from the route tables (never edited by hand): the OpenAPI
# document Hosting serves at /api/openapi.json, docs/api.md and the API-client collection.
openapi: $(STAMP)
	@$(PY) scripts/openapi.py
	@$(PY) scripts/api_docs.py

# make test fuzzes a few cases per operation and role; this is the long run: Schemathesis'
# coverage phase (every boundary of every schema) plus 40 generated cases each, and longer
# stateful runs. FUZZ_ARGS passes pytest options (e.g. -x).
fuzz: deps
	@PMI_FUZZ_LONG=1 PMI_FUZZ_EXAMPLES=40 PMI_FUZZ_STATEFUL_EXAMPLES=20 PMI_FUZZ_STATEFUL_STEPS=20 \
		$(PY) -m pytest tests/test_fuzz_api.py -p no:cacheprovider $(FUZZ_ARGS)

load: deps
	@$(PY) bench/bench_load.py $(LOAD_ARGS)

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

# deploy/monitoring/ into the project (docs/monitoring.md); without APPLY=1 it only prints.
# CHANNELS=projects/P/notificationChannels/N[,...] are added to newly created policies.
alerting:
	@$(PYTHON) scripts/alerting.py --env $(ENV) $(if $(APPLY),--apply) \
		$(if $(CHANNELS),--notification-channels=$(CHANNELS))

# Against FIRESTORE_EMULATOR_HOST if set, else the project in GOOGLE_CLOUD_PROJECT
# (docs/operations.md, "Data migrations"). Extra flags: make migrate ARGS="--project p".
migrate: $(STAMP)
	@$(PY) scripts/migrate.py $(if $(APPLY),--apply) $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .dev build node_modules hosting/vendor .artifacts
