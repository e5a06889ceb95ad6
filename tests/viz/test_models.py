"""``vps-viz --model``: checkpoints and export folders through the frame engine, as a titled panel or overlay.

Uses the tiny random checkpoint and placeholder-graph export of ``tests/bench/conftest.py`` (torch backend:
no ONNX export needed), and the shipped checkpoints for the README recipe.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.bench.conftest import make_checkpoint, make_torch_artifacts
from tests.data.test_kitti_step import make_kitti_step
from vps.data.codecs import write_image
from vps.viz import count_frames
from vps.viz.cli import main
from vps.viz.models import default_label, open_model, parse_spec
from vps.viz.render import TITLE_BG

HW = (30, 44)  # the clip; the tiny model's input is 32x64
BAR = 14  # title bar height of tiles this small (vps.viz.render.panel)
GAP = 4


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A KITTI-STEP root with ground truth: two sequences of 3 and 2 frames."""
    return make_kitti_step(tmp_path_factory.mktemp("vizm") / "k", "val", {"0000": 3, "0001": 2}, HW)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny random checkpoint and a 1-step export folder of it (the manifest names the checkpoint)."""
    root = tmp_path_factory.mktemp("vizm_models")
    ckpt = make_checkpoint(root / "tiny.pt")
    return ckpt, make_torch_artifacts(ckpt, root / "export1", 1, 1, record_checkpoint=True)


def _titles_drawn(gif: Path, columns: int, width: int) -> list[bool]:
    """Per column of the first frame: whether its title bar holds text (pixels other than the bar colour)."""
    with Image.open(gif) as im:
        rgb = np.asarray(im.convert("RGB"))
    bars = [rgb[:BAR, k * (width + GAP): k * (width + GAP) + width] for k in range(columns)]
    return [bool((np.abs(b.astype(int) - TITLE_BG).sum(axis=2) > 60).any()) for b in bars]


def _error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    return err


def test_panel_image_models_ground_truth(clip: Path, models: tuple[Path, Path], tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    ckpt, export = models
    out = tmp_path / "panel.gif"
    code = main([str(clip), "--model", f"{ckpt}@2", "--model", str(export), "--backend", "torch",
                 "--out", str(out), "--fps", "4"])
    assert code == 0
    assert count_frames(out) == 5  # both sequences (each model restarts its stream at the second)
    with Image.open(out) as im:
        assert im.size == (4 * HW[1] + 3 * GAP, HW[0] + BAR)  # image | checkpoint | export | ground truth
    assert _titles_drawn(out, 4, HW[1]) == [True] * 4
    printed = capsys.readouterr().out
    assert "panel: Pix2Seq-D, 2 steps, Pix2Seq-D, 1 step;" in printed


def test_overlay_of_an_image_folder(models: tuple[Path, Path], tmp_path: Path) -> None:
    """No labels: each model blended over the image, one titled column each, shrunk to --tile-width."""
    folder = tmp_path / "frames"
    rng = np.random.default_rng(0)
    for k in range(4):
        write_image(folder / f"{k:06d}.png", rng.integers(0, 255, (40, 120, 3), dtype=np.uint8))
    ckpt, _ = models
    out = tmp_path / "overlay.gif"
    assert main([str(folder), "--model", str(ckpt), "--model", f"{ckpt}@1", "--label", "A", "--label", "B",
                 "--tile-width", "60", "--frames", "3", "--out", str(out)]) == 0
    assert count_frames(out) == 3
    with Image.open(out) as im:
        assert im.size == (2 * 60 + GAP, 20 + BAR)
    assert _titles_drawn(out, 2, 60) == [True, True]


def test_labels_and_model_specs(models: tuple[Path, Path], tmp_path: Path) -> None:
    ckpt, export = models
    assert parse_spec(f"{ckpt}@3") == (ckpt, 3) and parse_spec(str(ckpt)) == (ckpt, None)
    odd = tmp_path / "run@2"  # an existing path is never split at '@'
    odd.mkdir()
    assert parse_spec(str(odd)) == (odd, None)
    assert open_model(f"{ckpt}@3").label == "Pix2Seq-D, 3 steps"
    assert open_model(str(export), "mine", backend="torch").label == "mine"
    default = open_model(str(ckpt)).segmenter.program  # the checkpoint's own plan
    assert default_label(default).startswith("Pix2Seq-D, ")


def test_bad_model_input_exits_2(clip: Path, models: tuple[Path, Path], tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    ckpt, export = models
    out = tmp_path / "x.gif"
    assert main([str(clip), "--model", str(tmp_path / "nope.pt"), "--out", str(out)]) == 2
    assert str(tmp_path / "nope.pt") in _error(capsys)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    assert main([str(clip), "--model", str(junk), "--out", str(out)]) == 2
    assert str(junk) in _error(capsys)
    assert main([str(clip), "--model", f"{export}@2", "--backend", "torch", "--out", str(out)]) == 2
    assert "'@STEPS' applies to checkpoints" in _error(capsys)
    assert main([str(clip), "--model", str(ckpt), "--label", "a", "--label", "b", "--out", str(out)]) == 2
    assert "--label given 2 times for 1 --model" in _error(capsys)
    assert main([str(clip), "--model", str(ckpt), "--mode", "semantic", "--out", str(out)]) == 2
    assert "use panel or overlay" in _error(capsys)
    assert main([str(clip), "--label", "a", "--out", str(out)]) == 2
    assert "apply to --model" in _error(capsys)
    assert main([str(clip), "--model", str(ckpt), "--tile-width", "1", "--out", str(out)]) == 2
    assert "--tile-width must be >= 2" in _error(capsys)
    (tmp_path / "empty").mkdir()
    assert main([str(tmp_path / "empty"), "--model", str(ckpt), "--out", str(out)]) == 2
    assert "no image files found" in _error(capsys)
    assert not out.exists() and list(tmp_path.glob(".*")) == []


def test_readme_recipe_with_the_shipped_checkpoints(repo_root: Path, tmp_path: Path) -> None:
    """What `make readme-media` runs, on a 3-frame clip: the 2-step teacher and the 1-step student."""
    teacher, student = repo_root / "checkpoints/tiny_synth.pt", repo_root / "checkpoints/tiny_synth_1step.pt"
    if not teacher.is_file() or not student.is_file():
        pytest.skip("shipped checkpoints not found")
    data = make_kitti_step(tmp_path / "synth", "val", {"0000": 3}, (96, 320))
    out = tmp_path / "panel.gif"
    assert main([str(data), "--model", f"{teacher}@2", "--model", str(student), "--tile-width", "160",
                 "--out", str(out)]) == 0
    with Image.open(out) as im:
        assert im.n_frames == 3 and im.size == (4 * 160 + 3 * GAP, 48 + BAR)
    assert out.stat().st_size < 200_000
