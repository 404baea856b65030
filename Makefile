# metaferry: the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.metaferry-installed
WORK := .tmp

.PHONY: run test dev lint typecheck unit crds chart-docs tools postgres benchmarks clean

# 1. Install into a virtualenv and run the sample files connector once on embedded SQLite.
run: $(STAMP)
	@mkdir -p $(WORK)
	$(BIN)/metaferry-runtime run examples/files-connector.yaml --once --repository sqlite:///$(WORK)/metaferry.db
	@echo
	$(BIN)/metaferry-runtime elements --repository sqlite:///$(WORK)/metaferry.db --limit 20

# 2. Install everything the tests need (Kubernetes control plane, PostgreSQL) and run every test.
test: $(STAMP) lint typecheck tools postgres
	source $(WORK)/postgres.env && source $(WORK)/tools.env && \
	  $(BIN)/pytest -ra --durations=15 $(PYTEST_ARGS)

dev: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check runtime operator

typecheck: $(STAMP)
	$(BIN)/mypy

# Tests that need no installed tool: neither the control plane, PostgreSQL, helm, OPA, slapd, Kafka, DataHub's CLI nor dbt (markers in pyproject.toml).
unit: $(STAMP)
	$(BIN)/pytest -ra -m "not cluster and not postgres and not helm and not opa and not ldap and not kafka and not datahub and not dbt" $(PYTEST_ARGS)

crds: $(STAMP)
	$(BIN)/metaferry-operator crd --output-dir crds
	cp crds/*.yaml charts/metaferry/files/crds/

# The chart README's values table and values.schema.json's descriptions, from the comments in values.yaml.
chart-docs: $(STAMP)
	$(BIN)/python scripts/chart_values_doc.py

tools: $(STAMP)
	@mkdir -p $(WORK)
	PATH="$(CURDIR)/$(BIN):$$PATH" scripts/install-test-tools.sh | tail -n 1 > $(WORK)/tools.dir
	echo "export METAFERRY_TOOLS_BIN=$$(cat $(WORK)/tools.dir); export PATH=$$(cat $(WORK)/tools.dir):\$$PATH" > $(WORK)/tools.env
	scripts/install-opa.sh | tail -n 1 > $(WORK)/opa.path
	scripts/install-kafka.sh | tail -n 1 > $(WORK)/kafka.libs
	scripts/install-dbt.sh > /dev/null

postgres:
	@mkdir -p $(WORK)
	scripts/start-postgres.sh | tail -n 1 > $(WORK)/postgres.url
	echo "export METAFERRY_TEST_POSTGRES_URL=$$(cat $(WORK)/postgres.url)" > $(WORK)/postgres.env

benchmarks: $(STAMP) tools postgres
	source $(WORK)/postgres.env && source $(WORK)/tools.env && \
	  for b in benchmarks/*.py; do case "$$b" in */_*) continue;; esac; echo "== $$b"; $(BIN)/python "$$b"; done

clean:
	rm -rf $(WORK) build dist *.egg-info
