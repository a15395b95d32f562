# The two commands a new user needs: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ROOT := $(abspath .)
STUDY ?= POMMAINT
SUBJECTS ?= 15
SEED ?= 20261123

# Embedded Airflow: SQLite metadata and logs in an ignored folder of this checkout.
export AIRFLOW_HOME := $(ROOT)/.airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(ROOT)/dags
# the plugin serving the published outputs at /cdisc/ (make ui)
export AIRFLOW__CORE__PLUGINS_FOLDER := $(ROOT)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__EXECUTOR := LocalExecutor
export AIRFLOW__CORE__PARALLELISM := 2
export AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG := 2
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN := sqlite:///$(ROOT)/.airflow/airflow.db
export AIRFLOW__CORE__UNIT_TEST_MODE := False
export CDISC_LANDING := $(ROOT)/data/landing
export CDISC_STORE := $(ROOT)/data/store
export GX_ANALYTICS_ENABLED := False

.PHONY: demo ui test env lock clean bench

# The engine, and beside it the sample generator (`cdisc-sample`), a distribution of its own.
# Installed packages are compiled to bytecode once here: this machine (and CI) sets
# PYTHONDONTWRITEBYTECODE=1, so without it every process (each test worker, each killed
# run, each Airflow task) recompiles Great Expectations, Airflow and pandas from source on
# import (GX alone: 8.7 s of CPU instead of 3.4 s).
$(STAMP): pyproject.toml tools/samplegen/pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv==0.13.9
	$(BIN)/uv pip sync --quiet --compile-bytecode --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e . -e tools/samplegen
	touch $(STAMP)

env: $(STAMP)

demo: $(STAMP)
	@mkdir -p $(AIRFLOW_HOME)
	$(BIN)/airflow db migrate > $(AIRFLOW_HOME)/db-migrate.log 2>&1 || (tail -40 $(AIRFLOW_HOME)/db-migrate.log; exit 1)
	$(BIN)/cdisc-sample --study $(STUDY) --subjects $(SUBJECTS) --seed $(SEED) --out $(CDISC_LANDING)
	$(BIN)/airflow dags test $(shell echo $(STUDY) | tr A-Z a-z)_sdtm_nightly
	$(BIN)/airflow dags test $(shell echo $(STUDY) | tr A-Z a-z)_adam
	$(BIN)/cdisc where --study $(STUDY) --store $(CDISC_STORE)
	@echo "The Airflow UI of these runs: make ui (http://localhost:8080)"

# The Airflow UI of the demo's embedded Airflow (the same AIRFLOW_HOME, SQLite metadata and
# DAGs: `make demo`'s runs are there): `airflow standalone` runs the API server (the UI, on
# PORT) with a scheduler, DAG processor and triggerer, so DAGs can be triggered from the UI
# (it starts them as `airflow` from PATH: the venv's, put first).
# Log in as admin; Airflow 3's simple auth manager generates the password once, into
# $(AIRFLOW_HOME)/simple_auth_manager_passwords.json.generated. Ctrl-C stops it all.
PORT ?= 8080
ui: $(STAMP)
	@mkdir -p $(AIRFLOW_HOME)
	@echo "Airflow UI: http://localhost:$(PORT)  user admin, password in $(AIRFLOW_HOME)/simple_auth_manager_passwords.json.generated"
	PATH=$(ROOT)/$(BIN):$$PATH AIRFLOW__API__PORT=$(PORT) AIRFLOW__API__BASE_URL=http://localhost:$(PORT) $(BIN)/airflow standalone

# pytest on one worker per core and one more (pytest-xdist): a fifth of the time the workers
# wait (for Airflow's scheduler, for a killed run's progress), and the extra worker fills it.
# tests/conftest.py groups and orders the tests (one file per worker, a few spread) so
# fixtures are built once. TEST_WORKERS=0: serial. mypy (a minute of one core from a clean
# clone) runs beside pytest; its report follows pytest's, and either failing fails the target.
TEST_WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@types=$$(mktemp); $(BIN)/mypy > $$types 2>&1 & mypy=$$!; \
	$(BIN)/pytest -n $(TEST_WORKERS); tests=$$?; \
	wait $$mypy; checked=$$?; echo "mypy:"; cat $$types; rm -f $$types; \
	exit $$(( tests != 0 || checked != 0 ))

# Per-stage throughput at several study sizes, the I/O floor and the XPT writers side by side:
# benchmarks/results/latest.{json,md,png}. Exports are cached in .bench/. Takes long at 10000.
# BENCH_ARGS=--celery adds two studies' nights at once on the Celery topology.
SIZES ?= 15 500 2000 10000
BENCH_ARGS ?=
bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py --sizes $(SIZES) $(BENCH_ARGS)

# Re-pin the whole dependency tree after editing pyproject.toml.
lock: $(STAMP)
	$(BIN)/uv pip compile --quiet --python-version 3.11 --extra dev pyproject.toml -o requirements.lock

clean:
	rm -rf $(VENV) .airflow data .pytest_cache .mypy_cache .ruff_cache
