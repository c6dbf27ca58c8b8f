# spendwatch: `make run` and `make test` do all the set-up on a fresh machine (Python 3.11+, make).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

# The Dagster UI's instance (runs, materialisations, schedules).  `make run` records its run there
# only when DAGSTER_HOME is set in the environment; otherwise it runs on an in-memory instance.
DEV_DAGSTER_HOME := $(if $(DAGSTER_HOME),$(DAGSTER_HOME),$(CURDIR)/data/dagster_home)

.PHONY: install run test dev validate bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "spendwatch needs Python 3.11 or newer (set PYTHON=python3.11)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

## Run the daily job once, end to end, on the embedded default; then print the spend review.
run: $(STAMP)
	$(BIN)/spendwatch run

## Check the import contracts (pyproject.toml [tool.importlinter]), then run the whole test suite on two
## workers (pytest-xdist; a test module stays on one worker; the sample warehouse is still built once).
test: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -n 2 --dist loadfile

## Start the Dagster UI.
dev: $(STAMP)
	mkdir -p $(DEV_DAGSTER_HOME) && cp -n dagster.yaml $(DEV_DAGSTER_HOME)/dagster.yaml || true
	DAGSTER_HOME=$(DEV_DAGSTER_HOME) $(BIN)/dagster dev -w workspace.yaml

validate: $(STAMP)
	DAGSTER_HOME=$(DEV_DAGSTER_HOME) $(BIN)/dagster definitions validate -w workspace.yaml

bench: $(STAMP)
	$(BIN)/python bench/run_daily.py

clean:
	rm -rf data/warehouse.duckdb data/warehouse.duckdb.wal data/raw data/dagster_home
