# The two commands the README promises: `make dev` and `make test`.
# Both create the virtualenv if it is missing and install what is pinned.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

TS := clients/typescript

.PHONY: dev test install lint infra-lint ts-check unit bench clean

$(STAMP): requirements.txt tests/requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=24,<26.3"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt
	touch $@

install: $(STAMP)

## Serve the API on http://127.0.0.1:$${PORT:-8000} over an embedded in-memory DynamoDB (moto).
dev: $(STAMP)
	$(BIN)/python -m chalicelib.local

## Install, lint, validate the infra template, type-check the TypeScript client, run the whole suite.
test: $(STAMP) lint infra-lint ts-check
	$(BIN)/python -m pytest -n 2

lint: $(STAMP)
	$(BIN)/ruff check app.py chalicelib tests clients

infra-lint: $(STAMP)
	$(BIN)/cfn-lint infra/template.yaml

## The OpenAPI document (built in process), TypeScript types generated from it, and
## `tsc --strict` over them and a hand-written client (clients/typescript/example.ts).
ts-check: $(STAMP) $(TS)/node_modules/.package-lock.json
	$(BIN)/python $(TS)/write_openapi.py $(TS)/openapi.json
	cd $(TS) && node_modules/.bin/openapi-typescript openapi.json --default-non-nullable false -o api.d.ts
	cd $(TS) && node_modules/.bin/tsc -p tsconfig.json --strict --noEmit

# npm ci only when node_modules is missing or the lock file changed
$(TS)/node_modules/.package-lock.json: $(TS)/package-lock.json
	cd $(TS) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

## Benchmarks are run on purpose, never by `make test`; they print their figures.
bench: $(STAMP)
	$(BIN)/python -m tests.benchmarks.bench_settlement
	$(BIN)/python -m tests.benchmarks.bench_points

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .ruff_cache $(TS)/node_modules $(TS)/openapi.json $(TS)/api.d.ts
