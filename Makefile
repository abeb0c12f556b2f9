# The two commands of the README, and what they need.
#
#   make book   create .venv if missing, install, execute every chapter, write _build/html
#   make test   create .venv if missing, install, run d2lite's tests and every chapter (nbval)
#
# BACKEND=jax or BACKEND=torch (default tensorflow) runs the tests on that Keras backend,
# after installing its CPU packages; the rendered book is always built with TensorFlow.
#
# Both fail (non-zero exit) on any cell error, Sphinx warning or failed test.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
EXTRAS ?= dev
# The Keras backend the tests run on: tensorflow, jax or torch (the extras of the same
# names install JAX's and PyTorch's CPU packages; TensorFlow is always installed).
BACKEND ?= tensorflow
ifeq ($(filter $(BACKEND),tensorflow jax torch),)
  $(error BACKEND must be tensorflow, jax or torch, not "$(BACKEND)")
endif
ifneq ($(BACKEND),tensorflow)
  ifeq ($(findstring $(BACKEND),$(EXTRAS)),)
    override EXTRAS := $(EXTRAS),$(BACKEND)
  endif
endif
# extra pip options for the install, e.g. the weekly workflow's --upgrade
PIP_FLAGS ?=
# The pinned version of every dependency (`make lock` writes it): a build a year from now
# installs what was tested. CONSTRAINTS= (empty) installs the newest releases instead, as
# the weekly workflow does.
CONSTRAINTS ?= constraints.txt
BIN := $(VENV)/bin
comma := ,
STAMP := $(VENV)/.d2lite-installed-$(subst $(comma),-,$(EXTRAS))$(if $(CONSTRAINTS),,-newest)

# Execute notebooks with the book's IPython profile (C-level log lines stay out of cell
# outputs) and with TensorFlow's C++ logging off from process start.
export IPYTHONDIR := $(CURDIR)/book/ipython
export TF_CPP_MIN_LOG_LEVEL := 3
export PYTHONHASHSEED := 0
export KERAS_BACKEND := $(BACKEND)
# Offline data: a local copy of the original data set files, if one sits beside the
# checkout (as in CI). Set D2LITE_DATA yourself to point elsewhere; leave it unset to
# download into ~/.cache/d2lite.
ifeq ($(origin D2LITE_DATA), undefined)
  ifneq ($(wildcard ../shared/data/fashion-mnist),)
    export D2LITE_DATA := $(abspath ../shared/data)
  endif
endif

.PHONY: help install book notebooks student test unit bench format lock clean

help:
	@echo "make book       build the HTML book into _build/html (executes every chapter)"
	@echo "                and the Colab notebooks into _build/notebooks"
	@echo "make test       run d2lite's unit tests and every chapter notebook (nbval)"
	@echo "make unit       only d2lite's unit tests"
	@echo "                (both take BACKEND=jax or BACKEND=torch: default tensorflow)"
	@echo "make notebooks  only the Colab-ready notebooks, into _build/notebooks"
	@echo "make student    the student edition (no solutions): _build/student/html and"
	@echo "                _build/student/notebooks"
	@echo "make bench      time d2lite's from-scratch operations against Keras layers,"
	@echo "                d2lite.train against plain model.fit, and Part IV's models"
	@echo "                (ViT, recurrent attention model) against LeNet, and LeNet's"
	@echo "                training speed on TensorFlow, JAX and PyTorch (those installed)"
	@echo "make format     format the chapters' code cells with ruff (88 characters)"
	@echo "make lock       re-pin every dependency in constraints.txt (uv pip compile)"
	@echo "make clean      remove _build (keeps .venv)"

install: $(STAMP)

$(STAMP): pyproject.toml $(CONSTRAINTS)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(PIP_FLAGS) $(if $(CONSTRAINTS),--constraint $(CONSTRAINTS)) \
		--editable ".[$(EXTRAS)]"
	@touch $@

# Re-pin after changing a dependency in pyproject.toml: one universal resolution (every
# platform, Python >= 3.10) of d2lite with its dev, gpu, jax, jax-gpu and torch extras. Versions
# already pinned are kept where they still fit (torch stays at the release whose CPU wheel
# the CI machines hold: PyPI's Linux wheels of torch carry CUDA, several GB).
lock: $(STAMP)
	$(BIN)/python -m pip install --quiet "uv>=0.4"
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra gpu --extra jax --extra jax-gpu --extra torch --universal \
		--python-version 3.10 --quiet -o constraints.txt

# The browser checks (tests/test_browser.py) of one edition, when a Chromium is found.
define browser_checks
	@if [ -n "$${D2LITE_CHROMIUM:-}" ] || command -v chromium >/dev/null \
	    || command -v chromium-browser >/dev/null || command -v google-chrome >/dev/null; then \
	  $(BIN)/python -m pytest -m browser -k $(1) tests/test_browser.py; \
	else \
	  echo "*** No Chromium found: the browser checks of the $(1) edition were SKIPPED."; \
	  echo "*** Install one (apt install chromium) or set D2LITE_CHROMIUM to run them."; \
	fi
endef

book: $(STAMP)
	@test "$(BACKEND)" = tensorflow || { echo "the book is built with TensorFlow (BACKEND=tensorflow)"; exit 1; }
	$(BIN)/jupyter-book build . --warningiserror --nitpick --keep-going
	$(MAKE) notebooks
	# The pages' ".ipynb" downloads: the same notebooks with the build's outputs.
	$(BIN)/python book/tools/editions.py notebooks --outputs --out _build/html/notebooks
	$(BIN)/python -m pytest -m book tests
	$(call browser_checks,full)

# The Colab notebooks (their install cell installs d2lite==<version> from PyPI, published by
# .github/workflows/release.yml): the publish workflow pushes _build/notebooks as it is to
# the notebooks branch. The numbers the text
# quotes ({glue:text} roles) come from the executed chapters of the last `make book`.
notebooks: $(STAMP)
	$(BIN)/python book/tools/editions.py notebooks --out _build/notebooks

# The student edition reuses the full edition's execution cache (same code cells), so
# it costs a Sphinx build, not a second execution, after `make book`.
student: $(STAMP)
	$(BIN)/python book/tools/editions.py student-config --out _build/student/_config.yml
	# A fresh HTML tree: files of an earlier build (such as _sources/) must not linger.
	rm -rf _build/student/_build/html
	$(BIN)/jupyter-book build . --config _build/student/_config.yml --path-output _build/student \
		--warningiserror --nitpick --keep-going
	$(BIN)/python book/tools/editions.py notebooks --student --out _build/student/notebooks
	# The student pages' ".ipynb" download serves these (see book/tools/d2lite_book.py).
	rm -rf _build/student/_build/html/notebooks
	cp -r _build/student/notebooks _build/student/_build/html/notebooks
	# Sphinx's intermediates hold the full sources, solutions included: drop them.
	rm -rf _build/student/_build/.doctrees _build/student/_build/jupyter_execute
	$(BIN)/python -m pytest -m student tests
	$(call browser_checks,student)

# On TensorFlow, every chapter that passes goes into the book's execution cache with its
# outputs (tests/md_notebooks.py), so a `make book` after `make test` renders this run
# instead of executing each chapter a second time.
test: $(STAMP)
	$(BIN)/python -m pytest -m "not book and not student and not browser" \
		$(if $(filter tensorflow,$(BACKEND)),--book-cache _build/.jupyter_cache)

unit: $(STAMP)
	$(BIN)/python -m pytest -m "not book and not student and not browser" tests

bench: $(STAMP)
	$(BIN)/python bench/bench_conv.py
	$(BIN)/python bench/bench_train.py
	$(BIN)/python bench/bench_attention_models.py
	$(BIN)/python bench/bench_backends.py

format: $(STAMP)
	$(BIN)/python book/tools/format_chapters.py

clean:
	rm -rf _build
