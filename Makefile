# Relais: every set-up step lives here, so a fresh clone needs only `make test` or `make demo`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DOMAIN := relais

.PHONY: help install catalogs extract update-catalogs lint format test demo sandbox run check bench clean

help:
	@echo "make test     install, compile the catalogs, lint, type-check and run the tests"
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

test: $(STAMP) catalogs lint
	$(BIN)/pytest -q

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
