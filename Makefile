# Guichet: `make run` to try it, `make test` to check it. Both install what is missing first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
HOST ?= 127.0.0.1
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
PYTEST_ARGS ?=

.PHONY: install python-deps system-deps assets run test test-sqlite test-postgres lint bench clean

install: python-deps system-deps assets

python-deps: $(VENV)/.installed

$(VENV)/.installed: setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

# Debian packages: tesseract with French, English and orientation data; Chromium for browser tests.
system-deps:
	@missing=""; \
	command -v tesseract >/dev/null 2>&1 || missing="$$missing tesseract-ocr"; \
	for lang in fra eng osd; do \
	  ls /usr/share/tesseract-ocr/*/tessdata/$$lang.traineddata >/dev/null 2>&1 || missing="$$missing tesseract-ocr-$$lang"; \
	done; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v pdftoppm >/dev/null 2>&1 || missing="$$missing poppler-utils"; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

# Browser assets (bpmn-js, ...) from the npm registry, copied under app/static/vendor.
assets:
	@if [ -f package.json ] && command -v npm >/dev/null 2>&1; then \
	  if [ ! -f app/static/vendor/.built ] || [ package.json -nt app/static/vendor/.built ]; then \
	    npm install --no-audit --no-fund --loglevel=error && node scripts/vendor-assets.mjs && touch app/static/vendor/.built; \
	  fi; \
	fi

run: install
	$(BIN)/guichet db upgrade heads
	$(BIN)/guichet demo
	$(BIN)/guichet run --host $(HOST) --port $(PORT)

test: install test-sqlite test-postgres

test-sqlite:
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# The same suite on PostgreSQL; tests that touch no database ran above already.
test-postgres:
	GUICHET_TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/python -m pytest -q -m "not browser and not nodb" $(PYTEST_ARGS)

lint:
	$(BIN)/python -m ruff check app workflows workers tests

bench:
	@cat bench/README.md

clean:
	rm -rf var .pytest_cache
