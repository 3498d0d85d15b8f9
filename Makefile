# Parley — developer entry points. Every target that needs Python creates .venv itself.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# The Lambda runtime is Python 3.13: prefer it, and only accept a Python that really runs
# (a pyenv shim can exist without a usable interpreter behind it).
PYTHON ?= $(shell for p in python3.13 $$HOME/.pyenv/versions/3.13*/bin/python3.13 /usr/local/bin/python3.13 python3.12 python3; do \
	"$$p" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1 && { echo "$$p"; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SAM_VENV := .venv-sam

.PHONY: help dev test lint typecheck test-tools build sam-validate bench cost loadtest eval-insights clean

help:
	@echo "make dev           run the whole API on http://127.0.0.1:$${PARLEY_PORT:-3000}"
	@echo "make test          lint, type-check and run every test"
	@echo "make lint          ruff + cfn-lint"
	@echo "make typecheck     mypy --strict"
	@echo "make test-tools    install curl and chromium if missing (apt-get): e2e curl examples, console browser tests"
	@echo "make bench         every performance target, met or missed"
	@echo "make cost          cost per EVENTS (default 1000000) at BATCH events per request"
	@echo "make eval-insights the local insights analyzer against its labeled set"
	@echo "make loadtest      5,000 ingest requests + 1,000 appends on make dev; 0 lost, 0 duplicated"
	@echo "make sam-validate  sam validate --lint (installs aws-sam-cli into .venv-sam)"
	@echo "make build         sam build (installs aws-sam-cli into .venv-sam)"
	@echo "make clean         remove .venv, .venv-sam, .aws-sam and tool caches"
	@echo "(make build-SharedLayer is called by sam build, not by hand)"

$(STAMP): pyproject.toml constraints.txt
	@test -n "$(PYTHON)" || { echo "Python 3.12+ not found (3.13 preferred)"; exit 1; }
	@echo "Creating $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

dev: $(STAMP)
	$(BIN)/python -m devtools.server

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/cfn-lint template.yaml

typecheck: $(STAMP)
	$(BIN)/mypy

# System packages the tests need: curl (the e2e suite runs the README's curl examples) and
# Chromium (the console's browser tests; Playwright drives Debian's build, never its own).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
test-tools:
	@missing=""; command -v curl >/dev/null || missing="curl"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	[ -z "$$missing" ] || { \
		command -v apt-get >/dev/null || { echo "the tests need:$$missing; install them"; exit 1; }; \
		echo "Installing$$missing (apt-get)"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq $$missing >/dev/null; }

test: lint typecheck test-tools
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m bench.run

eval-insights: $(STAMP)
	$(BIN)/python -m bench.eval_insights

# Starts its own dev server on a free port; LOADTEST_ARGS="--requests 500" for a shorter run.
loadtest: $(STAMP)
	$(BIN)/python -m bench.loadtest $(LOADTEST_ARGS)

# aws-sam-cli pins versions that conflict with our dev tools, so it lives in its own venv.
$(SAM_VENV)/.installed-stamp:
	@test -n "$(PYTHON)" || { echo "Python 3.12+ not found"; exit 1; }
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/python -m pip install --quiet aws-sam-cli
	@touch $@

sam-validate: $(SAM_VENV)/.installed-stamp
	SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam validate --lint --region us-east-1

build: $(SAM_VENV)/.installed-stamp
	SAM_CLI_TELEMETRY=0 PATH="$(CURDIR)/$(SAM_VENV)/bin:$$PATH" $(SAM_VENV)/bin/sam build

# Called by `sam build` for SharedLayer (BuildMethod: makefile): the shared package plus the
# runtime dependencies for arm64 / Python 3.13, compiled to .pyc (unchecked-hash: zip mtimes
# cannot be trusted) so cold starts skip compiling.
# Quoted for the shell: unquoted, `pydantic>=2.7` is `pydantic` plus a redirection to a file `=2.7`.
# The insights analyzers' dependencies go to InsightsLayer instead (only that worker uses them),
# search's engine (tantivy, DuckDB) to SearchLayer (only the search function uses it).
INSIGHTS_DEPS := vaderSentiment yake
SEARCH_DEPS := tantivy duckdb
LAYER_DEPS = $(shell $(PYTHON) -c 'import shlex, tomllib; print(" ".join(shlex.quote(d) for d in tomllib.load(open("pyproject.toml","rb"))["project"]["dependencies"] if not d.startswith(("boto3", *"$(INSIGHTS_DEPS) $(SEARCH_DEPS)".split()))))')
# LAYER_PLATFORM: Lambda's; the bench builds the same layer for its own host.
LAYER_PLATFORM ?= manylinux2014_aarch64
build-SharedLayer:
	mkdir -p "$(ARTIFACTS_DIR)/python"
	$(PYTHON) -m pip install --quiet --target "$(ARTIFACTS_DIR)/python" \
		--platform $(LAYER_PLATFORM) --implementation cp --python-version 3.13 \
		--only-binary=:all: -c constraints.txt $(LAYER_DEPS)
	cp -R shared "$(ARTIFACTS_DIR)/python/shared"
	find "$(ARTIFACTS_DIR)/python" -name '__pycache__' -prune -exec rm -rf {} +
	$(PYTHON) -m compileall -q -j 0 --invalidation-mode unchecked-hash "$(ARTIFACTS_DIR)/python"

build-InsightsLayer:
	mkdir -p "$(ARTIFACTS_DIR)/python"
	$(PYTHON) -m pip install --quiet --target "$(ARTIFACTS_DIR)/python" \
		--platform manylinux2014_aarch64 --implementation cp --python-version 3.13 \
		--only-binary=:all: -c constraints.txt $(INSIGHTS_DEPS)
	find "$(ARTIFACTS_DIR)/python" -name '__pycache__' -prune -exec rm -rf {} +
	$(PYTHON) -m compileall -q -j 0 --invalidation-mode unchecked-hash "$(ARTIFACTS_DIR)/python"

# DuckDB's aarch64 wheels are manylinux_2_28 (tantivy's older tags are accepted with it).
build-SearchLayer:
	mkdir -p "$(ARTIFACTS_DIR)/python"
	$(PYTHON) -m pip install --quiet --target "$(ARTIFACTS_DIR)/python" \
		--platform manylinux_2_28_aarch64 --implementation cp --python-version 3.13 \
		--only-binary=:all: -c constraints.txt $(SEARCH_DEPS)
	find "$(ARTIFACTS_DIR)/python" -name '__pycache__' -prune -exec rm -rf {} +
	$(PYTHON) -m compileall -q -j 0 --invalidation-mode unchecked-hash "$(ARTIFACTS_DIR)/python"

clean:
	rm -rf $(VENV) $(SAM_VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache .hypothesis

# What N events cost on AWS, from figures measured on this machine (docs/performance.md).
EVENTS ?= 1000000
BATCH ?= 1000
cost: $(STAMP)
	$(BIN)/python -m bench.cost --events $(EVENTS) --batch $(BATCH)
