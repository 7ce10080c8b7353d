# One command to set up and run, one to set up and test. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint screenshots bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)  ## set up and start the app
	$(BIN)/sre-tui $(ARGS)

test: $(STAMP)  ## set up, lint and run the whole test suite
	$(BIN)/ruff check sre_tui tests
	$(BIN)/sre-tui lint
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check sre_tui tests
	$(BIN)/ruff format --check sre_tui

screenshots: $(STAMP)  ## regenerate screenshots/*.svg
	$(BIN)/sre-tui screenshot --out screenshots

bench: $(STAMP)  ## print start-up figures
	$(BIN)/python tests/benchmarks/startup.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache
