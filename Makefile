# Developer entry points. `make demo` and `make test` need nothing but Python 3.11+ and a
# C compiler: they create .venv, install the system libraries the database drivers build
# against (as root; otherwise they say which to install), and build oxyde in place.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
# postgres-c: psycopg built against the system libpq (psycopg.pq.__impl__ == "c"), not the
# prebuilt binary the plain `postgres` extra installs.
EXTRAS ?= postgres-c,mysql,cli,dev
PYTEST_ARGS ?=
BENCH_ARGS ?=
REGRESS_ARGS ?=

VENV := .venv
VENV_PY := $(VENV)/bin/python
VENV_PIP := $(VENV)/bin/pip
# Headers and tools psycopg[c] and mysqlclient compile against.
SYSTEM_PACKAGES := libmariadb-dev pkg-config libpq-dev python3-dev

# The install is redone only when one of these changed (or the build switches did).
SPEEDUP_SOURCES := $(filter-out oxyde/_speedups/_%,$(wildcard oxyde/_speedups/*.py))
INSTALL_INPUTS := pyproject.toml setup.py $(wildcard oxyde/_speedups/*.py oxyde/_speedups/*.pxd)
STAMP := $(VENV)/.oxyde-installed
BUILD_FLAGS_FILE := $(VENV)/.oxyde-build-flags

ifeq ($(OXYDE_NO_EXTENSIONS),1)
INSTALL_ENV := OXYDE_NO_EXTENSIONS=1
MISSING_EXTENSIONS :=
else
# The development install must really be compiled: a failed build stops here.
INSTALL_ENV := OXYDE_REQUIRE_EXTENSIONS=1
MISSING_EXTENSIONS := $(strip $(foreach src,$(SPEEDUP_SOURCES),$(if $(wildcard $(src:.py=).*.so),,$(src))))
endif
BUILD_FLAGS := $(INSTALL_ENV) OXYDE_DEBUG_BUILD=$(OXYDE_DEBUG_BUILD) EXTRAS=$(EXTRAS)

.PHONY: help demo test fuzz lint bench bench-check wheel docs install system-deps clean distclean FORCE soak

help:
	@echo "make demo    run examples/demo.py (creates .venv and builds oxyde first)"
	@echo "make test    run pytest; PYTEST_ARGS='...' picks tests, OXYDE_IMPL=c|python|auto"
	@echo "make fuzz    the type round-trip properties, long and random (FUZZ_EXAMPLES=...)"
	@echo "make lint    ruff check, ruff format --check, mypy, lint-imports (the layers)"
	@echo "make bench   run bench/run.py with BENCH_ARGS"
	@echo "make soak    the pool state machine, long (OXYDE_SOAK_EXAMPLES, OXYDE_SOAK_STEPS)"
	@echo "make bench-check  quick run; fail if a ratio to the raw drivers fell >25% below bench/baseline.json"
	@echo "make wheel   build + auditwheel-repair a wheel, test it in a fresh virtualenv"
	@echo "make docs    build the documentation site into build/site (mkdocs --strict)"
	@echo "make clean   remove build output (distclean also removes .venv)"

demo: $(STAMP)
	$(VENV_PY) examples/demo.py

test: $(STAMP)
	$(VENV_PY) -m pytest $(PYTEST_ARGS)

# The stateful pool test of tests/reliability with a long budget, on every backend
# reachable (OXYDE_TEST_BACKENDS picks); it prints transitions/s, kills and cancels.
soak: $(STAMP)
	OXYDE_SOAK_EXAMPLES=$${OXYDE_SOAK_EXAMPLES:-300} $(VENV_PY) -m pytest -s -p no:logging \
	  -p no:cacheprovider tests/reliability/test_state_machine.py $(PYTEST_ARGS)

# The type properties CI runs with a small fixed budget, here random and long.
FUZZ_EXAMPLES ?= 2000
fuzz: $(STAMP)
	OXYDE_TYPES_EXAMPLES=$(FUZZ_EXAMPLES) OXYDE_TYPES_RANDOM=1 \
	  $(VENV_PY) -m pytest tests/integration/test_type_properties.py --timeout=0 $(PYTEST_ARGS)

lint: $(STAMP)
	@status=0; \
	echo "+ ruff check ."; $(VENV)/bin/ruff check . || status=1; \
	echo "+ ruff format --check ."; $(VENV)/bin/ruff format --check . || status=1; \
	echo "+ mypy"; $(VENV)/bin/mypy || status=1; \
	echo "+ lint-imports"; $(VENV)/bin/lint-imports --no-cache || status=1; \
	cython_files=$$(find oxyde -name '*.pyx' -o -name '*.pxd'); \
	if [ -n "$$cython_files" ]; then \
	  echo "+ cython-lint"; PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/cython-lint $$cython_files || status=1; \
	fi; \
	exit $$status

bench: $(STAMP)
	$(VENV_PY) bench/run.py $(BENCH_ARGS)

# Ratios, not times: see bench/regress.py. REGRESS_ARGS='--record' rewrites the baseline.
bench-check: $(STAMP)
	$(VENV_PY) bench/regress.py $(REGRESS_ARGS)
# build/wheel/: the repaired wheel. WHEEL_DEBUG_SYMBOLS=1 keeps the extensions' symbols.
wheel: $(STAMP)
	VENV_PY=$(VENV_PY) PYTHON=$(PYTHON) tools/wheel.sh

# The documentation site; a warning (a broken link, a page the nav names but that does not
# exist, a docstring the API reference cannot read) fails it.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir build/site

install: $(STAMP)

$(VENV)/pyvenv.cfg:
	$(PYTHON) -m venv $(VENV)

# Rewritten only when the switches change, so that a change reinstalls and nothing else does.
$(BUILD_FLAGS_FILE): FORCE | $(VENV)/pyvenv.cfg
	@echo '$(BUILD_FLAGS)' | cmp -s - $@ || echo '$(BUILD_FLAGS)' > $@

$(STAMP): $(VENV)/pyvenv.cfg $(BUILD_FLAGS_FILE) $(INSTALL_INPUTS) $(if $(MISSING_EXTENSIONS),FORCE)
	@$(MAKE) --no-print-directory system-deps
	@# The distribution was called `oxyde` before it took its own index name; an old
	@# install of it would shadow the new one's metadata.
	@$(VENV_PIP) uninstall -y -q oxyde 2>/dev/null || true
	$(INSTALL_ENV) $(VENV_PIP) install -e '.[$(EXTRAS)]'
	@if [ "$(INSTALL_ENV)" != OXYDE_NO_EXTENSIONS=1 ]; then \
	  for src in $(SPEEDUP_SOURCES); do \
	    ls $${src%.py}.*.so >/dev/null 2>&1 \
	      || { echo "error: $$src was not compiled in place"; exit 1; }; \
	  done; \
	fi
	@touch $@

system-deps:
	@if ! command -v dpkg-query >/dev/null 2>&1; then \
	  echo "note: cannot check system packages here; the drivers need: $(SYSTEM_PACKAGES)"; \
	  exit 0; \
	fi; \
	missing=""; \
	for pkg in $(SYSTEM_PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' "$$pkg" 2>/dev/null | grep -q ' installed$$' \
	    || missing="$$missing $$pkg"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" -ne 0 ]; then \
	  echo "Missing system packages:$$missing"; \
	  echo "Install them, then run make again:  sudo apt-get install$$missing"; \
	  exit 1; \
	fi; \
	echo "Installing system packages:$$missing"; \
	apt-get update \
	  && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing

clean:
	rm -rf build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
	rm -f oxyde/_speedups/*.so oxyde/_speedups/*.c oxyde/_speedups/*.html $(STAMP)
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)

FORCE:
