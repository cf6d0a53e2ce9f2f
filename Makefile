# `make demo` and `make test` are the whole set-up on a fresh machine: each creates and
# reuses .venv from the pinned lock file.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PYTHON ?= python3

.PHONY: demo test fuzz lint audit-deps bench serve clean lock

# The locks pin every package with its hashes: pip installs exactly those files or stops.
# requirements.lock is what the bot runs on (and pip itself); requirements-dev.lock adds
# the test, lint and build tools (setuptools for the editable install below).
LOCKS  := requirements.lock requirements-dev.lock

$(STAMP): $(LOCKS) pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --require-hashes $(LOCKS:%=-r %)
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/watchkeeper demo $(ARGS)

serve: $(STAMP)
	$(VENV)/bin/watchkeeper serve $(ARGS)

# Most tests wait on sockets and timers, not the CPU: three workers on two cores halve
# the run. Files stay whole on one worker (their module fixtures start real processes).
TEST_WORKERS ?= 3

test: $(STAMP)
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# The hostile-input suite (tests/hostile) with ten times the examples of `make test`, new
# ones on every run; its figures are printed at the end (see docs/security.md).
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest -q -n 2 --dist loadfile tests/hostile $(PYTEST_ARGS)

lint: $(STAMP)
	$(PY) -m ruff check bot commands integrations standins tests bench tools
	$(PY) -m mypy bot commands integrations standins tools

# Known vulnerabilities in both locks; an unreachable service warns, never passes
# silently (tools/audit_deps.py).
audit-deps: $(STAMP)
	$(PY) tools/audit_deps.py $(LOCKS)

bench: $(STAMP)
	$(PY) -m bench.run_all $(ARGS)

clean:
	rm -rf $(VENV) $(LOCK_VENV) var

# Re-pin after changing dependencies in pyproject.toml. pip-compile keeps every pin it
# can (`make lock PIP_COMPILE_ARGS="-P NAME"` bumps one package). pip-tools lives in a venv
# of its own: it is not a dependency of the bot. pip is pinned from stdin ("-"): the
# venvs need a current one, and nothing in pyproject.toml asks for it.
LOCK_VENV := .venv-lock
COMPILE   := CUSTOM_COMPILE_COMMAND="make lock" $(LOCK_VENV)/bin/pip-compile -q \
             --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
             --no-emit-find-links $(PIP_COMPILE_ARGS)
lock:
	test -x $(LOCK_VENV)/bin/pip-compile || \
	  ($(PYTHON) -m venv $(LOCK_VENV) && $(LOCK_VENV)/bin/pip install -q pip-tools)
	echo pip | $(COMPILE) -o requirements.lock pyproject.toml -
	$(COMPILE) --extra dev --all-build-deps -c requirements.lock -o requirements-dev.lock pyproject.toml
