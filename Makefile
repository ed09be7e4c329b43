# The two commands a newcomer needs (see README): `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: demo test lint ci clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime-installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip check
	touch $@ $(VENV)/.runtime-installed

## Set up and start the site with demo data on http://127.0.0.1:$(PORT)
demo: $(VENV)/.runtime-installed
	PORT=$(PORT) scripts/demo.sh

## Install what the tests need (Chromium included) and run the whole suite
test: $(VENV)/.dev-installed
	scripts/ensure-chromium.sh
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

ci:
	bash .ci/run

clean:
	rm -rf $(VENV) var staticfiles test-artifacts
