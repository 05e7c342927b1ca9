# Two commands: `make dev` runs everything on embedded defaults, `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: dev test lint format install clean bench bench-history bench-digests bench-websub bench-webhooks screenshots deploy-test lock

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed; run: make PYTHON=python3.11 ...")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

install: $(VENV)/.installed

dev: install  ## web, worker and beat on SQLite and an embedded Redis (Ctrl-C stops all)
	$(BIN)/flask --app service dev

test: lint  ## lint, then the whole suite on real Redis, Celery, SQLite and PostgreSQL
	$(BIN)/python -m pytest

lint: install  ## ruff (wrapped by hand at 100 columns, no formatter), import contracts, mypy
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/mypy --config-file bench/mypy.ini bench/*.py

format: install  ## apply ruff's safe fixes (import order, modern syntax)
	$(BIN)/ruff check --fix .

bench: install  ## publish -> feed latency and feed request rates (see README)
	$(BIN)/python bench/feeds.py

bench-history: install  ## one publish's feed work at 100 and 100,000 announcements, and a rebuild of every archive page (PostgreSQL; see README)
	$(BIN)/python bench/feed_history.py

bench-digests: install  ## a daily digest to 10,000 and 100,000 subscribers (see README)
	$(BIN)/python bench/digests.py

bench-websub: install  ## WebSub publish -> POST latency and fan-out to 1,000 callbacks (see README)
	$(BIN)/python bench/websub.py

bench-webhooks: install  ## webhooks publish -> signed POST latency, 1 and 50 endpoints (see README)
	$(BIN)/python bench/webhooks.py

screenshots: install  ## docs/editor.png, docs/announcement.png and docs/announcement-phone.png, with Debian's chromium
	$(BIN)/python docs/screenshots.py

deploy-test: install  ## build the Dockerfile's image and run the stack's roles from it for real (root; deploy/test/run.py)
	$(BIN)/python deploy/test/run.py

lock: install  ## requirements.lock: every package the image installs, pinned with hashes
	$(BIN)/python -m pip install --quiet 'uv==0.13.8'
	$(BIN)/uv pip compile --quiet pyproject.toml deploy/build-requirements.in --universal \
		--python-version 3.11 --generate-hashes --custom-compile-command "make lock" \
		--output-file requirements.lock

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
