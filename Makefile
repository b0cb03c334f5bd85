# Everyday commands. Each creates the virtualenv ($(VENV)) on first use.
#
#   make demo    run the sandbox site and a task worker (http://127.0.0.1:$(PORT)/admin/)
#   make test    run the whole test suite, browser tests included (honours DATABASE_URL and REDIS_URL)
#   make lint    ruff check + ruff format --check + the layers check (lint-imports)
#   make docs    build the documentation into site/ (mkdocs, strict)
#
# VENV=.venv-other and EXTRA="'wagtail>=7.4,<7.5'" test against other versions; PYTHON picks
# the interpreter that creates a new $(VENV), e.g.
#   make test VENV=.venv-py313 PYTHON=python3.13 EXTRA="'Django>=6.1,<6.2'"

PYTHON ?= python3
VENV ?= .venv
EXTRA ?=
PORT ?= 8000
PYTEST_ARGS ?=

PY := $(abspath $(VENV))/bin/python
# Quiet pip that still prints errors.
PIP := $(PY) -m pip --quiet --disable-pip-version-check --no-input

.PHONY: demo test chromium lint format docs docs-serve clean

$(PY):
	$(PYTHON) -m venv $(VENV)

demo: $(PY)
	$(PIP) install -e . -r sandbox/requirements.txt
	cd sandbox && $(PY) manage.py migrate --noinput -v0
	cd sandbox && $(PY) manage.py load_demo
	PYTHON=$(PY) PORT=$(PORT) sandbox/run.sh

test: $(PY) chromium
	$(PIP) install -e ".[test]" $(EXTRA)
	$(PY) -m pytest $(PYTEST_ARGS)

# The browser tests drive Debian's Chromium (Playwright downloads no browser). Installed
# when missing and we can (root with apt-get); otherwise those tests skip and say why.
chromium:
	@command -v chromium >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1 || \
		{ echo "Installing chromium for the browser tests"; apt-get update -qq && \
		  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
		echo "Could not install chromium: the browser tests will be skipped"

lint: $(PY)
	$(PIP) install -e ".[test]"
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(abspath $(VENV))/bin/lint-imports

format: $(PY)
	$(PIP) install -e ".[test]"
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

docs: $(PY)
	$(PIP) install -e ".[docs]"
	$(PY) -m mkdocs build --strict

docs-serve: $(PY)
	$(PIP) install -e ".[docs]"
	$(PY) -m mkdocs serve

clean:
	rm -rf build dist site *.egg-info sandbox/static .import_linter_cache
