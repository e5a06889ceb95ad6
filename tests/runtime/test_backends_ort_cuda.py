"""ONNX Runtime on CUDA: a session whose CUDA provider failed to load is refused, not run on the CPU.

Through a fake onnxruntime-gpu (``tests.runtime.fake_onnxruntime``) over real CPU sessions: the package
lists the CUDA provider, the session silently falls back, only ``get_providers()`` tells.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.runtime import fake_onnxruntime
from tests.runtime.test_backends import tiny_manifest
from vps.runtime.backends import onnxruntime as ort_backend
from vps.runtime.backends import open_backend
from vps.runtime.backends.base import BackendUnavailableError

BOTH = ["CUDAExecutionProvider", "CPUExecutionProvider"]


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    tiny_manifest(tmp_path / "art")
    return tmp_path / "art"


def test_cuda_session_that_fell_back_to_the_cpu_is_refused(folder: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ort_backend, "_import_ort", lambda: fake_onnxruntime.make(cuda_loads=False))
    with pytest.raises(BackendUnavailableError, match=r"^encoder.onnx: ONNX Runtime fell back to the CPU "
                                                      r"\(session providers: CPUExecutionProvider\)") as e:
        open_backend(folder, device="cuda")
    assert "\n" not in str(e.value)
    cpu = open_backend(folder, device="cpu")  # asking for the CPU is not a fallback
    graphs = ("encoder", "context", "denoiser_step", "denoiser_final")
    assert cpu.session_providers == {g: ["CPUExecutionProvider"] for g in graphs}


def test_cuda_session_reports_its_providers_and_cannot_fall_back_later(
        folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ort_backend, "_import_ort", lambda: fake_onnxruntime.make(cuda_loads=True))
    backend = open_backend(folder, device="cuda")
    assert backend.session_providers == {g: BOTH for g in ("encoder", "context", "denoiser_step",
                                                            "denoiser_final")}
    created = fake_onnxruntime.Session.created
    assert len(created) == 4 and not any(s.fallback_enabled for s in created)  # no run-time switch to CPU
