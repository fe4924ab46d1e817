# Aura Orchestra. `make run` starts everything; `make test` runs the suite. Both build .venv on first use.

SHELL := /bin/bash
.DEFAULT_GOAL := help

# The first Python 3.11+ that actually runs (pyenv shims may exist for versions that do not);
# override with `make run PYTHON=/path/to/python3.12`. Only used to create .venv.
ifeq ($(origin PYTHON), undefined)
PYTHON := $(shell for p in python3 python3.13 python3.12 python3.11; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 && { command -v $$p; break; }; \
	done)
endif
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
PYTEST_ARGS ?=
# Test processes (pytest-xdist), each on its own test database; 0 runs the suite in this one process.
TEST_PROCESSES ?= 2
SCHEMA_FILE ?= openapi.yaml

# Stamps: pip runs again only when a requirements file changes (or the venv is new).
RUNTIME_STAMP := $(VENV)/.installed-runtime
DEV_STAMP := $(VENV)/.installed-dev
BENCH_STAMP := $(VENV)/.installed-bench

.PHONY: help venv dev-venv run demo migrate bootstrap lint schema test bench deploy-check clean

help:
	@echo "make run           migrate, bootstrap, then web + Celery worker + beat under honcho (Ctrl-C stops all)"
	@echo "make demo          make run plus a simulated fleet (manage.py simulate), then says where to log in"
	@echo "                   (AURA_DEMO_ARGS='--reports 1000 --rate 5' sizes it; default --reports 500)"
	@echo "make test          the whole test suite, in TEST_PROCESSES=2 processes (pytest args: PYTEST_ARGS='-k health -x')"
	@echo "make migrate       apply database migrations"
	@echo "make bootstrap     create the role groups and, once, the Director account"
	@echo "make lint          ruff check ."
	@echo "make schema        validate the OpenAPI schema and write it to $(SCHEMA_FILE)"
	@echo "make bench         issue 8's benchmarks on throwaway PostgreSQL databases; writes docs/PERFORMANCE.md"
	@echo "                   (BENCH_ARGS='--quick' for a smoke run; BENCH_ARGS='--help' for sizes and knobs)"
	@echo "make deploy-check  manage.py check --deploy with production settings"

$(PY):
	@test -n "$(PYTHON)" || { echo "No Python 3.11+ found; run make with PYTHON=/path/to/python3.11" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required; run make with PYTHON=/path/to/python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(RUNTIME_STAMP): requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@ $(RUNTIME_STAMP)

# The benchmark's extras (the seeds' FastAPI stack for their baseline) on top of the runtime.
$(BENCH_STAMP): requirements.txt bench/requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt -r bench/requirements.txt
	@touch $@ $(RUNTIME_STAMP)

venv: $(RUNTIME_STAMP)
dev-venv: $(DEV_STAMP)

migrate: $(RUNTIME_STAMP)
	$(PY) manage.py migrate --noinput

bootstrap: migrate
	$(PY) manage.py bootstrap

# honcho runs each Procfile entry in its own process group and, on Ctrl-C (SIGINT) or SIGTERM, stops
# them all (SIGTERM, then SIGKILL after 5 s). `exec` leaves no shell in between to swallow the signal.
run: bootstrap
	$(PY) manage.py createcachetable
	exec env PATH="$(abspath $(BIN)):$$PATH" $(BIN)/honcho start -f Procfile

# `make run` plus a fourth process (Procfile.demo) that waits for /healthz, drives a simulated fleet through the
# API, prints where the Director logs in, then idles: honcho stops everything when any one process ends.
# The Director's one-time password, when bootstrap creates the account, is shown again at the end.
demo: migrate
	$(PY) manage.py createcachetable
	@password="$$(set -o pipefail; $(PY) manage.py bootstrap | tee /dev/stderr | sed -n 's/^  password: //p')" || exit 1; \
	exec env AURA_DEMO_PASSWORD="$$password" PATH="$(abspath $(BIN)):$$PATH" $(BIN)/honcho start -f Procfile.demo

lint: $(DEV_STAMP)
	$(BIN)/ruff check .

schema: $(RUNTIME_STAMP)
	$(PY) manage.py spectacular --validate --fail-on-warn --file $(SCHEMA_FILE)
	@echo "OpenAPI schema written to $(SCHEMA_FILE)"

test: $(DEV_STAMP)
	$(PY) -m pytest -n $(TEST_PROCESSES) --dist loadfile $(PYTEST_ARGS)

# Needs PostgreSQL (BENCH_PG_URL, default postgresql://postgres@127.0.0.1:5432) and Redis (BENCH_REDIS_URL,
# default redis://127.0.0.1:6379/11); makes and drops its own databases.
bench: $(BENCH_STAMP)
	$(PY) bench/run.py $(BENCH_ARGS)

deploy-check: $(RUNTIME_STAMP)
	AURA_ENV=production ALLOWED_HOSTS=$${ALLOWED_HOSTS:-example.com} \
	SECRET_KEY="$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))')" \
	$(PY) manage.py check --deploy --fail-level WARNING

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache staticfiles
