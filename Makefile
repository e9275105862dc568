# Two commands on a fresh machine:
#   make run    install everything and start photosorter
#   make test   install everything and run the test suite
#   make lint   ruff (lint), mypy over photosorter/, import-linter contracts (all in pyproject.toml)
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# torch and torchvision must be a matching pair from the registry.
TORCH_PAIR := torch==2.15.0 torchvision==0.29.2

.PHONY: install run test lint bench bundle clean

$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH_PAIR)
	$(PY) -m pip install --quiet -e ".[test,lint]"
	touch $@

install: $(VENV)/.installed

run: install
	$(VENV)/bin/photosorter

test: install
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

# Run from the repository root: lint-imports analyses the photosorter package found from here.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

# One benchmark: make bench BENCH="pipeline --count 96"; `$(PY) -m benchmarks` lists them all.
BENCH ?= accuracy --data ../shared/data
bench: install
	$(PY) -m benchmarks $(BENCH)

# Desktop bundle (PyInstaller, one folder) in build/bundle/dist/photosorter; see packaging/README.md.
# Ship ResNet50 weights inside it with: make bundle BUNDLE_ARGS="--resnet50-weights FILE"
bundle: install
	$(PY) -m pip install --quiet -e ".[bundle]"
	$(PY) packaging/build_bundle.py $(BUNDLE_ARGS)

clean:
	rm -rf $(VENV) build dist *.egg-info
