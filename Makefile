# speechtl: two entry points on a fresh machine.
#   make demo   set up .venv, synthesise the 8-language corpus, train, evaluate, decode
#   make test   set up .venv with the test extras and run the test suite
#   make wheel  build dist/speechtl-*.whl (lexicons and recipes inside)
#   make results  rewrite the tables of RESULTS.md and docs/results/ from benchmarks/results/ and studies/results/
#
# CPU-only torch (no CUDA libraries: the default build pulls 2.4 GB of them), where that index is reachable:
#   make demo TORCH_INDEX=https://download.pytorch.org/whl/cpu
# Left empty (the default), torch comes from pip's configured index (PIP_INDEX_URL or pip.conf),
# the default build, which works with any registry.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch 2.14.1 + torchaudio 2.11.0 is the pair that works together (see README).
TORCH := torch==2.14.1 torchaudio==2.11.0
TORCH_INDEX ?=
PIP := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: demo test setup setup-dev wheel results clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch first, from TORCH_INDEX when given; the package's install then finds it satisfied
$(VENV)/.torch: | $(BIN)/python
	$(PIP) install $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) $(TORCH)
	touch $@

$(VENV)/.setup: pyproject.toml | $(VENV)/.torch
	$(PIP) install $(TORCH) -e .
	touch $@

$(VENV)/.setup-dev: pyproject.toml | $(VENV)/.torch
	$(PIP) install $(TORCH) -e '.[dev]'
	touch $(VENV)/.setup $@

setup: $(VENV)/.setup
setup-dev: $(VENV)/.setup-dev

demo: $(VENV)/.setup
	$(BIN)/speechtl run recipes/multilingual-synth.yaml

test: $(VENV)/.setup-dev
	$(BIN)/python -m pytest

wheel: $(VENV)/.setup
	$(BIN)/python -m pip wheel --no-deps -w dist .

results: $(VENV)/.setup
	$(BIN)/python -m scripts.make_results

clean:
	rm -rf $(VENV) exp data dist build
