# Each target installs what it needs first; `make install` is idempotent.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
LOCK := requirements/lock.txt

.PHONY: install run check test lint lock bench clean

install: $(STAMP)

# Exactly the locked versions, hashes checked, nothing resolved: the Debian packages first, then
# every wheel in the lock (pip and the build backend included), then the project itself, editable,
# built by the locked setuptools. A changed lock (or package list) reinstalls.
$(STAMP): $(LOCK) pyproject.toml requirements/system.txt
	scripts/system-deps
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Re-resolves the lock (pip's resolver through pip-tools, so this machine's local torch CPU wheel
# is taken), records the dependency digest, installs it, then runs the checks a new release can
# move: the fast tier and the slow portrait-motion checks. `make lock` keeps every pin that still
# fits pyproject.toml; `make lock UPGRADE=1` takes the newest release of everything.
LOCKER := .venv-lock
lock:
	test -x $(LOCKER)/bin/pip-compile || ($(PYTHON) -m venv $(LOCKER) && \
	  $(LOCKER)/bin/pip install --quiet pip==26.3 pip-tools==7.7.0)
	$(LOCKER)/bin/pip-compile --quiet $(if $(UPGRADE),--upgrade) --extra test --extra diffusion \
	  --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
	  --no-emit-find-links -o $(LOCK) pyproject.toml requirements/tools.in
	$(PYTHON) scripts/lockfile.py stamp
	$(MAKE) check
	$(VENV)/bin/pytest -m slow tests/unit/engines/test_portrait_motion.py -n 2

run: install
	$(VENV)/bin/s2v serve

lint: install
	$(PYTHON) scripts/lockfile.py check
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/lint-imports --no-cache

# The fast tier: every test that needs no server, browser, Redis or PostgreSQL (tests/conftest.py),
# less the `slow` checks (the 42 portrait-motion checks render and track 13 videos; a 4 s video at
# 1080x1920 renders for 9 s); `make test` runs all.
# `--dist loadgroup` keeps an `xdist_group` on one process (the conformance suite's shared server).
check: install lint
	$(VENV)/bin/pytest -m "not server and not slow" -n 2 --dist loadgroup

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
