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

i18n: $(STAMP)
	@echo "No translatable messages yet: the catalogs arrive with the Telegram layer."

migrate: $(STAMP)
	$(BIN)/outpost migrate

bench: $(STAMP)
	$(BIN)/python bench/services.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
