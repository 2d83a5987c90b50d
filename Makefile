# speechtl: two entry points on a fresh machine.
#   make demo   set up .venv, synthesise the 8-language corpus, train, evaluate, decode
#   make test   set up .venv with the test extras and run the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch 2.14.1 + torchaudio 2.11.0 is the pair that works together (see README).
TORCH := torch==2.14.1 torchaudio==2.11.0
PIP := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: demo test setup setup-dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.setup: pyproject.toml | $(BIN)/python
	$(PIP) install $(TORCH) -e .
	touch $@

$(VENV)/.setup-dev: pyproject.toml | $(BIN)/python
	$(PIP) install $(TORCH) -e '.[dev]'
	touch $(VENV)/.setup $@

setup: $(VENV)/.setup
setup-dev: $(VENV)/.setup-dev

demo: $(VENV)/.setup
	$(BIN)/speechtl run recipes/multilingual-synth.yaml

test: $(VENV)/.setup-dev
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) exp data
