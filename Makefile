# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint install lock bench clean

# Installs the exact versions of requirements.lock (`make lock` writes it again from pyproject.toml).
$(STAMP): pyproject.toml requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

lock:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet pip-tools
	$(VENV)/bin/pip-compile --quiet --strip-extras --extra test --no-emit-index-url --no-emit-find-links \
	    --output-file requirements.lock pyproject.toml

install: $(STAMP)

demo: $(STAMP)
	DEBUG=$${DEBUG:-1} $(PY) manage.py run_demo

# ruff, and the import contracts of pyproject.toml (docs/architecture.md says why they are what they are).
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

# The browser tests need Debian's Chromium: installed here when it is missing and this is root, else make
# stops at once and says how (never skipped silently).
test: lint
	sh scripts/ensure-chromium
	CHROMIUM_PATH=$${CHROMIUM_PATH:-$$(command -v chromium || echo /usr/bin/chromium)} $(PY) -m pytest $(PYTEST_ARGS)

# Everything but the browser, worker and crash tests: the loop while working on the code.
test-fast: lint
	$(PY) -m pytest -m "not browser and not worker and not slow" $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) bench/list_pages.py

clean:
	rm -rf var/broker var/erp.sqlite3 var/screens
