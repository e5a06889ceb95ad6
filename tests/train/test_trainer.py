"""The training loop with a stand-in model: loss goes down, bit-exact resume, logs, errors."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch

from tests.train.stand_in import (
    normalize,
    run_trainer,
    stand_in_factory,
    straight_and_resumed,
    write_kitti_folder,
)
from vps.config import Config
from vps.errors import DataError
from vps.train.checkpoint import load_checkpoint
from vps.train.trainer import RunOptions, Trainer


@pytest.fixture(scope="module")
def kitti_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_kitti_folder(tmp_path_factory.mktemp("kitti"), frames=5)


def _config(root: Path, max_steps: int = 8) -> Config:
    cfg = Config(name="unit")
    cfg.model.image_size = (32, 64)
    cfg.data.root, cfg.data.dataset = str(root), "kitti_step"
    cfg.data.scale_range = (0.8, 1.2)
    cfg.train.batch_size, cfg.train.max_steps, cfg.train.warmup_steps = 2, max_steps, 2
    cfg.train.lr, cfg.train.eval_every, cfg.train.ckpt_every, cfg.train.log_every = 3e-3, 0, 3, 2
    cfg.train.ema_decay = 0.9
    return cfg


def _run(cfg: Config, out: Path, stop: int | None = None, resume: bool = False) -> Trainer:
    return run_trainer(cfg, out, stop, resume, model_factory=stand_in_factory, normalize=normalize)


def test_training_lowers_the_loss_on_a_fixed_batch(kitti_root: Path, tmp_path: Path) -> None:
    t = Trainer(_config(kitti_root, 40), RunOptions(tmp_path, progress=False),
                model_factory=stand_in_factory, normalize=normalize)
    t.setup()
    batch = next(iter(t.loader))

    def fixed_loss() -> float:
        with torch.no_grad():
            t.generator.manual_seed(0)
            return float(t.wrapped(normalize(batch["images"]), batch["target"], batch["cond"],
                                   generator=t.generator))

    before = fixed_loss()
    for _ in range(25):
        t.train_step(batch)
    assert fixed_loss() < 0.5 * before
    t.close()


def test_resume_is_bit_exact(kitti_root: Path, tmp_path: Path) -> None:
    straight, _ = straight_and_resumed(_config(kitti_root), tmp_path, stop=4, model_factory=stand_in_factory,
                                       normalize=normalize)
    assert straight.step == 8
    ca, cb = load_checkpoint(tmp_path / "a" / "last.pt"), load_checkpoint(tmp_path / "b" / "last.pt")
    assert ca.optimizer["state"][0]["step"] == cb.optimizer["state"][0]["step"]
    assert torch.equal(ca.optimizer["state"][0]["exp_avg"], cb.optimizer["state"][0]["exp_avg"])
    rows = [list(csv.DictReader((tmp_path / d / "log.csv").open())) for d in ("a", "b")]
    key = [[(r["step"], r["loss"], r["lr"]) for r in rs] for rs in rows]
    assert key[0] == key[1]
    assert (tmp_path / "a" / "config.yaml").is_file()


def test_existing_checkpoint_needs_resume_and_bad_resumes_fail(kitti_root: Path, tmp_path: Path) -> None:
    _run(_config(kitti_root), tmp_path, stop=2)
    with pytest.raises(DataError, match="--resume"):
        _run(_config(kitti_root), tmp_path, stop=3)
    other = _config(kitti_root)
    other.model.image_size = (32, 32)
    with pytest.raises(DataError, match="last.pt"):
        _run(other, tmp_path, resume=True)
    (tmp_path / "last.pt").write_bytes(b"\x00" * 100)
    with pytest.raises(DataError, match="last.pt: not a PyTorch checkpoint"):
        _run(_config(kitti_root), tmp_path, resume=True)


def test_bad_precision_is_rejected(kitti_root: Path, tmp_path: Path) -> None:
    cfg = _config(kitti_root)
    cfg.train.precision = "fp8"
    with pytest.raises(ValueError, match="precision"):
        Trainer(cfg, RunOptions(tmp_path), model_factory=stand_in_factory)


def test_init_from_loads_ema_weights_with_a_fresh_optimizer(kitti_root: Path, tmp_path: Path) -> None:
    src = _run(_config(kitti_root), tmp_path / "src", stop=2)
    cfg = _config(kitti_root)
    cfg.train.init_from = str(tmp_path / "src" / "last.pt")
    t = Trainer(cfg, RunOptions(tmp_path / "dst", progress=False), model_factory=stand_in_factory,
                normalize=normalize)
    t.setup()
    assert t.step == 0 and not t.optimizer.state
    for k, v in src.ema.shadow.items():
        assert torch.equal(t.model.state_dict()[k], v) and torch.equal(t.ema.shadow[k], v)
    t.close()
