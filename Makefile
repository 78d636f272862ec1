# Relais: every set-up step lives here, so a fresh clone needs only `make test` or `make demo`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DOMAIN := relais

.PHONY: help install catalogs extract update-catalogs lint format test test-fast test-clients clients demo sandbox run check bench clean

help:
	@echo "make test     install, compile the catalogs, lint, type-check and run the tests, with coverage"
	@echo "make test-fast  the inner loop: the tests without resilience, clients and slow, on two cores"
	@echo "make test-clients  open the demo's exports in LibreOffice Calc and print its report with Chromium"
	@echo "make demo     play the scripted demo: the real bot against a local Telegram emulator"
	@echo "make sandbox  chat with the bot in this terminal (no token, no network)"
	@echo "make run      run the bot against Telegram (RELAIS_BOT_TOKEN in the environment or .env)"
	@echo "make check    validate the content files in conversations/"
	@echo "make bench    run the benchmarks (~30 min; python -m benchmarks --quick for a smoke test)"
	@echo "make extract / update-catalogs / catalogs   gettext workflow (see README)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall whenever the declared dependencies change.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(STAMP)

catalogs: $(STAMP)
	$(BIN)/pybabel compile -d locales -D $(DOMAIN) --statistics

extract: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg --sort-by-file --no-wrap \
		--msgid-bugs-address="" --project=Relais -o locales/$(DOMAIN).pot bot

update-catalogs: extract
	$(BIN)/pybabel update -i locales/$(DOMAIN).pot -d locales -D $(DOMAIN) --no-wrap --previous

lint: $(STAMP)
	$(BIN)/ruff check bot tests benchmarks
	$(BIN)/ruff format --check bot tests benchmarks
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format bot tests benchmarks
	$(BIN)/ruff check --fix bot tests benchmarks

# The full run, as CI calls it: the coverage of bot/ is measured and its total printed.
# Everything but the resilience tests on both cores; those (kill -9, faults) then run
# alone, so that their timing is not shared with another worker.
test: $(STAMP) catalogs lint
	$(BIN)/pytest -q -n 2 -m "not clients and not resilience" --cov=bot --cov-report=
	$(BIN)/pytest -q -m "resilience and not clients" --cov=bot --cov-append --cov-report=
	@echo "coverage of bot/: $$($(BIN)/coverage report --format=total)%"

# The inner loop: no install, no catalogs, no lint (run `make install catalogs` once), on
# both cores; the resilience tests (kill -9, faults), the clients tests and the larger
# `slow` cases are left to `make test`.
# The inner loop runs again and again: Python keeps the compiled modules and pytest its
# rewritten test modules in __pycache__ (ignored by git), even where the environment sets
# PYTHONDONTWRITEBYTECODE (as containers do), so that a rerun compiles only what changed.
test-fast:
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/pytest -q -n 2 --dist worksteal \
		-m "not clients and not resilience and not slow" --durations=10

# The programs people open the files with, from the distribution's packages (Debian names):
# LibreOffice Calc without its GUI, Chromium, poppler's PDF tools, fonts for Arabic.
CLIENT_PACKAGES := libreoffice-calc-nogui chromium poppler-utils fonts-noto-core fonts-dejavu-core
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

clients:
	@missing=$$(for p in $(CLIENT_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
			-o DPkg::Lock::Timeout=600 $$missing; \
	fi

test-clients: $(STAMP) catalogs clients
	$(BIN)/pytest -q -m clients

check: $(STAMP)
	$(BIN)/relais check

demo: $(STAMP) catalogs
	$(BIN)/relais demo --out demo-output

sandbox: $(STAMP) catalogs
	$(BIN)/relais sandbox --clock

run: $(STAMP) catalogs
	$(BIN)/relais run

bench: $(STAMP) catalogs
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) demo-output .pytest_cache .mypy_cache .ruff_cache
	find locales -name '*.mo' -delete
