# The two commands the README promises: `make dev` and `make test`.
# Both create the virtualenv if it is missing and install what is pinned.
# Python 3.12: the Lambda runtime the bundle targets (python3.12, Amazon Linux 2023), so
# the tests, the local stage and `chalice package` (which takes the runtime from the
# interpreter running it) all use the same version.
PYTHON ?= $(shell command -v python3.12 >/dev/null && python3.12 -c "" 2>/dev/null && command -v python3.12 || ls $$HOME/.pyenv/versions/3.12.*/bin/python3.12 2>/dev/null | tail -n 1)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: dev test install lint infra-lint unit bench clean routes

$(STAMP): requirements.txt tests/requirements.txt
	@test -n "$(PYTHON)" || { echo "Python 3.12 is needed (python3.12 on PATH, or set PYTHON=/path/to/python3.12)"; exit 1; }
	$(BIN)/python -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null || rm -rf $(VENV)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=24,<26.3"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt
	touch $@

install: $(STAMP)

## Serve the API on http://127.0.0.1:$${PORT:-8000} over an embedded in-memory DynamoDB (moto).
dev: $(STAMP)
	$(BIN)/python -m chalicelib.local

## Install, lint, validate the infra template and run the whole suite.
test: $(STAMP) lint infra-lint
	$(BIN)/python -m pytest -n 2

lint: $(STAMP)
	$(BIN)/ruff check app.py chalicelib tests

infra-lint: $(STAMP)
	$(BIN)/cfn-lint infra/template.yaml

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

## Benchmarks are run on purpose, never by `make test`; they print their figures.
bench: $(STAMP)
	$(BIN)/python -m tests.benchmarks.bench_settlement
	$(BIN)/python -m tests.benchmarks.bench_points

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .ruff_cache

## Write the authorizer's access table from the route declarations (a test says when it is due).
routes: $(STAMP)
	STAGE=local $(BIN)/python -m chalicelib.entrypoints.access
