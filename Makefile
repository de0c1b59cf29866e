# staffcall: `make demo` runs a simulated store; `make test` runs every test.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
# Modules whose docstring examples `make test` runs (pytest --doctest-modules): they must stay true.
DOCTEST_PATHS := broker/contract broker/core broker/hub broker/callpoint broker/reports broker/web broker/integrations broker/chain broker/mosquitto broker/demo kiosk staff_pager hardware

.PHONY: demo test lint setup clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,kiosk,chain]'
	touch $@

setup: $(VENV)/.installed

demo:
	@deploy/install-deps.sh demo
	@$(MAKE) -s setup
	$(VENV)/bin/staffcall demo

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

test:
	@deploy/install-deps.sh test
	@$(MAKE) -s setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	$(PY) -m pytest -q --doctest-modules $(DOCTEST_PATHS)
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
