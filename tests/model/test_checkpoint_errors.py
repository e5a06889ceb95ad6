"""Corrupt checkpoints give one complete line naming the file and what is wrong (finding 5 of issue 17).

Before: messages cut off mid-sentence ("...there is a high likelihood that your checkpoint file is)") or
PyTorch's advice to re-run with ``weights_only=False``, in vps-export, vps-train --resume and vps-predict.
"""

from __future__ import annotations

import pickle
import random
from collections.abc import Callable
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from vps.errors import DataError  # noqa: E402
from vps.model.checkpoint import load_checkpoint  # noqa: E402

FORBIDDEN = ("weights_only` set to `False`", "trust the source", "high likelihood", "\x1b[")


class Payload:
    """An arbitrary Python object: weights_only loading must refuse it."""


def _good_bytes(tmp: Path) -> bytes:
    torch.save({"format": "vps-pix2seqd-checkpoint", "w": torch.zeros(256)}, tmp / "g.pt")
    return (tmp / "g.pt").read_bytes()


BAD: dict[str, tuple[Callable[[Path], bytes], str]] = {
    "empty": (lambda t: b"", "empty"),
    "random": (lambda t: random.Random(17).randbytes(4096), "not a PyTorch checkpoint"),
    "random_0x80": (lambda t: b"\x80\xc7" + random.Random(18).randbytes(4094), "not a PyTorch checkpoint"),
    "truncated": (lambda t: _good_bytes(t)[:700], "truncated"),
    "pickle": (lambda t: pickle.dumps(Payload()), "not a vps checkpoint"),
    "torch_object": (lambda t: _torch_object(t), "not a vps checkpoint"),
    "foreign_dict": (lambda t: _foreign(t), "not a vps checkpoint"),
}


def _multi_disk(tmp: Path) -> bytes:
    """A torch.save file whose zip64 locator claims another disk: ``zipfile.is_zipfile`` itself raises."""
    data = bytearray(_good_bytes(tmp))
    at = data.rindex(b"PK\x06\x07")
    data[at + 4:at + 8] = (1).to_bytes(4, "little")
    return bytes(data)


def _torch_object(tmp: Path) -> bytes:
    torch.save({"x": Payload()}, tmp / "o.pt")
    return (tmp / "o.pt").read_bytes()


def _foreign(tmp: Path) -> bytes:
    torch.save({"state_dict": {"w": torch.zeros(2)}}, tmp / "f.pt")
    return (tmp / "f.pt").read_bytes()


def write_bad(tmp: Path, kind: str) -> tuple[Path, str]:
    make, reason = BAD[kind]
    path = tmp / f"{kind}.pt"
    path.write_bytes(make(tmp))
    return path, reason


def assert_one_complete_line(text: str, path: Path, reason: str) -> None:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    assert str(path) in lines[0] and reason in lines[0].split(str(path), 1)[1]
    assert not any(f in lines[0] for f in FORBIDDEN)
    assert lines[0].count("(") == lines[0].count(")")  # no sentence cut off inside a parenthesis


def test_zip_that_zipfile_itself_chokes_on_is_reported_as_damaged(tmp_path: Path) -> None:
    # found by the fuzz suite: zipfile.is_zipfile raised BadZipFile ("span multiple disks") inside the
    # error path; now the reason is still one complete line
    from vps.model.checkpoint import _unreadable_reason

    path = tmp_path / "disk.pt"
    path.write_bytes(_multi_disk(tmp_path))
    error = RuntimeError("PytorchStreamReader failed reading zip archive: not a ZIP archive. This is ...")
    reason = _unreadable_reason(path, path.stat().st_size, error)
    assert reason.startswith("truncated or damaged checkpoint") and reason.endswith(")")


@pytest.mark.parametrize("kind", sorted(BAD))
def test_load_checkpoint_names_the_file_and_the_fault(kind: str, tmp_path: Path) -> None:
    path, reason = write_bad(tmp_path, kind)
    with pytest.raises(DataError) as e:
        load_checkpoint(path)
    assert_one_complete_line(str(e.value), path, reason)


@pytest.mark.parametrize("kind", ["random", "truncated", "empty", "pickle"])
def test_vps_export_and_vps_predict_exit_2_with_the_line(kind: str, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    from vps.export.cli import main as export_main
    from vps.train.predict import main as predict_main

    path, reason = write_bad(tmp_path, kind)
    assert export_main(["--checkpoint", str(path), "--out", str(tmp_path / "exp"), "--no-progress"]) == 2
    assert_one_complete_line(capsys.readouterr().err, path, reason)
    assert not (tmp_path / "exp").exists()
    data = tmp_path / "data" / "images" / "val" / "0000"
    data.mkdir(parents=True)
    assert predict_main(["--checkpoint", str(path), "--input", str(tmp_path / "data"), "--out",
                         str(tmp_path / "pred"), "--no-progress"]) == 2
    assert_one_complete_line(capsys.readouterr().err, path, reason)


@pytest.mark.parametrize("kind", ["random", "truncated"])
def test_vps_train_resume_exits_2_with_the_line(kind: str, tmp_path: Path, repo_root: Path,
                                               capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from vps.train.cli import main as train_main

    monkeypatch.chdir(repo_root)
    out = tmp_path / "run"
    out.mkdir()
    path, reason = write_bad(tmp_path, kind)
    path.replace(out / "last.pt")
    code = train_main(["--config", "configs/tiny.yaml", "--out", str(out), "--resume", "--device", "cpu",
                       "--no-progress"])
    assert code == 2
    assert_one_complete_line(capsys.readouterr().err, out / "last.pt", reason)
