# `make demo` and `make test` are the whole set-up on a fresh machine: each creates and
# reuses .venv from the pinned lock file.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PYTHON ?= python3

.PHONY: demo test fuzz lint audit-deps bench serve clean lock

$(STAMP): requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.lock
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

# Known vulnerabilities in requirements.lock; an unreachable service warns, never passes
# silently (tools/audit_deps.py).
audit-deps: $(STAMP)
	$(PY) tools/audit_deps.py requirements.lock

bench: $(STAMP)
	$(PY) -m bench.run_all $(ARGS)

clean:
	rm -rf $(VENV) var

# Re-pin after changing dependencies in pyproject.toml (pip, setuptools included).
lock: $(STAMP)
	$(PY) -m pip freeze --all --exclude-editable | grep -v -E '^(pip|watchkeeper)==' > requirements.lock
