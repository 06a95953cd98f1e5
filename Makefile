# The README's commands. `make run` and `make test` each install everything they need first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run test install lint typecheck unit integration up down status bench clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

## install: virtual environment, Python dependencies, Kafka/Cassandra jars, Redis
install: $(INSTALLED)
	$(BIN)/interstore stack fetch

## run: the main job: the stack, the schema, the worker and the API, a minute of app traffic
## under a live view, then a sample ranker request (the worker and the API keep running)
run: install
	$(BIN)/interstore stack up
	$(BIN)/interstore schema apply
	$(BIN)/interstore demo

## test: lint, type-check, unit tests, integration tests against the real stack
test: install lint typecheck
	$(BIN)/pytest

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(INSTALLED)
	$(BIN)/mypy

unit: $(INSTALLED)
	$(BIN)/pytest tests/unit

integration: install
	$(BIN)/pytest tests/integration

up: install
	$(BIN)/interstore stack up

down: $(INSTALLED)
	$(BIN)/interstore stack down

status: $(INSTALLED)
	$(BIN)/interstore stack status

## bench: every registered benchmark against the local stack, a warm-up run then RUNS runs each
## (results in benchmarks/results; `interstore bench report` makes the README's table from them)
RUNS ?= 3
bench: up
	$(BIN)/interstore bench all --runs $(RUNS)
	$(BIN)/interstore bench report

clean: down
	rm -rf var
