# Each target installs what it needs first; `make install` is idempotent.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install run check test lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,diffusion]'
	touch $(STAMP)

run: install
	$(VENV)/bin/s2v serve

lint: install
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/lint-imports --no-cache

# The fast tier: every test that needs no server, browser, Redis or PostgreSQL (tests/conftest.py),
# less the 42 `slow` portrait-motion checks (they render and track 13 videos); `make test` runs all.
check: install lint
	$(VENV)/bin/pytest -m "not server and not slow" -n 2

# The whole suite in two test processes (a file's tests stay together: its servers are shared).
# The API fuzz runs first on its own: schemathesis gives its 24 operations one node id, and
# xdist runs a node id once.
FUZZ := tests/security/test_fuzz_api.py
test: install lint
	$(VENV)/bin/pytest $(FUZZ)
	$(VENV)/bin/pytest -n 2 --dist loadfile --ignore=$(FUZZ)

bench: install
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(PY) benchmarks/run.py $(BENCH)

clean:
	rm -rf $(VENV) .s2v .pytest_cache build *.egg-info src/*.egg-info
