# One entry point for users and CI. `make test` builds .venv if missing, installs the package (editable, with
# its dev extras, torch pinned by constraints.txt), and runs the suite.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv test lint demo clean-demo

$(STAMP): pyproject.toml requirements-dev.txt constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q -c constraints.txt -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q tests

lint: $(STAMP)
	$(BIN)/ruff check .

demo: $(STAMP)
	$(BIN)/python tracking/run_demo.py

clean-demo:
	rm -rf demo_workspace
