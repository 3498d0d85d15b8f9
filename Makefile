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
LOCAL_STAMP := $(VENV)/.local-stamp
VENV_STAMP := $(VENV)/.created-stamp
SAM_VENV := .venv-sam
# pip for the SAM venv, pinned like every other tool (a security review asked that what is deployed
# is what was tested); .venv is installed by uv (UV_VERSION, below). aws-sam-cli's pin is beside
# its venv below.
PIP_VERSION := 26.3

.PHONY: help dev test lint typecheck test-tools build sam-validate bench cost loadtest eval-insights clean lock layer-platforms

help:
	@echo "make dev           both APIs and the console locally; prints the URL, keys and export lines"
	@echo "                   keeping its data in .parley/ (RESET=1: start afresh; docs/local.md)"
	@echo "make test          lint, type-check and run every test"
	@echo "make lint          ruff + cfn-lint"
	@echo "make typecheck     mypy --strict"
	@echo "make test-tools    install curl and chromium if missing (apt-get): e2e curl examples, console browser tests"
	@echo "make bench         every performance target, met or missed (BENCH_SECTIONS=1: cold start only)"
	@echo "make cost          cost per EVENTS (default 1000000) at BATCH events per request"
	@echo "make eval-insights the local insights analyzer on the held-out and tuning halves of its evaluation set, and leave-one-writer-out"
	@echo "make eval-clusters the clusterer against the set's intents (purity, NMI, ARI)"
	@echo "make loadtest      5,000 ingest requests + 1,000 appends on make dev; 0 lost, 0 duplicated"
	@echo "                   (twice: durability off, then on; their throughputs compared)"
	@echo "make sam-validate  sam validate --lint (installs aws-sam-cli into .venv-sam)"
	@echo "make build         sam build into .aws-sam/build, or SAM_BUILD_DIR (pinned aws-sam-cli in .venv-sam)"
	@echo "make lock          the layers' hashed lock files (locks/) from constraints.txt (needs PyPI)"
	@echo "make clean         remove .venv, .venv-sam, .aws-sam and tool caches"
	@echo "(make build-SharedLayer is called by sam build, not by hand)"

# Two installs into one .venv: `make dev` needs only the runtime and the local server's packages
# (the `local` extra); `make test`/`make bench` add the test, lint, browser and benchmark tools
# (the `dev` extra, which includes `local`) to the same .venv, never recreating it.
# uv installs them (parallel downloads, a shared cache, no Python process per package: a first
# `make dev` in seconds, where pip took minutes), with the same constraints.txt pins. uv itself is
# pinned and bootstrapped from PyPI into .venv/uv with the Python's own pip (or a throwaway venv's
# when that Python has none), unless a `uv` of exactly that version is on PATH; a .venv made
# before uv gets it the same way. uv shows a progress bar while downloading and lists each
# package it installs.
UV_VERSION := 0.13.9
UV_HOME := $(VENV)/uv
UV_ON_PATH := $(shell [ "$$(uv --version 2>/dev/null)" = "uv $(UV_VERSION)" ] && command -v uv)
UV := $(or $(UV_ON_PATH),$(UV_HOME)/bin/uv)
UV_INSTALL = $(UV) pip install --python $(BIN)/python -c constraints.txt

$(VENV_STAMP):
	@test -n "$(PYTHON)" || { echo "Python 3.12+ not found (3.13 preferred)"; exit 1; }
	@echo "Creating $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv --without-pip $(VENV)
	@touch $@

$(UV_HOME)/bin/uv: | $(VENV_STAMP)
	@echo "Installing uv $(UV_VERSION) into $(UV_HOME)"
	@if $(PYTHON) -m pip --version >/dev/null 2>&1; then pip="$(PYTHON) -m pip"; \
	else $(PYTHON) -m venv $(VENV)/pip-bootstrap && pip="$(VENV)/pip-bootstrap/bin/python -m pip"; fi; \
	PIP_ROOT_USER_ACTION=ignore $$pip install --quiet --disable-pip-version-check \
		--target $(UV_HOME) uv==$(UV_VERSION)

$(LOCAL_STAMP): pyproject.toml constraints.txt $(VENV_STAMP) | $(UV)
	@echo "Installing what the local server needs (the test tools come with make test)"
	$(UV_INSTALL) -e '.[local]'
	@touch $@

# The test tools' install then compiles every installed module to bytecode, as pip always did:
# `make test` starts dozens of dev servers, and where nothing may write __pycache__ (read-only or
# PYTHONDONTWRITEBYTECODE) each would compile its imports again. `make dev` skips it: compiling
# ~4,000 files costs more than its first start saves.
$(STAMP): pyproject.toml constraints.txt $(VENV_STAMP) | $(UV)
	@echo "Installing the test, lint, browser and benchmark tools"
	$(UV_INSTALL) -e '.[dev]'
	@echo "Compiling the installed packages to bytecode"
	@# -q -q: errors only; a file that cannot compile (a package's test data) is not an error here.
	-@$(BIN)/python -m compileall -q -q -j 0 "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')"
	@touch $@ $(LOCAL_STAMP)

# RESET=1 empties the data folder first (PARLEY_DATA_DIR, default .parley/; docs/local.md).
dev: $(LOCAL_STAMP)
	$(BIN)/python -m devtools.server $(if $(filter 1,$(RESET)),--reset)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/cfn-lint template.yaml

typecheck: $(STAMP)
	$(BIN)/mypy

# System packages the tests need: curl (the e2e suite runs the curl examples of the README and
# docs/) and Chromium (the console's browser tests; Playwright drives Debian's build, never its own).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
test-tools:
	@missing=""; command -v curl >/dev/null || missing="curl"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	[ -z "$$missing" ] || { \
		command -v apt-get >/dev/null || { echo "the tests need:$$missing; install them"; exit 1; }; \
		echo "Installing$$missing (apt-get)"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq $$missing >/dev/null; }

# The SAM venv too: the infra tests run the deploy build (`make build`, tests/infra/test_sam_build.py).
test: lint typecheck test-tools $(SAM_STAMP)
	$(BIN)/python -m pytest

# BENCH_SECTIONS="1 2": only those sections (numbered as printed).
bench: $(STAMP)
	$(BIN)/python -m bench.run $(BENCH_SECTIONS)

eval-insights: $(STAMP)
	$(BIN)/python -m bench.eval_insights

# Starts its own dev server on a free port; LOADTEST_ARGS="--requests 500" for a shorter run.
loadtest: $(STAMP)
	$(BIN)/python -m bench.loadtest $(LOADTEST_ARGS)

# aws-sam-cli pins versions that conflict with our dev tools, so it lives in its own venv.
# Exact version (what is deployed is what `make test` built): bump deliberately; the stamp's name
# holds both pins, so changing either reinstalls the venv.
SAM_CLI_VERSION := 1.170.0
SAM_STAMP := $(SAM_VENV)/.installed-$(SAM_CLI_VERSION)-pip$(PIP_VERSION)
$(SAM_STAMP):
	@test -n "$(PYTHON)" || { echo "Python 3.12+ not found"; exit 1; }
	rm -rf $(SAM_VENV)
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet pip==$(PIP_VERSION)
	$(SAM_VENV)/bin/python -m pip install --quiet aws-sam-cli==$(SAM_CLI_VERSION)
	@touch $@

sam-validate: $(SAM_STAMP)
	SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam validate --lint --region us-east-1

# SAM_BUILD_DIR: where the built functions and layers go (the infra tests build into a temp dir).
# PATH: SAM's Python builder wants a `python3.13` on PATH, which the SAM venv provides.
SAM_BUILD_DIR ?= .aws-sam/build
build: $(SAM_STAMP)
	SAM_CLI_TELEMETRY=0 PATH="$(CURDIR)/$(SAM_VENV)/bin:$$PATH" $(SAM_VENV)/bin/sam build \
		--build-dir "$(SAM_BUILD_DIR)"

# Called by `sam build` for SharedLayer (BuildMethod: makefile): the shared package plus the
# runtime dependencies for arm64 / Python 3.13, compiled to .pyc (unchecked-hash: zip mtimes
# cannot be trusted) so cold starts skip compiling.
# Each layer installs exactly its hashed lock file, locks/<Layer>.txt (--require-hashes: every
# wheel must match a hash the lock names; --no-deps: the lock already holds the whole closure),
# so what is deployed is what was tested. `make lock` writes the locks from constraints.txt
# (devtools/lock.py, which also decides which dependency goes to which layer): the insights
# analyzers' to InsightsLayer (only that worker uses them), DuckDB and its extension packages
# to LakeLayer (only the lake's and search's functions), tantivy to SearchLayer (only the search
# function and the lake's compaction), numpy to ClustersLayer (only the clusters' workers).
# The wheels a layer may hold. Lambda's python3.13 runtime is Amazon Linux 2023 (glibc 2.34), so
# it runs every manylinux wheel up to manylinux_2_34; pip does not expand a `--platform` to older
# glibc tags by itself, so each is listed, newest first (the order pip prefers them in, as pip on
# the runtime would). manylinux2014 is manylinux_2_17, the oldest aarch64 tag; numpy 2.5 ships
# only manylinux_2_28 for aarch64, so a manylinux2014-only list cannot resolve it.
# LAYER_ARCH: Lambda's arm64; the bench builds the same layer for its own host's architecture.
LAYER_ARCH ?= aarch64
LAMBDA_GLIBC_MINOR := 34
LAYER_PLATFORMS := $(foreach minor,$(shell seq $(LAMBDA_GLIBC_MINOR) -1 17),manylinux_2_$(minor)_$(LAYER_ARCH)) manylinux2014_$(LAYER_ARCH)
LAYER_PIP_TARGET = $(PYTHON) -m pip install --quiet --target "$(ARTIFACTS_DIR)/python" \
	$(addprefix --platform ,$(LAYER_PLATFORMS)) --implementation cp --python-version 3.13 \
	--only-binary=:all: --require-hashes --no-deps -r
# Every layer ends the same way: no stale caches, every module compiled for the runtime.
define compile_layer
find "$(ARTIFACTS_DIR)/python" -name '__pycache__' -prune -exec rm -rf {} +
	$(PYTHON) -m compileall -q -j 0 --invalidation-mode unchecked-hash "$(ARTIFACTS_DIR)/python"
endef

build-SharedLayer:
	mkdir -p "$(ARTIFACTS_DIR)/python"
	$(LAYER_PIP_TARGET) locks/SharedLayer.txt
	cp -R shared "$(ARTIFACTS_DIR)/python/shared"
	$(compile_layer)

build-InsightsLayer:
	mkdir -p "$(ARTIFACTS_DIR)/python"
	$(LAYER_PIP_TARGET) locks/InsightsLayer.txt
	$(compile_layer)

build-LakeLayer:
	mkdir -p "$(ARTIFACTS_DIR)/python"
	$(LAYER_PIP_TARGET) locks/LakeLayer.txt
	$(compile_layer)

build-SearchLayer:
	mkdir -p "$(ARTIFACTS_DIR)/python"
	$(LAYER_PIP_TARGET) locks/SearchLayer.txt
	$(compile_layer)

build-ClustersLayer:
	mkdir -p "$(ARTIFACTS_DIR)/python"
	$(LAYER_PIP_TARGET) locks/ClustersLayer.txt
	$(compile_layer)

# The layers' hashed lock files from constraints.txt (needs PyPI): run after changing it.
lock: $(STAMP)
	$(BIN)/python -m devtools.lock

# For devtools/lock.py: the wheel tags of LAYER_PLATFORMS (one place for them).
layer-platforms:
	@echo $(LAYER_PLATFORMS)

clean:
	rm -rf $(VENV) $(SAM_VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache .hypothesis

# What N events cost on AWS, from figures measured on this machine (docs/performance.md).
EVENTS ?= 1000000
BATCH ?= 1000
cost: $(STAMP)
	$(BIN)/python -m bench.cost --events $(EVENTS) --batch $(BATCH)

# The clusterer against the insights set's intents: every tuning half and their mean, then the
# held-out half once (none while heldout.jsonl is pair D, which is tuning data).
.PHONY: eval-clusters
eval-clusters: $(STAMP)
	$(BIN)/python -m bench.eval_clusters
	$(BIN)/python -m bench.eval_clusters --half heldout
