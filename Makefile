# One task runner: `make run`, `make test`, `make eval`, `make bench`, `make lint`.
# `setup` is a stamp: it creates .venv and installs once, again only when pyproject.toml changes.
SHELL := /bin/bash
PYTHON ?= python3
PIP_VERSION := 26.3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export HF_HUB_DISABLE_TELEMETRY := 1
export GRADIO_ANALYTICS_ENABLED := False
export ANONYMIZED_TELEMETRY := False
export ORT_DISABLE_TELEMETRY := 1

.PHONY: setup reading-model run chat index test eval bench bench-scale lint format browser strace clean llm-server train lock

setup: $(STAMP) reading-model

# The local reading model (README, "The reading model"): fetched once into the per-user cache
# (~/.cache/deepspace-qa/llm, DSQA_READER_CACHE_DIR) and checked against Qwen's sha256; a file already
# checked is found again at once, so every checkout and CI run on this machine shares one copy.
READER_MODEL ?= 1.5b
reading-model: $(STAMP)
	$(PY) -m bot.gguf --model $(READER_MODEL)

# Installs exactly the committed lock (requirements.lock: every package, direct and transitive, with
# hashes), then the project itself without its dependencies. The lock pins torch to the local CPU
# build (2.13.0+cpu, from pip's find-links folder), so no CUDA build can come in.
$(STAMP): requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet 'pip==$(PIP_VERSION)'
	$(PY) -m pip install -qq --require-hashes --no-deps -r requirements.lock  # -qq: the find-links mirror warns per package
	$(PY) -m pip install -qq -e . --no-deps  # -qq: also hides setuptools' "Editable installation" banner
	touch $(STAMP)

# Refresh the locks after changing a dependency in pyproject.toml, or to take newer releases (then run
# `make test`): the newest versions pyproject.toml allows, torch held at the local CPU build. The
# train lock is the main one plus what `make train` adds, resolved with the main lock as constraints.
# uv lives in its own folder, so it is not part of the environment the lock describes.
UV := .cache/lock-tool/bin/uv
lock:
	test -x $(UV) || { $(PYTHON) -m venv .cache/lock-tool && .cache/lock-tool/bin/pip install --quiet 'uv>=0.13,<0.14'; }
	$(UV) pip compile --quiet --upgrade pyproject.toml --extra dev -c constraints-torch.txt \
	  --find-links /opt/wheels --python-version 3.11 --generate-hashes -o requirements.lock
	$(UV) pip compile --quiet --upgrade pyproject.toml --extra dev --extra train -c requirements.lock \
	  --find-links /opt/wheels --python-version 3.11 --generate-hashes -o requirements-train.lock

index: setup
	$(VENV)/bin/dsqa index

run: setup
	$(VENV)/bin/dsqa serve

chat: setup index
	$(VENV)/bin/dsqa chat

# Debian's chromium for the browser tests (never `playwright install`: it downloads a browser).
browser:
	@command -v chromium >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium fonts-wqy-microhei; }

# strace lets the network test see below Python (DNS and connects from native code).
strace:
	@command -v strace >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq strace; }

# The end-to-end test of the reading model runs the 0.5B one (fetched here once, like the 1.5B).
test: setup browser strace
	$(PY) -m bot.gguf --model 0.5b
	$(PY) -m pytest

eval: setup
	$(VENV)/bin/dsqa eval

bench: setup
	$(PY) -m evals.bench

# Opt-in, never part of setup, test or CI: a real OpenAI-compatible LLM server on 127.0.0.1 (README,
# "LLM answers"), serving the reading model's file from the per-user cache with xllamacpp (a dependency).
LLM_MODEL ?= 1.5b
LLM_PORT ?= 8080
llm-server: setup
	OMP_WAIT_POLICY=PASSIVE $(PY) tools/llm_server.py --model $(LLM_MODEL) --port $(LLM_PORT)

# 1k, 20k and 50k chunks of Wikipedia (embeddings cached across runs in ~/.cache/deepspace-qa).
bench-scale: setup
	$(PY) -m evals.bench_scale

# Retrain every model the answer path ships in bot/models/ (each prints what it scores on data it did
# not see): the extractive reader, then the question models, the sentence ranker, the answer-or-decline
# calibration, and the conversation's topic-switch margin.
train: setup
	$(PY) -m pip install --quiet --require-hashes --no-deps -r requirements-train.lock
	$(PY) -m training.reader
	$(PY) -m training.reader_eval --write
	$(PY) -m training.analysis
	$(PY) -m training.ranker
	$(PY) -m training.calibrate
	$(PY) -m training.conversation
	$(PY) -m training.reading_policy  # needs the reading model: make setup fetches it

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf .index .pytest_cache evals/out test-artifacts
