# The two commands the README promises: `make dev` and `make test`.
# Both create the virtualenv if it is missing and install what is pinned.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: dev test install lint infra-lint unit bench clean

$(STAMP): requirements.txt tests/requirements.txt
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
