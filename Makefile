# The two commands a newcomer needs: `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export PORT

.PHONY: run test lint format bench bench-workbench bench-rescore migrate seed translations browser clean help

help:
	@echo "make run    - install, migrate, seed the demo when empty, start web + worker + beat"
	@echo "make test   - the whole test suite plus ruff and the import contracts"
	@echo "make bench  - the sweep, reminder, rescoring and workbench benchmarks (docs/performance.md)"
	@echo "make bench-workbench - the collections workbench pages with 100k open cases"
	@echo "make bench-rescore - nightly rescoring of 250k customers (also run by make bench)"

$(VENV)/bin/activate:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Reinstall only when the pinned dependencies change.
$(VENV)/.installed: pyproject.toml | $(VENV)/bin/activate
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

var:
	mkdir -p var/broker/queue var/broker/processed var/screenshots var/bench

migrate: $(VENV)/.installed | var
	$(PY) manage.py migrate --noinput

# The message catalogs (locale/*/LC_MESSAGES/django.po) compiled to .mo with polib: no GNU
# gettext needed, and the .mo files are build output, never committed.
translations: $(VENV)/.installed
	$(PY) manage.py compile_translations --verbosity 0

seed: migrate
	$(PY) manage.py seed_demo --if-empty

run: seed translations
	@echo "Starting web, Celery worker and Celery beat; open http://127.0.0.1:$(PORT)/"
	$(VENV)/bin/honcho -f Procfile.dev start

# The browser tests drive Debian's Chromium (never a downloaded browser) and need CJK fonts
# for Chinese pages; install them when missing and apt-get is at hand (CI runs as root).
browser:
	@if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "noto.*cjk"; then \
		if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
			(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk) >/dev/null; \
		else \
			echo "browser tests need: apt-get install -y chromium fonts-noto-cjk"; \
		fi; \
	fi

test: $(VENV)/.installed translations browser | var
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-logo
	DJANGO_SETTINGS_MODULE=bnpl_admin.settings.test $(PY) manage.py check
	DJANGO_SETTINGS_MODULE=bnpl_admin.settings.test $(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/pytest

# The sweep benchmark (docs/performance.md). SCALE=0.02 for a quick run; BENCH_BROKER=redis://...
# times the two-worker sweep on Celery (otherwise on two OS processes); BENCH_ARGS for more
# (--more-chunk-sizes 5000,10000, --repeat 3, --reuse-book). Without DATABASE_URL it drops and
# builds the throwaway PostgreSQL database bnpl_bench on 127.0.0.1:5432.
SCALE ?= 1.0
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/bnpl_bench
BENCH_BROKER ?=
BENCH_ARGS ?=
bench: $(VENV)/.installed | var
	DATABASE_URL="$${DATABASE_URL:-$(BENCH_DATABASE_URL)}" $(PY) -m bench.run --scale $(SCALE) \
		$(if $(BENCH_BROKER),--broker $(BENCH_BROKER)) $(BENCH_ARGS)
	$(MAKE) bench-rescore
	$(MAKE) bench-workbench BENCH_ARGS="$(WORKBENCH_ARGS)"

# Nightly rescoring (risk) of the same size of book, one process and two workers, first and
# second nights (docs/performance.md): builds (or with RESCORE_ARGS=--reuse-book restores) the
# PostgreSQL database bnpl_risk_bench.
BENCH_RESCORE_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/bnpl_risk_bench
RESCORE_ARGS ?=
bench-rescore: $(VENV)/.installed | var
	DATABASE_URL="$(BENCH_RESCORE_DATABASE_URL)" $(PY) -m bench.rescore --scale $(SCALE) $(RESCORE_ARGS)

# The collections workbench pages on a book with about 100,000 open cases (docs/performance.md):
# builds (or with BENCH_ARGS=--reuse-book restores) the PostgreSQL database bnpl_bench_workbench.
BENCH_WORKBENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/bnpl_bench_workbench
# What `make bench` passes: the saved workbench book is restored when it matches (built otherwise).
WORKBENCH_ARGS ?= --reuse-book
bench-workbench: $(VENV)/.installed | var
	DATABASE_URL="$(BENCH_WORKBENCH_DATABASE_URL)" $(PY) -m bench.run --workbench --scale 1.0 $(BENCH_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) var *.egg-info
