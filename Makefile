# One task runner: `make run`, `make test`, `make eval`, `make bench`, `make lint`.
# `setup` is a stamp: it creates .venv and installs once, again only when pyproject.toml changes.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export HF_HUB_DISABLE_TELEMETRY := 1
export GRADIO_ANALYTICS_ENABLED := False
export ANONYMIZED_TELEMETRY := False

.PHONY: setup run chat index test eval bench train lint format browser clean

setup: $(STAMP)

# torch first, from the local CPU build: otherwise sentence-transformers pulls a multi-GB CUDA torch.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

index: setup
	$(VENV)/bin/dsqa index

run: setup index
	$(PY) app.py

chat: setup index
	$(VENV)/bin/dsqa chat

# Debian's chromium for the browser tests (never `playwright install`: it downloads a browser).
browser:
	@command -v chromium >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium fonts-wqy-microhei; }

test: setup browser
	$(PY) -m pytest

eval: setup
	$(VENV)/bin/dsqa eval

bench: setup
	$(PY) -m evals.bench

# Retrain the extractive reader (bot/models/reader/), then measure and calibrate it (see its MODEL_CARD.md).
train: setup
	$(PY) -m pip install --quiet -e '.[dev,train]'
	$(PY) -m evals.training.reader
	$(PY) -m evals.training.reader_eval --write

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf .index .pytest_cache evals/out test-artifacts
