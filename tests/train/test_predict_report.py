"""vps-predict (in-process) on a tiny KITTI-STEP folder, scored by vps-eval; the STQ-vs-steps report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.train.stand_in import write_kitti_folder
from vps.config import Config, load_config
from vps.data.codecs import read_kitti_panoptic
from vps.data.meta import KITTI_STEP
from vps.train.checkpoint import Checkpoint, build_model, export_slim, load_for_inference, save_checkpoint
from vps.train.predict import main as predict_main
from vps.train.report import main as report_main

HW = (32, 64)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, repo_root: Path) -> tuple[Path, Path]:
    """(checkpoint of a freshly initialised tiny model at 32x64, val folder with 2 sequences x 3 frames)."""
    tmp = tmp_path_factory.mktemp("predict")
    cfg: Config = load_config(repo_root / "configs" / "tiny.yaml")
    cfg.model.image_size = HW
    torch.manual_seed(0)
    model = build_model(cfg)
    ckpt = Checkpoint(step=0, config=cfg.to_dict(), meta=KITTI_STEP.to_dict(), layout=model.layout.to_dict(),
                      ema_weights=model.state_dict())
    path = save_checkpoint(ckpt, tmp / "fresh.pt")
    data = write_kitti_folder(tmp / "data", split="val", sequences=2, frames=3, hw=HW)
    return path, data


def test_predict_writes_a_layout_vps_eval_scores(setup: tuple[Path, Path], tmp_path: Path) -> None:
    from vps.eval.cli import main as eval_main

    ckpt, data = setup
    out = tmp_path / "pred"
    assert predict_main(["--checkpoint", str(ckpt), "--input", str(data), "--out", str(out), "--steps", "2",
                         "--warm-start", "--no-progress"]) == 0
    written = sorted((out / "panoptic_maps" / "val").rglob("*.png"))
    assert [p.relative_to(out).as_posix() for p in written] == [
        f"panoptic_maps/val/{s:04d}/{f:06d}.png" for s in range(2) for f in range(3)]
    pred = read_kitti_panoptic(written[0], KITTI_STEP, HW)  # valid classes, input resolution
    assert pred.shape == HW
    summary = json.loads((out / "predict.json").read_text())
    assert summary["frames"] == 6 and summary["steps"] == 2 and 0.0 <= summary["STQ"] <= 1.0
    assert summary["min_part_area"] == 16  # the checkpoint's post-processing (config default)
    metrics = tmp_path / "m.json"
    assert eval_main(["--gt", str(data), "--pred", str(out), "--json", str(metrics), "--no-progress"]) == 0
    assert json.loads(metrics.read_text())["STQ"] == pytest.approx(summary["STQ"])


def test_predict_is_deterministic_and_slim_fp16_works(setup: tuple[Path, Path], tmp_path: Path) -> None:
    ckpt, data = setup
    slim = export_slim(ckpt, tmp_path / "slim.pt", dtype=torch.float16)
    assert slim.stat().st_size < 0.6 * ckpt.stat().st_size
    model, cfg, meta = load_for_inference(slim)
    assert meta == KITTI_STEP and tuple(cfg.model.image_size) == HW and not model.training
    outs = []
    for name in ("a", "b"):
        assert predict_main(["--checkpoint", str(slim), "--input", str(data), "--out", str(tmp_path / name),
                             "--steps", "1", "--sequences", "0001", "--no-progress", "--seed", "3"]) == 0
        outs.append(read_kitti_panoptic(tmp_path / name / "panoptic_maps/val/0001/000002.png", KITTI_STEP))
    np.testing.assert_array_equal(outs[0], outs[1])
    assert not (tmp_path / "a" / "panoptic_maps/val/0000").exists()


def test_predict_post_processing_flags(setup: tuple[Path, Path], tmp_path: Path) -> None:
    ckpt, data = setup
    out = tmp_path / "p"
    assert predict_main(["--checkpoint", str(ckpt), "--input", str(data), "--out", str(out), "--steps", "1",
                         "--max-frames", "1", "--min-part-area", "0", "--min-instance-area", "3",
                         "--no-progress"]) == 0
    summary = json.loads((out / "predict.json").read_text())
    assert (summary["min_instance_area"], summary["min_part_area"]) == (3, 0)


@pytest.mark.parametrize("bad", ["missing_input", "corrupt_checkpoint", "bad_steps", "bad_sequence",
                                 "bad_part_area"])
def test_predict_bad_input_exits_2_with_one_line(setup: tuple[Path, Path], tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str], bad: str) -> None:
    ckpt, data = setup
    args = {"missing_input": ["--input", str(tmp_path / "nope")],
            "corrupt_checkpoint": ["--checkpoint", str(tmp_path / "bad.pt")],
            "bad_steps": ["--steps", "0"], "bad_sequence": ["--sequences", "0042"],
            "bad_part_area": ["--min-part-area", "-1"]}[bad]
    (tmp_path / "bad.pt").write_bytes(b"garbage")
    base = {"--checkpoint": str(ckpt), "--input": str(data), "--out": str(tmp_path / "o")}
    for i in range(0, len(args), 2):
        base[args[i]] = args[i + 1]
    argv = [x for kv in base.items() for x in kv] + ["--no-progress"]
    assert predict_main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("vps-predict: error:") and len(err.splitlines()) == 1


@pytest.mark.slow
def test_report_writes_table_json_and_plot(setup: tuple[Path, Path], tmp_path: Path) -> None:
    ckpt, data = setup
    assert report_main(["--checkpoint", str(ckpt), "--data", str(data), "--out", str(tmp_path),
                        "--steps", "1", "2", "--max-frames", "2", "--no-progress"]) == 0
    rows = json.loads((tmp_path / "stq_vs_steps.json").read_text())
    assert [(r["steps"], r["warm_start"]) for r in rows] == [(1, False), (1, True), (2, False), (2, True)]
    table = (tmp_path / "stq_vs_steps.md").read_text().splitlines()
    assert table[0].startswith("| steps | STQ") and len(table) == 4
    assert (tmp_path / "stq_vs_steps.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_predict_options_reach_the_config_and_the_tracker() -> None:
    from vps.config import Config
    from vps.train.predict import build_parser, tracker_config, with_sampler

    cfg = with_sampler(Config(), 1, "trailing", 0.3)
    assert (cfg.diffusion.warm_start_steps, cfg.diffusion.spacing, cfg.diffusion.warm_start_time) == \
        (1, "trailing", 0.3)
    args = build_parser().parse_args(["--checkpoint", "c", "--input", "i", "--out", "o"])
    assert tracker_config(args) is None
    args = build_parser().parse_args(["--checkpoint", "c", "--input", "i", "--out", "o", "--track"])
    assert tracker_config(args).continue_iou == 0.01
    args = build_parser().parse_args(["--checkpoint", "c", "--input", "i", "--out", "o", "--track",
                                      "--no-continue"])
    assert tracker_config(args).continue_iou is None
