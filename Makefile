# Every target sets itself up: a local virtual environment in .venv, installed from pyproject.toml.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
DB ?= bre.sqlite3

.PHONY: help run test test-postgres lint bench bench-quick clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP) ## serve the simulator on 127.0.0.1:8000 with an SQLite file and the demo console
	$(BIN)/bre serve --host $(HOST) --port $(PORT) --db $(DB)

test: $(STAMP) ## run the whole test suite, then the engine and API suites on the memory store
	$(BIN)/python -m pytest -q
	$(BIN)/python -m pytest -q tests/runtime tests/api --store memory:

test-postgres: $(STAMP) ## the engine, API and scenario suites again on PostgreSQL (BRE_TEST_POSTGRES)
	$(BIN)/python -m pytest -q -m "not slow" --store postgresql tests/runtime tests/api tests/control tests/scenarios

lint: $(STAMP) ## ruff and mypy --strict
	$(BIN)/ruff check engine tests bench
	$(BIN)/ruff format --check engine tests bench
	$(BIN)/mypy

bench: $(STAMP) ## the benchmarks, each figure beside a ceiling measured in the same run
	$(BIN)/python -m bench

bench-quick: $(STAMP) ## the headline ratios of the served simulator in under two minutes
	$(BIN)/python -m bench.served --quick

clean: ## remove the virtual environment and local databases
	rm -rf $(VENV) bre.sqlite3 bre.sqlite3-wal bre.sqlite3-shm
