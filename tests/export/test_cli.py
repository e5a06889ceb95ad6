"""vps-export command line: one-line exit-2 errors (TensorRT/GPU missing, bad checkpoint, bad options)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from vps.export.cli import main

pytestmark = pytest.mark.xdist_group("vps_export")  # one worker exports the shared fixture once


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_trt_without_tensorrt_exits_2_with_one_line(tiny_checkpoint: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tensorrt", None)  # import tensorrt -> ImportError, installed or not
    out = tmp_path / "trt"
    assert main(["--checkpoint", str(tiny_checkpoint), "--engine", "trt", "--out", str(out)]) == 2
    err = _one_line_error(capsys)
    assert "TensorRT is not installed" in err and 'pip install "vps-toolkit[trt]"' in err
    assert not out.exists() and not list(tmp_path.iterdir())


def test_trt_without_gpu_exits_2_with_one_line(tiny_checkpoint: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    import torch

    fake = types.ModuleType("tensorrt")
    fake.__version__ = "10.3.0"
    monkeypatch.setitem(sys.modules, "tensorrt", fake)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert main(["--checkpoint", str(tiny_checkpoint), "--engine", "trt", "--out", str(tmp_path / "t")]) == 2
    assert "no CUDA GPU" in _one_line_error(capsys)


@pytest.mark.parametrize("argv, needle", [
    (["--checkpoint", "/nonexistent/ckpt.pt"], "checkpoint file not found"),
    (["--checkpoint", "{ckpt}", "--input-size", "40x64"], "multiples of 16"),
    (["--checkpoint", "{ckpt}", "--steps", "0"], "--steps"),
    (["--checkpoint", "{ckpt}", "--opset", "12"], "--opset"),
    ([], "--checkpoint is required"),
])
def test_bad_arguments_exit_2(argv: list[str], needle: str, tiny_checkpoint: Path, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    argv = [a.replace("{ckpt}", str(tiny_checkpoint)) for a in argv]
    assert main([*argv, "--out", str(tmp_path / "o"), "--no-progress", "--no-verify"]) == 2
    assert needle in _one_line_error(capsys)
    assert not (tmp_path / "o").exists()


def test_out_folder_with_foreign_files_is_refused(tiny_checkpoint: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["--checkpoint", str(tiny_checkpoint), "--out", str(tmp_path), "--no-verify"]) == 2
    assert "not an export folder" in _one_line_error(capsys)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_check_trt_on_export_folder(onnx_export: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--check-trt", "--out", str(onnx_export)]) == 0
    assert "0 error(s)" in capsys.readouterr().out
