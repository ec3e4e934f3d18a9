# Sumun — the two commands a newcomer needs: `make run` and `make test`.
# Both bootstrap .venv themselves from pinned versions (constraints.txt).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
RUN_STAMP  := $(VENV)/.run-installed
TEST_STAMP := $(VENV)/.test-installed
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check

.PHONY: run test lint typecheck unit bench fuzz soak system-deps services oidc-provider lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -c constraints.txt -e '.[client]'
	touch $@

$(TEST_STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -c constraints.txt -e '.[dev]'
	touch $@ $(RUN_STAMP)

## make run: initialise a demo deployment in ./.sumun (or $SUMUN_HOME), unseal it, serve it
run: $(RUN_STAMP)
	$(BIN)/sumun demo

## make test: lint, type-check, and the whole suite against real SoftHSM2 and OpenBao
test: $(TEST_STAMP) system-deps services oidc-provider lint typecheck unit

system-deps:
	@scripts/ensure-system-deps

services:
	@scripts/ensure-services

oidc-provider:
	@scripts/ensure-oidc-provider

lint: $(TEST_STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(TEST_STAMP)
	$(BIN)/mypy src

## two test modules at a time (pytest-xdist; most tests wait on a server process, a browser or a
## database, and CI has two cores), except chaos and cluster, whose 1-second bounds under cuts
## and kills are measured alone; the slowest are listed to keep the suite well under 15 minutes
unit: $(TEST_STAMP)
	$(BIN)/pytest --durations=25 -n 2 --dist loadfile --ignore=tests/chaos --ignore=tests/cluster
	$(BIN)/pytest --durations=10 tests/chaos tests/cluster

bench: $(TEST_STAMP)
	$(PIP) -c constraints.txt -e '.[dev,bench]'
	$(BIN)/python bench/run_all.py

## make fuzz: tests/fuzz searching for long — random, 50x the examples of `make test`
## (SUMUN_FUZZ_SCALE=N for N x), failures kept in .hypothesis/ and replayed first next time
fuzz: $(TEST_STAMP)
	SUMUN_FUZZ_PROFILE=long $(BIN)/pytest tests/fuzz -p no:cacheprovider --timeout 3600

## make soak: the real gateway under steady load for SOAK_SECONDS (default 600): RSS and file
## descriptors flat, p99 stable; a table on stdout, JSON in bench/results/soak.json
SOAK_SECONDS ?= 600
soak: $(TEST_STAMP)
	$(BIN)/python bench/soak.py --seconds $(SOAK_SECONDS)

lock: $(TEST_STAMP)
	@{ echo "# Exact pins for reproducible installs (pip install -c constraints.txt). Regenerate with"; \
	   echo "# \`make lock\` after changing dependencies in pyproject.toml."; \
	   $(BIN)/pip freeze --exclude-editable | grep -v '^sumun'; } > constraints.txt

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build *.egg-info
