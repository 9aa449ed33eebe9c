# Two commands matter: `make run` (the system on this machine) and `make test` (every check CI runs).
# Each installs what it needs into .venv first.

SHELL := /bin/bash
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
PY := $(BIN)/python
INSTALLED := $(VENV)/.installed
# sam build looks for python3.12 on PATH: the venv's own comes first.
export PATH := $(BIN):$(PATH)
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1
# Python's bytecode cache, even where the machine turns it off: every worker, local stack and tool would
# otherwise compile boto3, moto, pydantic and our modules again (uv installs without compiling; the first
# process that imports a module writes its cache).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: install run test pytest lint typecheck template scan scan-install browser axe bench layer-requirements clean

install: $(INSTALLED)

# A pinned extra of pyproject.toml, as arguments for an installer.
EXTRA = $$($$(infra/find-python.sh) -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['$(1)'])")
UV := $(BIN)/uv
# uv installs everything (seconds); where it cannot (no uv, or it fails), pip does, only slower.
# $(1): the virtualenv's python; $(2): what to install.
INSTALL_INTO = { { test -x $(UV) && $(UV) pip install --python $(1) $(2) 2>&1; } || \
	{ echo "  uv could not install it: pip does (a minute or two)" >&2; \
	$(1) -m pip install --disable-pip-version-check --progress-bar off $(2); }; }

# The first install takes under a minute: say what is happening and how far it is.
$(INSTALLED): pyproject.toml
	@test -x $(PY) || { echo "[1/3] creating the virtualenv $(VENV) with Python 3.12"; \
		$$(infra/find-python.sh) -m venv $(VENV); }
	@echo "[2/3] installing uv, the installer, into $(VENV)"
	@$(PY) -m pip install --quiet --disable-pip-version-check $(call EXTRA,installer) || \
		echo "  uv could not be installed: pip installs the rest, a minute or two slower" >&2
	@echo "[3/3] installing socialcare, its Lambda layer's dependencies and the dev tools (boto3, moto," \
		"aws-sam-cli, pytest, playwright, ruff, mypy)"
	@set -o pipefail; $(call INSTALL_INTO,$(PY),-e ".[dev]") | $(PY) infra/install_progress.py
	@touch $@

# FRESH=1 forgets the kept state (LOCAL_STATE_DIR, or .local/state) and starts empty.
run: install
	$(PY) -m infra.local $(if $(FRESH),--fresh)

# The checks and the tests do not depend on each other, and none of them keeps both cores busy all the time
# (mypy, sam and checkov use one; the tests wait on local stacks): they run side by side. Each one's output
# is printed whole when it ends (--output-sync), and -k lets every one finish, so each failure is reported
# and any of them fails `make test`.
# The tests are the longest of them and wait on local stacks now and then: the other checks run at a lower
# priority, so they take the CPU the tests leave instead of slowing them.
CHECK := nice -n 10

# Everything is installed first (seconds with uv), so the checks and the tests share both cores with nothing else.
test:
	@$(MAKE) --no-print-directory install scan-install
	@echo "make test: lint, typecheck, template, scan and pytest run side by side; each prints its output when it ends"
	@$(MAKE) --no-print-directory -k -j 5 --output-sync=target lint typecheck template scan pytest

# Four workers on two cores: the local stack's tests spend much of their time waiting on its pollers and
# HTTP, so two more workers fill those waits (254 s instead of 309 s on two quiet cores). A test file stays
# on one worker, so a module's local stack starts once.
MOTO_SERVICES := dynamodb dynamodbstreams sns sqs ses sesv2 secretsmanager events cloudwatch logs
pytest: install browser axe
	@# On a fresh clone nothing is compiled yet: one process collects the tests and one imports the local
	@# stack with moto's backends for the template's services, caching their bytecode, instead of four workers
	@# and the first stacks each compiling boto3, moto and pydantic at once (24 s of `make test`).
	@$(PY) -m pytest -q --collect-only -p no:cacheprovider >/dev/null
	@$(PY) -c "import infra.local.system, moto.backends as b; [b.get_backend(s) for s in '$(MOTO_SERVICES)'.split()]"
	$(PY) -m pytest -q -n 4 --dist loadfile

# checkov, the scanner most AWS teams run in CI, on the template: no failed check. Each skip is in the template
# beside its resource, with the reason. checkov pins boto3 and packaging to versions the dev tools cannot use,
# so it gets a virtualenv of its own; its exact pin is pyproject.toml's `scan` extra. --skip-download: no
# calls to the vendor's platform, the checks that ship with the pinned version are the ones run.
SCAN_VENV := .venv-scan
SCAN_INSTALLED := $(SCAN_VENV)/.installed

$(SCAN_INSTALLED): pyproject.toml $(INSTALLED)
	@echo "installing checkov into $(SCAN_VENV), a virtualenv of its own"
	@test -x $(SCAN_VENV)/bin/python || $$(infra/find-python.sh) -m venv $(SCAN_VENV)
	@set -o pipefail; $(call INSTALL_INTO,$(SCAN_VENV)/bin/python,$(call EXTRA,scan)) | $(PY) infra/install_progress.py
	@touch $@

scan-install: $(SCAN_INSTALLED)

scan: $(SCAN_INSTALLED)
	$(CHECK) $(SCAN_VENV)/bin/checkov --file template.yaml --skip-download --compact --quiet

# The browser tests drive Debian's chromium through Playwright; never a browser download of Playwright's own.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing Debian's chromium for the browser tests"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else \
			echo "chromium is missing and cannot be installed here (needs root and apt-get): install it" >&2; exit 1; \
		fi; }

# axe-core (accessibility checks) is injected into pages by the browser tests, never served by the pages:
# npm installs exactly the version package-lock.json pins.
AXE := node_modules/axe-core/axe.min.js
axe: $(AXE)

$(AXE): package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	@touch $@

lint: install
	$(CHECK) $(BIN)/ruff check .
	$(CHECK) $(BIN)/ruff format --check .

# Named on the command line, each function's app.py is its own module (functions.<name>.app): one run.
typecheck: install
	$(CHECK) $(BIN)/mypy shared infra bench functions/*/app.py

template: install
	$(CHECK) $(BIN)/sam validate --lint --template template.yaml
	$(CHECK) $(BIN)/sam build --template template.yaml --parallel >/dev/null
	@echo "sam build: ok"

bench: install
	$(PY) -m bench

layer-requirements: install
	$(PY) -m infra.deploy.layer_requirements

clean:
	rm -rf $(VENV) $(SCAN_VENV) node_modules .aws-sam .pytest_cache .mypy_cache .ruff_cache
