# Everything runs from .venv in the repository root; the first target that needs it
# creates it, so a fresh clone with only Python 3.11 needs nothing else.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint i18n catalogs migrate bench venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP) catalogs
	$(BIN)/outpost migrate
	$(BIN)/outpost run

test: $(STAMP) catalogs
	$(BIN)/python -m pytest -n auto

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m bot.catalog_check

# Extract every _() string, merge it into each catalog (creating missing ones), fill
# the English catalog from the source text, and compile the .mo files, which are build
# output and never committed. New zh_CN entries are then translated by hand;
# `make lint` fails until they are.
LOCALES := zh_CN en
i18n: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _ -k __ -k N_ --sort-by-file --omit-header -o locales/messages.pot .
	@for lang in $(LOCALES); do \
	  if [ -f locales/$$lang/LC_MESSAGES/messages.po ]; then \
	    $(BIN)/pybabel update -i locales/messages.pot -d locales -D messages -l $$lang --no-fuzzy-matching --ignore-obsolete; \
	  else \
	    $(BIN)/pybabel init -i locales/messages.pot -d locales -D messages -l $$lang; \
	  fi; \
	done
	$(BIN)/python -m bot.catalog_check --fill-en
	$(BIN)/pybabel compile -d locales -D messages --statistics

# The compiled catalogs the bot loads (it compiles a stale one in memory otherwise).
MO := $(foreach lang,$(LOCALES),locales/$(lang)/LC_MESSAGES/messages.mo)
catalogs: $(MO)
locales/%/LC_MESSAGES/messages.mo: locales/%/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/pybabel compile -d locales -D messages -l $*

migrate: $(STAMP)
	$(BIN)/outpost migrate

bench: $(STAMP)
	$(BIN)/python bench/services.py
	$(BIN)/python bench/conversations.py --observers 20 --latency-ms 100
	$(BIN)/python bench/throughput.py
	$(BIN)/python bench/broadcast.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
