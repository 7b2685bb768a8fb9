# The README's two commands: `make demo` and `make test`. Both create .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# One stamp per set of extras: each target installs only what it needs (the demo gets
# the package and its `cli` extra, nothing of the test tool chain).
CLI_STAMP := $(VENV)/.installed-cli
DEV_STAMP := $(VENV)/.installed-dev
DOCS_STAMP := $(VENV)/.installed-docs

.PHONY: test docs demo lint typecheck typecheck-wheel pytest bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(CLI_STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[cli]'
	touch $@

$(DEV_STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test,cli]'
	touch $@

$(DOCS_STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[docs]'
	touch $@

lint: $(DEV_STAMP)
	$(BIN)/ruff check conftest.py voiceapi_async tests examples benchmarks scripts
	$(BIN)/ruff format --check conftest.py voiceapi_async tests examples benchmarks scripts

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

# mypy --strict of examples/ and tests/typing/ against the built wheel, as a user's project sees it
typecheck-wheel: $(DEV_STAMP)
	$(BIN)/python scripts/typecheck_wheel.py

pytest: $(DEV_STAMP)
	$(BIN)/python -m pytest -q

test: lint typecheck typecheck-wheel pytest docs

# the documentation site into site/ (strict: a broken link or reference fails the build)
docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

demo: $(CLI_STAMP)
	$(BIN)/voiceapi-async demo

bench: $(DEV_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,cli,bench]'
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) build site *.egg-info .pytest_cache .mypy_cache .ruff_cache
