# Lumbung — two commands on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: run test install lint format servers-up servers-down clean-data help deploy-tools bench

help:
	@echo "make run    - start the embedded platform on http://127.0.0.1:8000"
	@echo "make test   - lint, start real Kafka + FerretDB, run every test, stop them"
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

test: lint deploy-tools
	bash deploy/local/test.sh $(PYTEST_ARGS)

bench: $(STAMP)
	bash bench/run.sh $(BENCH_ARGS)

servers-up:
	bash deploy/local/testenv.sh up

servers-down:
	bash deploy/local/testenv.sh down

clean-data:
	rm -rf data
