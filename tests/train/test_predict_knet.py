"""vps-predict on a Video K-Net checkpoint: the frame engine runs its one graph per frame, the diffusion
options are refused with a clear message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.export.conftest import make_knet_checkpoint
from tests.train.stand_in import write_kitti_folder
from vps.data.codecs import read_kitti_panoptic
from vps.data.meta import KITTI_STEP
from vps.train.predict import main as predict_main

HW = (32, 64)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(a random-weight tiny Video K-Net checkpoint at 32x64, a val folder with 2 sequences x 3 frames)."""
    tmp = tmp_path_factory.mktemp("predict_knet")
    return (make_knet_checkpoint(tmp / "knet.pt"),
            write_kitti_folder(tmp / "data", split="val", sequences=2, frames=3, hw=HW))


def test_predict_runs_a_knet_checkpoint(setup: tuple[Path, Path], tmp_path: Path) -> None:
    ckpt, data = setup
    out = tmp_path / "pred"
    assert predict_main(["--checkpoint", str(ckpt), "--input", str(data), "--out", str(out), "--track",
                         "--no-progress"]) == 0
    written = sorted((out / "panoptic_maps" / "val").rglob("*.png"))
    assert len(written) == 6 and read_kitti_panoptic(written[0], KITTI_STEP, HW).shape == HW
    summary = json.loads((out / "predict.json").read_text())
    assert summary["family"] == "video_knet" and summary["frames"] == 6 and 0.0 <= summary["STQ"] <= 1.0
    assert "steps" not in summary


@pytest.mark.parametrize("option", [["--steps", "2"], ["--warm-start"], ["--min-part-area", "0"]])
def test_diffusion_options_are_refused(setup: tuple[Path, Path], tmp_path: Path, option: list[str],
                                       capsys: pytest.CaptureFixture[str]) -> None:
    ckpt, data = setup
    code = predict_main(["--checkpoint", str(ckpt), "--input", str(data), "--out", str(tmp_path / "p"),
                         *option, "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and f"{option[0]}: options of the diffusion family" in err and "video_knet model" in err
