# The two commands the README promises: `make dev` and `make test`.
# Both create the virtualenv if it is missing and install what is pinned.
# Python 3.12: the Lambda runtime the bundle targets (python3.12, Amazon Linux 2023), so
# the tests, the local stage and `chalice package` (which takes the runtime from the
# interpreter running it) all use the same version.
PYTHON ?= $(shell command -v python3.12 >/dev/null && python3.12 -c "" 2>/dev/null && command -v python3.12 || ls $$HOME/.pyenv/versions/3.12.*/bin/python3.12 2>/dev/null | tail -n 1)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# checkov pins libraries the app pins differently: it lives in a virtualenv of its own
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-stamp
# the stage and region `make package` builds for (and `make test` checks)
STAGE ?= prod
REGION ?= cn-north-1

TS := clients/typescript

.PHONY: dev test install lint infra-lint ts-check unit bench clean routes package package-check

$(STAMP): requirements.txt tests/requirements.txt
	@test -n "$(PYTHON)" || { echo "Python 3.12 is needed (python3.12 on PATH, or set PYTHON=/path/to/python3.12)"; exit 1; }
	$(BIN)/python -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null || rm -rf $(VENV)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=24,<26.3"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt
	touch $@

$(CHECKOV_STAMP): tests/requirements-checkov.txt
	@test -n "$(PYTHON)" || { echo "Python 3.12 is needed"; exit 1; }
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r tests/requirements-checkov.txt
	touch $@

install: $(STAMP)

## Serve the API on http://127.0.0.1:$${PORT:-8000} over an embedded in-memory DynamoDB (moto).
dev: $(STAMP)
	$(BIN)/python -m chalicelib.local

## Install, lint, package for Lambda, check the bundle and both templates, type-check the
## TypeScript client generated from the contract, run the whole suite.
test: $(STAMP) lint infra-lint ts-check package-check
	$(BIN)/python -m pytest -n 2

## The Lambda bundle and its template for $(STAGE) in $(REGION): out/$(STAGE)/deployment.zip and sam.yaml.
package: $(STAMP)
	$(BIN)/python infra/package.py --stage $(STAGE) --region $(REGION)

## Every handler of the packaged template imported from the bundle alone; the template's promises.
package-check: package
	PACKAGE_DIR=out/$(STAGE) $(BIN)/python -m pytest tests/packaging

lint: $(STAMP)
	$(BIN)/ruff check app.py chalicelib infra tests clients

infra-lint: $(STAMP) $(CHECKOV_STAMP) package
	$(BIN)/cfn-lint infra/template.yaml out/$(STAGE)/sam.yaml
	$(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml -f infra/template.yaml -f out/$(STAGE)/sam.yaml

## The OpenAPI document (built in process), TypeScript types generated from it, and
## `tsc --strict` over them and a hand-written client (clients/typescript/example.ts).
ts-check: $(STAMP) $(TS)/node_modules/.package-lock.json
	STAGE=local $(BIN)/python $(TS)/write_openapi.py $(TS)/openapi.json
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
	$(BIN)/python -m tests.benchmarks.bench_code_request
	$(MAKE) package
	$(BIN)/python -m tests.benchmarks.bench_cold_import --package out/$(STAGE)

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) out .pytest_cache .hypothesis .ruff_cache $(TS)/node_modules $(TS)/openapi.json $(TS)/api.d.ts

## Write the authorizer's access table from the route declarations (a test says when it is due).
routes: $(STAMP)
	STAGE=local $(BIN)/python -m chalicelib.entrypoints.access
