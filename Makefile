# The two commands of petri: `make test` and `make book`. Both create .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.petri-installed
PRESET ?= quick
# OpenMP threads that spin while waiting make torch crawl when several processes share the cores
export OMP_WAIT_POLICY ?= PASSIVE

.PHONY: install test book export clean

$(STAMP): settings.ini setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first, pinned, so that the range in settings.ini never pulls a CUDA build
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $@

install: $(STAMP)

export: install
	$(BIN)/nbdev_export

test: install
	# notebooks run at the smoke scale under test; the book runs them at $(PRESET)
	PETRI_PRESET=smoke $(BIN)/nbdev_test --n_workers 2 --do_print
	$(BIN)/python -m pytest -q tests

book: install
	# -W: a warning fails the build (--keep-going lists them all first); tests/test_book_render.py builds the same way
	PETRI_PRESET=$(PRESET) $(BIN)/jupyter-book build --all -W --keep-going .

clean:
	rm -rf _build
