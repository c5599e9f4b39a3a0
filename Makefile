# Lumbung — two commands on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: run test test-chaos install lint format servers-up servers-down clean-data help deploy-tools bench

help:
	@echo "make run    - start the embedded platform on http://127.0.0.1:8000"
	@echo "make test   - lint, start real Kafka + FerretDB, run every test, stop them"
	@echo "make test-chaos - the chaos test alone (>= 100k events, ~20 min; CHAOS_* make it smaller)"
	@echo "make lint   - ruff check and format check"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/lumbung run

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

deploy-tools:
	bash deploy/prometheus/install-promtool.sh
	bash deploy/compose-check/install.sh

# The chaos test runs at the size of issue 8 in `make test` (CI): ~4,700 households,
# >= 100k events, an aggregator SIGKILL every ~12 s (about 20 minutes on 2 cores). Smaller
# runs while iterating, e.g.: make test-chaos CHAOS_HOUSEHOLDS=1000 CHAOS_MIN_EVENTS=20000
CHAOS_HOUSEHOLDS ?= 4700
CHAOS_MIN_EVENTS ?= 100000
CHAOS_KILL_EVERY_S ?= 12

test: lint deploy-tools
	LUMBUNG_CHAOS_HOUSEHOLDS=$(CHAOS_HOUSEHOLDS) LUMBUNG_CHAOS_MIN_EVENTS=$(CHAOS_MIN_EVENTS) \
	LUMBUNG_CHAOS_KILL_EVERY_S=$(CHAOS_KILL_EVERY_S) bash deploy/local/test.sh $(PYTEST_ARGS)

test-chaos: $(STAMP)
	LUMBUNG_CHAOS_HOUSEHOLDS=$(CHAOS_HOUSEHOLDS) LUMBUNG_CHAOS_MIN_EVENTS=$(CHAOS_MIN_EVENTS) \
	LUMBUNG_CHAOS_KILL_EVERY_S=$(CHAOS_KILL_EVERY_S) bash deploy/local/test.sh -s tests/chaos/test_chaos.py

bench: $(STAMP)
	bash bench/run.sh $(BENCH_ARGS)

servers-up:
	bash deploy/local/testenv.sh up

servers-down:
	bash deploy/local/testenv.sh down

clean-data:
	rm -rf data
