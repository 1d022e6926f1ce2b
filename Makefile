# mmCAT: `make demo` serves the product with demo data; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: demo test lint install clean bench

$(STAMP): pyproject.toml plugins/mx/pyproject.toml plugins/shipping/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]' -e plugins/mx -e plugins/shipping
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)  ## create .venv, migrate, load demo data, print logins, serve on $(PORT)
	MMCAT_PLUGINS=$${MMCAT_PLUGINS-all} PORT=$(PORT) $(BIN)/mmcat demo

test: $(STAMP)  ## the whole test suite (browser tests need Debian's chromium: installed if root)
	tests/e2e/install-chromium.sh
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)  ## ingest + range-search benchmark vs raw SQL on local PostgreSQL
	$(BIN)/python bench/ingest_search.py $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) var
