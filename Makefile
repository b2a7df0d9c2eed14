# The only place that knows how to install, run and test the service.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
HOST ?= 127.0.0.1
PORT ?= 5000
WORKERS ?= 2
TEST_PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
TEST_PGBOUNCER_URL ?= postgresql+psycopg://postgres@127.0.0.1:6432/test

.PHONY: install run serve migrate rules api-key test test-sqlite test-postgres test-pgbouncer test-slow lint bench bench-deps bench-http bench-batch clean browser

$(BIN)/activate: pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11 or run make PYTHON=python3"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	@touch $(BIN)/activate

install: $(BIN)/activate

migrate: install
	$(FLASK) db upgrade

rules: migrate
	$(FLASK) rules load rules/

api-key: rules
	@echo "API key: $$($(FLASK) dev api-key)"

## make run: install, migrate the embedded SQLite database, load rules/, serve on $(HOST):$(PORT)
## with $(WORKERS) workers (deploy/gunicorn.conf.py: metrics added up across them, one log line per request)
run: api-key
	@echo "Serving on http://$(HOST):$(PORT)  (docs: http://$(HOST):$(PORT)/docs)"
	$(BIN)/gunicorn -c deploy/gunicorn.conf.py --bind $(HOST):$(PORT) --workers $(WORKERS) app:app

## axe-core for the browser tests' accessibility checks (npm; skipped with a note when npm is missing)
AXE := tests/node_modules/axe-core/axe.min.js
$(AXE): tests/package.json tests/package-lock.json
	@if command -v npm >/dev/null; then cd tests && npm ci --silent --no-audit --no-fund; \
	else echo "NOTE: npm not found: the accessibility checks (axe-core) will be skipped."; fi

## make test: the whole suite; PostgreSQL part runs when LOYALTY_TEST_DATABASE_URL is set
test: install $(AXE)
	@if [ -z "$$LOYALTY_TEST_DATABASE_URL" ]; then \
	  echo "NOTE: LOYALTY_TEST_DATABASE_URL is not set: the PostgreSQL suite is SKIPPED (SQLite only)."; \
	  echo "      Run 'make test-postgres' or set it, e.g. $(TEST_PG_URL)"; fi
	$(BIN)/pytest -m "not slow" -n 2 -q
	@if [ -z "$$LOYALTY_TEST_DATABASE_URL" ]; then echo "NOTE: PostgreSQL suite was SKIPPED."; fi

test-postgres:
	LOYALTY_TEST_DATABASE_URL=$(TEST_PG_URL) $(MAKE) test

## make test-pgbouncer: the PostgreSQL half of the suite again, through PgBouncer in transaction pooling
## (.ci/pgbouncer.sh starts it on 127.0.0.1:6432 with deploy/pgbouncer.ini), as shops deploy PostgreSQL
test-pgbouncer: install $(AXE)
	LOYALTY_TEST_DATABASE_URL=$(TEST_PGBOUNCER_URL) LOYALTY_TEST_PGBOUNCER_URL=$(TEST_PGBOUNCER_URL) \
	LOYALTY_TEST_REPLICATION_URL=$(TEST_PG_URL) \
	DATABASE_TRANSACTION_POOLER=1 $(BIN)/pytest -m "not slow and not direct_connection" -n 2 -q -k postgres

test-slow: install $(AXE)
	$(BIN)/pytest -m slow -n 2 -q

## make browser: Debian's Chromium for the browser tests (Playwright drives it; it never downloads a browser)
browser:
	@if [ -x /usr/bin/chromium ]; then echo "Chromium: $$(/usr/bin/chromium --version 2>/dev/null)"; \
	elif command -v apt-get >/dev/null; then \
	  SUDO=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else echo "No /usr/bin/chromium and no apt-get: the browser tests will be skipped."; fi

lint: install
	$(BIN)/ruff check .

bench: install
	$(BIN)/python bench/engine.py

## make bench-deps: wrk (Debian package), the closed-loop load generator of bench/http_load.py
bench-deps:
	@if command -v wrk >/dev/null; then echo "wrk: $$(command -v wrk)"; \
	elif command -v apt-get >/dev/null; then \
	  SUDO=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; \
	else echo "Install wrk to run bench/http_load.py"; exit 1; fi

## make bench-http: HTTP throughput/latency vs the stack's ceiling, SQLite and PostgreSQL
bench-http: install bench-deps
	$(BIN)/python bench/http_load.py

## make bench-expiry: the expiry job on 1,000,000 lots, SQLite and PostgreSQL (LOYALTY_BENCH_DATABASE_URL)
bench-expiry: install
	$(BIN)/python bench/expiry.py

## make bench-batch: POST /v1/events/batch (batches of 500) against single accruals, SQLite and PostgreSQL
bench-batch: install
	$(BIN)/python bench/batch.py
	$(BIN)/python bench/batch.py --url postgresql+psycopg://postgres@127.0.0.1:5432/loyalty_bench_batch

clean:
	rm -rf $(VENV) instance .pytest_cache tests/node_modules
