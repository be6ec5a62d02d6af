# jamii: two commands on a fresh machine.
#   make run   sets up, creates the SQLite store in ./data, loads the seeds, starts the collector
#   make test  sets up with the test extras and runs every test
# Everything installs into ./.venv; system packages (chromium for browser tests) come from
# Debian's archive when missing.

PYTHON ?= python3
VENV   := .venv
LMEVAL := .lm-eval-venv
INSPECT := .inspect-venv
PY     := $(VENV)/bin/python
JAMII  := $(VENV)/bin/jamii
PORT   ?= 8501
export JAMII_DATA ?= $(CURDIR)/data
export HF_HUB_OFFLINE ?= 1
export HF_HUB_DISABLE_TELEMETRY ?= 1

.PHONY: run setup setup-test test test-fast browser-deps system-deps dashboard clean help

help:
	@echo "make run    start the collector on http://localhost:$(PORT) with the example campaign"
	@echo "make test   run every test (store tests on SQLite and, when it answers, PostgreSQL)"

$(VENV)/.base: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

# torch is pinned to the CPU build (torch==2.13.0) in the [models] extra: see pyproject.toml
$(VENV)/.test: $(VENV)/.base
	$(PY) -m pip install --quiet -e '.[models,dev]'
	touch $@

setup: $(VENV)/.base
# lm-evaluation-harness in an environment of its own (never the project's venv), for the test that
# runs the task `jamii export-task` writes; if it cannot be built here, that one test skips
$(LMEVAL)/.done:
	@($(PYTHON) -m venv $(LMEVAL) && $(LMEVAL)/bin/python -m pip install --quiet 'lm-eval[hf]==0.4.13' torch==2.13.0 \
	  && touch $@) || echo "lm-eval environment not built: tests/test_evaluate_lm_eval.py will skip"

# inspect-ai likewise (it pulls many dependencies), for the test that runs the task
# `jamii export-task --to inspect` writes against a local `transformers serve`
$(INSPECT)/.done:
	@($(PYTHON) -m venv $(INSPECT) && $(INSPECT)/bin/python -m pip install --quiet 'inspect-ai==0.3.285' openai sacrebleu \
	  && touch $@) || echo "inspect-ai environment not built: tests/test_evaluate_inspect.py will skip"

setup-test: $(VENV)/.test system-deps $(LMEVAL)/.done $(INSPECT)/.done

system-deps:
	@bash scripts/system-deps.sh

run: setup
	$(JAMII) init
	$(JAMII) collect --port $(PORT)

dashboard: setup
	$(JAMII) dashboard

test: setup-test
	$(PY) -m pytest $(PYTEST_ARGS)

# the quick loop while editing: no browser, no models, no slow tests
test-fast: setup-test
	$(PY) -m pytest -m "not browser and not models and not slow" $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) $(LMEVAL) $(INSPECT) *.egg-info .pytest_cache
