# Two entry points for a fresh machine: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
EXTRAS ?= train,export,gpu,dev

.PHONY: venv demo test lint gpu-ort clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[$(EXTRAS)]"
	touch $(STAMP)

venv: $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check vps tests benchmarks
	$(VENV)/bin/lint-imports

test: $(STAMP) lint
	$(PY) -m pytest -q -n 2 --dist loadgroup

demo: $(STAMP)
	$(PY) -m vps.demo

# ONNX Runtime's CUDA build replaces the CPU one (never both in one environment).
gpu-ort: $(STAMP)
	$(PY) -m pip uninstall -y onnxruntime
	$(PY) -m pip install -q onnxruntime-gpu

clean:
	rm -rf $(VENV) build *.egg-info demo_out
