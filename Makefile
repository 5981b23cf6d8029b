# Two commands matter (see README): `make report` and `make test`.
# Both create .venv with the system python3 and install the package first; both are idempotent.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DATA   ?= data/sample/visits.csv
OUT    ?= reports
PYTEST_WORKERS ?= 2

.PHONY: help setup report test test-fast check lint typecheck imports docs lab notebooks sample bench clean

help:
	@echo "make report     run the full analysis on $(DATA) and write $(OUT)/report.html"
	@echo "make test       unit tests, doctests, calibration simulations and strict nbval"
	@echo "make test-fast  the same without slow simulations and notebooks"
	@echo "make check      ruff (lint + format), mypy --strict, import-linter contracts"
	@echo "make docs       API reference (Sphinx, warnings are errors) -> build/docs/index.html"
	@echo "make lab        JupyterLab on the notebooks"
	@echo "make notebooks  re-execute notebooks/ and commit-ready outputs (after code changes)"
	@echo "make sample     regenerate data/sample/visits.csv (byte-identical)"
	@echo "make bench      performance benchmarks (benchmarks/run.py)"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,lab,dask,dev,docs]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

setup: $(STAMP)

report: $(STAMP)
	$(BIN)/outcomes report $(DATA) --out $(OUT)

test: $(STAMP)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile -q \
		--nbval --nbval-current-env --nbval-sanitize-with $(CURDIR)/notebooks/sanitize.cfg \
		tests src/outcomes tools notebooks

test-fast: $(STAMP)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -q -m "not slow" tests src/outcomes tools

check: lint typecheck imports

lint: $(STAMP)
	$(BIN)/ruff check src tests tools benchmarks notebooks
	$(BIN)/ruff format --check src tests tools benchmarks notebooks

typecheck: $(STAMP)
	$(BIN)/mypy

imports: $(STAMP)
	$(BIN)/lint-imports

docs: $(STAMP)
	$(BIN)/sphinx-build -W --keep-going -n -b html docs/api build/docs

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

notebooks: $(STAMP)
	$(BIN)/python tools/notebooks_build.py

sample: $(STAMP)
	$(BIN)/python -c "from outcomes.ingest.synth import write_sample; write_sample('data/sample/visits.csv')"

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) $(OUT) build *.egg-info src/*.egg-info
