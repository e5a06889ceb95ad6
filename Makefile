# Two entry points for a fresh machine: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
EXTRAS ?= train,export,gpu,dev

.PHONY: venv demo test lint native native-cuda gpu-ort readme-media clean

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

# README media (docs/media/, committed): vps-viz streams a fresh synthetic clip (seed 2718, unused elsewhere)
# through every model of README_MODELS into an animated panel (image | each model | ground truth), and the
# real grayscale KITTI clip of ../shared/data into an overlay (no ground truth there). A model is a
# checkpoint (PATH@N: N denoiser steps, cold and warm) or an export folder: the two shipped families at
# their default settings, Pix2Seq-D (2 steps) and Video K-Net.
README_MODELS ?= checkpoints/tiny_synth.pt@2 checkpoints/knet_tiny_synth.pt
MEDIA ?= docs/media
MEDIA_TMP ?= build/readme-media
SHARED_DATA ?= ../shared/data
MEDIA_FRAMES ?= 16
VIZ_MODELS = $(foreach m,$(README_MODELS),--model $(m))
readme-media: $(STAMP)
	rm -rf $(MEDIA_TMP)
	$(PY) -m vps.data.synth.cli $(MEDIA_TMP)/synth --seed 2718 --split val --sequences 1 \
		--frames $(MEDIA_FRAMES) --size 188x621 --quiet
	$(PY) -m vps.viz.cli $(MEDIA_TMP)/synth $(VIZ_MODELS) --tile-width 320 --fps 4 \
		--out $(MEDIA)/panel_synth.gif
	$(PY) -m vps.viz.cli $(SHARED_DATA)/kitti_odometry_gray/KITTI_sequence_1/image_l $(VIZ_MODELS) \
		--mode overlay --frames $(MEDIA_FRAMES) --tile-width 480 --fps 4 --out $(MEDIA)/overlay_kitti.gif
	ls -l $(MEDIA)/panel_synth.gif $(MEDIA)/overlay_kitti.gif

# ONNX Runtime's CUDA build replaces the CPU one (never both in one environment).
gpu-ort: $(STAMP)
	$(PY) -m pip uninstall -y onnxruntime
	$(PY) -m pip install -q onnxruntime-gpu

clean:
	rm -rf $(VENV) build cmake/build *.egg-info demo_out
