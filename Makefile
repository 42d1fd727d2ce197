# Two commands on a fresh clone: `make run` (the portal with demo data) and `make test`.
# Both install what they need first.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Debian packages the tests use: Chromium for browser tests, HarfBuzz's subsetter and
# poppler for PDFs, strongSwan to load generated configurations and run the IPsec
# handshake (with BIRD 2, ping and ip netns), Redis for the queue.
DEBIAN_PACKAGES := chromium libharfbuzz-subset0 poppler-utils redis-server \
	strongswan strongswan-swanctl charon-systemd libcharon-extra-plugins \
	bird2 iputils-ping iproute2

# axe-core, the accessibility checker the browser tests inject into pages (npm package,
# pinned; kept out of the repository under .npm/).
AXE := .npm/node_modules/axe-core/axe.min.js
AXE_VERSION := 4.14.1

.PHONY: run serve test lint bench system-packages clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# --no-compile: botocore's bytecode compilation would triple the install time.
	$(BIN)/pip install --quiet --no-compile -e ".[dev]"
	@touch $(STAMP)

run: $(STAMP)
	@scripts/run.sh

# Production: checks the variables, collects the static files and starts the Procfile's
# processes (gunicorn, two RQ workers, the cron scheduler) with debug off (docs/deploy.md).
serve: $(STAMP)
	@scripts/serve.sh

$(AXE):
	npm install --no-save --no-audit --no-fund --silent --prefix .npm axe-core@$(AXE_VERSION)

test: $(STAMP) system-packages $(AXE)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/pytest

# lint-imports: the layer contracts in pyproject.toml (no import circles, no sandbox).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

bench: $(STAMP)
	@for script in bench/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done
	@for scenario in --pairs --answer-time; do echo "== bench/bench_status.py $$scenario"; $(BIN)/python bench/bench_status.py $$scenario || exit 1; done

# Installs the Debian packages that are missing, when run as root on Debian; elsewhere
# it only says what is missing (the tests that need them then skip, or fail in CI).
system-packages:
	@missing=""; for pkg in $(DEBIAN_PACKAGES); do \
		dpkg -s $$pkg >/dev/null 2>&1 || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "Installing:$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		else echo "Missing Debian packages (install them for the full suite):$$missing"; fi; \
	fi

clean:
	rm -rf $(VENV) .npm .run staticfiles test-artifacts .pytest_cache .ruff_cache .import_linter_cache
