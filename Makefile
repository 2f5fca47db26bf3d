# digitnet: `make run` trains the default network, `make test` runs the whole test suite.
# Both create the virtual environment .venv and install digitnet into it when needed.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup run test test-fast browser reference lint format bench docs clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	@touch $@

run: setup
	@echo "training the default network (the bundled model already works: $(BIN)/digitnet predict IMAGE, $(BIN)/digitnet serve)"
	$(BIN)/digitnet train

test: setup browser reference
	$(BIN)/python -m pytest -q

browser:
	@bash scripts/install-browser.sh

reference: setup
	@bash scripts/install-torch-reference.sh $(BIN)/python

test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow and not browser"

# speed side by side with PyTorch and scikit-learn (about 4 minutes; run it alone)
bench: setup reference
	$(BIN)/python -m pip install -q "scikit-learn>=1.3"
	$(BIN)/python benchmarks/speed.py

# the documentation site from docs/ into site/ (offline; the tools come with the dev extra)
docs: setup
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict  # the variable hides a banner, nothing else

lint: setup
	$(BIN)/ruff check digitnet tests benchmarks docs
	$(BIN)/ruff format --check digitnet tests benchmarks docs

format: setup
	$(BIN)/ruff format digitnet tests benchmarks docs

clean:
	rm -rf $(VENV) build site *.egg-info .pytest_cache .ruff_cache

# handwriting fonts for the non-MNIST set of benchmarks/own_photos.py (as root)
fonts: ; @bash scripts/install-fonts.sh
