# Everyday commands. Each creates the virtualenv ($(VENV)) on first use.
#
#   make demo    run the sandbox site and a task worker (http://127.0.0.1:$(PORT)/admin/)
#   make test    run the whole test suite (honours DATABASE_URL and REDIS_URL)
#   make lint    ruff check + ruff format --check
#   make docs    build the documentation into site/ (mkdocs, strict)
#
# VENV=.venv-other and EXTRA="'wagtail>=7.4,<7.5'" test against other versions.

PYTHON ?= python3
VENV ?= .venv
EXTRA ?=
PORT ?= 8000
PYTEST_ARGS ?=

PY := $(abspath $(VENV))/bin/python
# Quiet pip that still prints errors.
PIP := $(PY) -m pip --quiet --disable-pip-version-check --no-input

.PHONY: demo test lint format docs docs-serve clean

$(PY):
	$(PYTHON) -m venv $(VENV)

demo: $(PY)
	$(PIP) install -e . -r sandbox/requirements.txt
	cd sandbox && $(PY) manage.py migrate --noinput -v0
	cd sandbox && $(PY) manage.py load_demo
	PYTHON=$(PY) PORT=$(PORT) sandbox/run.sh

test: $(PY)
	$(PIP) install -e ".[test]" $(EXTRA)
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(PY)
	$(PIP) install -e ".[test]"
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

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
	rm -rf build dist site *.egg-info sandbox/static
