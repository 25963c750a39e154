# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test setup clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

## Set up, create the demo database on first run, and serve on http://127.0.0.1:5000
run: $(STAMP)
	@$(BIN)/gridflow processes validate
	@if [ ! -f instance/gridflow.db ] && [ -z "$$GRIDFLOW_DATABASE_URL" ]; then $(BIN)/gridflow init --demo; fi
	@$(BIN)/gridflow processes deploy
	$(BIN)/gridflow serve

## Set up and run the whole test suite (SQLite; PostgreSQL too when GRIDFLOW_TEST_DATABASE_URL is set)
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) instance .pytest_cache
