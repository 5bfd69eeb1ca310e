# One entry point for users and CI. `make test` builds .venv if missing, installs the package (editable, with
# its dev extras, torch pinned by constraints.txt), and runs the suite.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv browser test lint demo clean-demo

$(STAMP): pyproject.toml requirements-dev.txt constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q -c constraints.txt -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

# tests/test_app_browser.py drives the app in Debian's Chromium through chromedriver: installed here where missing
# (as root with apt-get, as on CI); otherwise the test fails saying what to install
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver; \
	  else \
	    echo "chromium or chromedriver missing: sudo apt-get install chromium chromium-driver (the browser test needs them)"; \
	  fi; \
	fi

test: $(STAMP) browser
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q tests

lint: $(STAMP)
	$(BIN)/ruff check .

demo: $(STAMP)
	$(BIN)/python tracking/run_demo.py

clean-demo:
	rm -rf demo_workspace
