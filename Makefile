# The two commands of the README, and what they need.
#
#   make book   create .venv if missing, install, execute every chapter, write _build/html
#   make test   create .venv if missing, install, run d2lite's tests and every chapter (nbval)
#
# Both fail (non-zero exit) on any cell error, Sphinx warning or failed test.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.d2lite-installed

# Execute notebooks with the book's IPython profile (C-level log lines stay out of cell
# outputs) and with TensorFlow's C++ logging off from process start.
export IPYTHONDIR := $(CURDIR)/book/ipython
export TF_CPP_MIN_LOG_LEVEL := 3
export PYTHONHASHSEED := 0
# Offline data: a local copy of the original data set files, if one sits beside the
# checkout (as in CI). Set D2LITE_DATA yourself to point elsewhere; leave it unset to
# download into ~/.cache/d2lite.
ifeq ($(origin D2LITE_DATA), undefined)
  ifneq ($(wildcard ../shared/data/fashion-mnist),)
    export D2LITE_DATA := $(abspath ../shared/data)
  endif
endif

.PHONY: help install book test bench clean

help:
	@echo "make book   build the HTML book into _build/html (executes every chapter)"
	@echo "make test   run d2lite's unit tests and every chapter notebook (nbval)"
	@echo "make bench  time d2lite's from-scratch operations against Keras layers"
	@echo "make clean  remove _build (keeps .venv)"

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --editable ".[dev]"
	@touch $@

book: $(STAMP)
	@rm -f _build/html/reports/*.err.log
	$(BIN)/jupyter-book build . --warningiserror --nitpick --keep-going
	$(BIN)/python -m pytest -m book tests/test_book_html.py

test: $(STAMP)
	$(BIN)/python -m pytest -m "not book"

bench: $(STAMP)
	$(BIN)/python bench/bench_conv.py

clean:
	rm -rf _build
