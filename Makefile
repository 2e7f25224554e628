# Everything runs from .venv in the repository root; the first target that needs it
# creates it, so a fresh clone with only Python 3.11 needs nothing else.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint i18n migrate bench venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/outpost run

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# Extract every _() string, merge it into each catalog (creating missing ones) and
# compile the .mo files, which are build output and never committed.
LOCALES := zh_CN en
i18n: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _ -k __ -k N_ --sort-by-file --omit-header -o locales/messages.pot .
	@for lang in $(LOCALES); do \
	  if [ -f locales/$$lang/LC_MESSAGES/messages.po ]; then \
	    $(BIN)/pybabel update -i locales/messages.pot -d locales -D messages -l $$lang --no-fuzzy-matching; \
	  else \
	    $(BIN)/pybabel init -i locales/messages.pot -d locales -D messages -l $$lang; \
	  fi; \
	done
	$(BIN)/pybabel compile -d locales -D messages --statistics

migrate: $(STAMP)
	$(BIN)/outpost migrate

bench: $(STAMP)
	$(BIN)/python bench/services.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
