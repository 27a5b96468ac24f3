# Two commands a fresh machine needs: `make test` and `make demo` (see README.md). Both set up .venv first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
STAMP := $(VENV)/.densepose_ext-installed
PYTEST_ARGS ?=

.PHONY: setup test test-all bench clean-venv

setup: $(STAMP)

# Re-runs only when an install input changed; otherwise `make setup` returns at once.
$(STAMP): setup.py constraints.txt tools/install_detectron2.py tools/detectron2_C.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet -c constraints.txt torch torchvision numpy "setuptools<81" wheel
	$(PY) tools/install_detectron2.py
	$(PIP) install --quiet --no-deps -c constraints.txt anny
	$(PIP) install --quiet --no-build-isolation -c constraints.txt -e ".[synth,test,export]"
	touch $(STAMP)

test: setup
	$(PY) -m pytest -q -m "not slow" $(PYTEST_ARGS)

test-all: setup
	$(PY) -m pytest -q $(PYTEST_ARGS)

bench: setup
	@for script in bench/bench_*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

clean-venv:
	rm -rf $(VENV)

# The whole mission on one CPU machine (tools/demo.py): synthetic data -> a short fine-tune of the shipped
# model -> GPS evaluation -> apply_net pictures, all under demo_output/. A rerun reuses finished steps.
# DEMO_ARGS e.g. "--num-train 300". demo-scratch: the same from random weights (demo_output_scratch/).
.PHONY: demo demo-scratch pretrain
demo: setup
	$(PY) tools/demo.py $(DEMO_ARGS)

demo-scratch: setup
	$(PY) tools/demo.py --scratch $(DEMO_ARGS)

# The recipe of the shipped weights (hours on 2 CPU cores; docs/MODEL_CARD.md). Resumes an interrupted run.
pretrain: setup
	$(PY) tools/pretrain.py --resume --export densepose_ext/model_zoo $(PRETRAIN_ARGS)
