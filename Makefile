# spendwatch: `make run` and `make test` do all the set-up on a fresh machine (Python 3.11+, make).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

# The Dagster UI's instance (runs, materialisations, schedules).  `make run` records its run there
# only when DAGSTER_HOME is set in the environment; otherwise it runs on an in-memory instance.
DEV_DAGSTER_HOME := $(if $(DAGSTER_HOME),$(DAGSTER_HOME),$(CURDIR)/data/dagster_home)

.PHONY: install run test test-hostile test-lake dev validate bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "spendwatch needs Python 3.11 or newer (set PYTHON=python3.11)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]' 'duckdb==2.0.1'
	@touch $(STAMP)

# The DuckLake tests run in a venv of their own: the lake extra pins DuckDB 1.5.5 (README, "Outgrowing one machine").
LAKE_VENV  := .venv-lake
LAKE_STAMP := $(LAKE_VENV)/.installed-stamp

$(LAKE_STAMP): pyproject.toml
	@test -x $(LAKE_VENV)/bin/python || $(PYTHON) -m venv $(LAKE_VENV)
	$(LAKE_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LAKE_VENV)/bin/python -m pip install --quiet -e '.[test,lake,lake-test]'
	@touch $(LAKE_STAMP)

install: $(STAMP)

## Run the daily job once, end to end, on the embedded default; then print the spend review.
run: $(STAMP)
	$(BIN)/spendwatch run

## Check the import contracts (pyproject.toml [tool.importlinter]), then run the test suite on two workers
## (pytest-xdist; a test module stays on one worker; the sample warehouse is still built once).  The
## fault-injection sequences against the incremental models (marker hostile) run in make test-hostile.
test: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -n 2 --dist loadfile -m "not hostile"

## The hostile sequences: restatements, horizons, FX and price changes, failed and killed builds, each
## incremental build compared with a full one (CI runs them on every clean clone).
test-hostile: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile -m hostile

## The DuckLake tests against a throwaway PostgreSQL (Debian's postgresql), on the lake extra's DuckDB, with
## moto's S3 server on 127.0.0.1 (the lake-test extra) for a lake whose data path is s3://.
## (It needs make install's .venv too: a file of the embedded DuckDB 2.0.1 is moved into a lake through copy-for-lake.)
test-lake: $(LAKE_STAMP) $(STAMP)
	SPENDWATCH_REQUIRE_LAKE=1 $(LAKE_VENV)/bin/python -m pytest -p no:cacheprovider tests/lake

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
