# The two commands of the README. Both install what they need into .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# What running needs, and what testing needs on top (linters, the SDK, moto, schemathesis).
RUN_STAMP := $(VENV)/.installed-run
STAMP     := $(VENV)/.installed-dev
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test lint typecheck pytest bench clean install browser pgbackrest
BENCH_DB ?= var/bench-small.db

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $(RUN_STAMP)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP) $(RUN_STAMP)

install: $(STAMP)

run: $(RUN_STAMP)
	$(BIN)/hovor db upgrade
	$(BIN)/hovor demo
	$(BIN)/hovor serve --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

# The browser the report tests render in (Debian's Chromium; tests fail without it in CI).
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

# pgBackRest, which backs PostgreSQL up (tests/test_pgbackrest.py fails without it in CI).
pgbackrest:
	@command -v pgbackrest >/dev/null || (apt-get update -qq && apt-get install -y -qq pgbackrest >/dev/null)

pytest: $(STAMP) browser pgbackrest
	$(BIN)/pytest -n 2 --dist worksteal -q --durations=30

test: lint typecheck pytest

# Every scenario on the small size: a quick sanity run (docs/benchmarks.md has the medium figures).
bench: $(STAMP)
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	rm -rf $(BENCH_DB) $(BENCH_DB)-wal $(BENCH_DB)-shm var/bench/$(notdir $(basename $(BENCH_DB)))
	$(BIN)/python -m bench.generate --size small --db sqlite:///$(abspath $(BENCH_DB))
	$(BIN)/python -m bench.run all --db sqlite:///$(abspath $(BENCH_DB)) --seconds 5

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
