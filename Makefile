# The README's two commands: `make demo` and `make test`. Both create .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test demo lint typecheck typecheck-wheel pytest bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test,cli]'
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check voiceapi_async tests examples benchmarks scripts
	$(BIN)/ruff format --check voiceapi_async tests examples benchmarks scripts

typecheck: $(STAMP)
	$(BIN)/mypy

# mypy --strict of examples/ and tests/typing/ against the built wheel, as a user's project sees it
typecheck-wheel: $(STAMP)
	$(BIN)/python scripts/typecheck_wheel.py

pytest: $(STAMP)
	$(BIN)/python -m pytest -q

test: lint typecheck typecheck-wheel pytest

demo: $(STAMP)
	$(BIN)/voiceapi-async demo

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,cli,bench]'
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
