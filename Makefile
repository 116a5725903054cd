# One command each for a newcomer: `make demo` runs the main job end to end on the embedded
# default (SQLite, local Stripe sandbox, real Dagster runs); `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install chromium demo dev test lint format bench bench-mpesa clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/paysync demo

dev: $(STAMP)
	$(BIN)/paysync dev

# The browser tests (tests/ui) drive Debian's chromium: Playwright cannot download its own.
chromium:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	  else echo "the browser tests need chromium: sudo apt-get install -y chromium" >&2; exit 1; fi; }

# Most tests wait on servers and Dagster runs, so 3 pytest-xdist workers keep 2 cores busy;
# `make test TEST_WORKERS=0` runs them in one process.
TEST_WORKERS ?= 3

test: $(STAMP) chromium
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/dg check defs
	$(BIN)/python -m pytest -n $(TEST_WORKERS)

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix . && $(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev,bench]'
	$(BIN)/python benchmarks/stripe_full_sync.py
	$(BIN)/python benchmarks/payfit_full_sync.py
	$(BIN)/python benchmarks/webhook_ingest.py
	$(BIN)/python benchmarks/simulator.py
	$(BIN)/python benchmarks/control_api.py

bench-mpesa: $(STAMP)
	$(BIN)/python benchmarks/mpesa_drift.py

clean:
	rm -rf .paysync
