# One entry for developer tasks. Every target uses the project's own virtual environment.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: install test all lint typecheck check bench chaos demo

$(VENV)/bin/wavefront:
	python3 -m venv $(VENV) && $(VENV)/bin/pip install -q -e '.[test,ray]'

install: $(VENV)/bin/wavefront

test: install          ## the whole suite, with what is installed
	$(PY) -m pytest

all:                   ## set up every component, then the whole suite (what CI runs)
	bash scripts/test-all

lint: install          ## ruff on everything
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/lint-imports

typecheck: install     ## mypy --strict on src/
	$(VENV)/bin/mypy

check: lint typecheck test

bench: install         ## the benchmarks behind the README's figures
	$(PY) benchmarks/bench_plan.py
	$(PY) benchmarks/bench_engine.py --quick
	$(PY) benchmarks/compare.py --quick

chaos: install         ## the long chaos run (200+ kills)
	$(PY) -m tests.chaos.chaos --long

demo: install
	$(VENV)/bin/wavefront demo
