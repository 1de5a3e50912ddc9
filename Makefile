# The two commands a newcomer needs: `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export PORT

.PHONY: run test lint format bench migrate seed clean help

help:
	@echo "make run    - install, migrate, seed the demo when empty, start web + worker + beat"
	@echo "make test   - the whole test suite plus ruff"
	@echo "make bench  - the sweep and reminder benchmark (see docs/performance.md)"

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

seed: migrate
	$(PY) manage.py seed_demo --if-empty

run: seed
	@echo "Starting web, Celery worker and Celery beat; open http://127.0.0.1:$(PORT)/"
	$(VENV)/bin/honcho -f Procfile.dev start

test: $(VENV)/.installed | var
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DJANGO_SETTINGS_MODULE=bnpl_admin.settings.test $(PY) manage.py check
	DJANGO_SETTINGS_MODULE=bnpl_admin.settings.test $(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/pytest

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) var *.egg-info
