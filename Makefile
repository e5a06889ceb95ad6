# Two entry points for a fresh machine: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
EXTRAS ?= train,export,gpu,dev

.PHONY: venv demo test lint native native-cuda gpu-ort clean

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

# Native core (cmake/): the nanobind module vps_native into the venv (CMake, Ninja, scikit-build-core and
# nanobind from PyPI; the compiler is the machine's), then the C library, its C tests and the C example
# through CMake and ctest. Incremental: scikit-build-core keeps its build folder in cmake/build/.
NATIVE_BUILD ?= build/native
native: $(STAMP)
	$(PY) -m pip install -q "cmake>=3.18" ninja "scikit-build-core>=0.10" "nanobind>=2.0"
	$(PY) -m pip install -q --no-build-isolation ./cmake
	$(VENV)/bin/cmake -S cmake -B $(NATIVE_BUILD) -DCMAKE_BUILD_TYPE=Release
	$(VENV)/bin/cmake --build $(NATIVE_BUILD) -j2
	$(VENV)/bin/ctest --test-dir $(NATIVE_BUILD) --output-on-failure

# The CUDA twins (not part of `make test`: CI has no GPU): compiled if CMake finds nvcc; test_cuda compares
# them with the host functions on a GPU and is skipped without one.
native-cuda: $(STAMP)
	$(PY) -m pip install -q "cmake>=3.18"
	$(VENV)/bin/cmake -S cmake -B build/native-cuda -DCMAKE_BUILD_TYPE=Release -DVPS_CORE_CUDA=ON
	$(VENV)/bin/cmake --build build/native-cuda -j2
	$(VENV)/bin/ctest --test-dir build/native-cuda --output-on-failure

test: $(STAMP) lint native
	$(PY) -m pytest -q -n 2 --dist loadgroup

demo: $(STAMP)
	$(PY) -m vps.demo

# ONNX Runtime's CUDA build replaces the CPU one (never both in one environment).
gpu-ort: $(STAMP)
	$(PY) -m pip uninstall -y onnxruntime
	$(PY) -m pip install -q onnxruntime-gpu

clean:
	rm -rf $(VENV) build cmake/build *.egg-info demo_out
