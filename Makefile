# Everything from a fresh machine with only python3: `make train` and `make test` create .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: train test lint format benchmark clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

# The main job: train the copy task with its default config (ARGS: more flags, e.g. ARGS=--resume).
train: $(STAMP)
	$(BIN)/python -m experiments.train --task copy $(ARGS)

# The tests, and the lint that CI checks beside them.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

benchmark: $(STAMP)
	$(BIN)/python -m experiments.benchmark

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache
