# Everything runs from .venv in the repository root; the first target that needs it
# creates it, so a fresh clone with only Python 3.11 needs nothing else.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint i18n catalogs migrate bench venv lock clean browser fonts calc screenshots

# Installs are pinned, with hashes: requirements.lock is the runtime (what deploy/
# installs), requirements-dev.lock the same pins plus the dev extra (what every target
# here and CI install). Both are made from pyproject.toml by pip-tools' pip-compile
# rather than uv: it resolves with pip itself, the installer used here and in the
# Dockerfile, and it is a pure-Python package `make lock` puts into .venv when first
# needed (never a dependency of the bot), with no second toolchain to trust. Its files
# are plain requirements files any pip reads. They are resolved for CPython 3.11 on
# Linux, what CI and the image run.
LOCK := requirements.lock
DEV_LOCK := requirements-dev.lock

venv: $(STAMP)

# The lock's exact versions, then the project itself (editable, its dependencies
# already there). A dependency added to pyproject.toml but not yet locked stops here.
$(STAMP): pyproject.toml $(DEV_LOCK)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r $(DEV_LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@if $(BIN)/python -m pip check | grep '^outpost '; then \
	  echo "$(DEV_LOCK) does not hold what pyproject.toml asks for: run make lock"; exit 1; \
	fi
	@touch $(STAMP)

# Both lock files again from pyproject.toml. Pins that still fit are kept;
# `make lock LOCK_ARGS=--upgrade` moves everything to the newest release,
# `LOCK_ARGS='-P aiogram'` one package. The dev lock is constrained by the runtime lock,
# so the tests run exactly the versions deploy/ installs. No index URL is written into
# them: pip's own configuration decides where packages come from.
PIP_COMPILE = $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links --no-emit-trusted-host $(LOCK_ARGS)
lock:
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@test -x $(BIN)/pip-compile || $(BIN)/python -m pip install --quiet pip-tools
	$(PIP_COMPILE) --output-file=$(LOCK) pyproject.toml
	$(PIP_COMPILE) --extra=dev --constraint=$(LOCK) --output-file=$(DEV_LOCK) pyproject.toml

# With a BOT_TOKEN (in the environment or in .env) the real bot, migrating first;
# without one the offline demo: the sandbox, the bot and a sample district, in a browser.
# DEMO_ARGS passes options to it, e.g. `make run DEMO_ARGS=--reset`.
run: $(STAMP) catalogs fonts
	@if [ -n "$$BOT_TOKEN" ] || grep -Eqs '^[[:space:]]*BOT_TOKEN[[:space:]]*=[[:space:]]*[^[:space:]#]' .env; then \
	  $(BIN)/outpost migrate && exec $(BIN)/outpost run; \
	else \
	  exec $(BIN)/outpost demo $(DEMO_ARGS); \
	fi

test: $(STAMP) catalogs browser fonts calc
	$(BIN)/python -m pytest -n auto

# The browser tests drive Debian's Chromium (Playwright's own browser download needs the
# internet); CJK and emoji fonts keep the page's Chinese and the bot's emoji readable in
# their screenshots.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@if ! command -v chromium >/dev/null || ! fc-list :lang=zh 2>/dev/null | grep -q . \
	    || ! fc-list 2>/dev/null | grep -qi 'color emoji'; then \
	  echo "installing Debian's chromium, fonts-noto-cjk and fonts-noto-color-emoji for the browser tests"; \
	  $(SUDO) sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk fonts-noto-color-emoji' >/dev/null \
	    || echo "warning: could not install chromium; the browser tests will say so"; \
	fi

# /report draws its charts with Chinese labels: Debian's Noto CJK font, found by
# bot/reports/charts.py, or the charts are refused with a message saying so.
fonts:
	@if ! fc-list :lang=zh 2>/dev/null | grep -q .; then \
	  echo "installing Debian's fonts-noto-cjk for the charts' Chinese labels"; \
	  $(SUDO) sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends fonts-noto-cjk fontconfig' >/dev/null \
	    || echo "warning: could not install fonts-noto-cjk; /report will say it cannot draw"; \
	fi

# The workbook's tests open /export's file in LibreOffice Calc, headless, as an office
# would open it (Debian's, without its desktop parts).
calc:
	@if ! command -v soffice >/dev/null; then \
	  echo "installing Debian's libreoffice-calc-nogui for the workbook's tests"; \
	  $(SUDO) sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libreoffice-calc-nogui' >/dev/null \
	    || echo "warning: could not install LibreOffice; the workbook's LibreOffice tests will say so"; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m bot.catalog_check
	$(BIN)/python -m bot.shape_check

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

# The README's pictures: the browser test's screenshots of the demo, saved into docs/.
screenshots: $(STAMP) catalogs browser
	OUTPOST_SCREENSHOTS=docs $(BIN)/python -m pytest -q tests/demo/test_chat_page.py

migrate: $(STAMP)
	$(BIN)/outpost migrate

bench: $(STAMP)
	$(BIN)/python bench/services.py
	$(BIN)/python bench/conversations.py --observers 20 --latency-ms 100
	$(BIN)/python bench/throughput.py --latency-ms 100 --people 40 --db both
	$(BIN)/python bench/throughput.py --latency-ms 0 --people 40 --db both
	$(BIN)/python bench/cost.py --db both --by-type
	$(BIN)/python bench/memory.py
	$(BIN)/python bench/broadcast.py
	$(BIN)/python bench/faults.py
	$(BIN)/python bench/reports.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
