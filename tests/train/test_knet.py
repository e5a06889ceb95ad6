"""Video K-Net training: frame-pair samples, the trainer's family dispatch, loss goes down, exact resume."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.train.stand_in import straight_and_resumed, write_kitti_folder
from vps.config import Config
from vps.data.clip import Clip
from vps.model.knet import VideoKNet
from vps.train.checkpoint import load_checkpoint
from vps.train.knet import check_family_config, collate_pairs, make_pair_sample
from vps.train.trainer import LossModule, RunOptions, Trainer


@pytest.fixture(scope="module")
def kitti_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_kitti_folder(tmp_path_factory.mktemp("kitti"), frames=5)


def _clip(T: int = 3) -> Clip:
    """``T`` frames 8x16 whose car (13_000 + 4) sits in column ``t`` of frame ``t``; image = frame index."""
    pan = np.zeros((T, 8, 16), np.int32)
    images = np.zeros((T, 8, 16, 3), np.uint8)
    for t in range(T):
        pan[t, 2:6, t:t + 4] = 13_004
        images[t] = t
    return Clip(images=images, panoptic=pan, sequence="0000", frames=list(range(T)))


def test_pair_sample_takes_the_last_frame_and_an_earlier_reference() -> None:
    offsets = set()
    for seed in range(20):
        s = make_pair_sample(_clip(4), np.random.default_rng(seed), (8, 16), (4, 8), max_offset=2)
        assert s.images.shape == (2, 8, 16, 3) and s.targets.shape == (2, 4, 8)
        assert s.images[1, 0, 0, 0] == 3 and s.images[0, 0, 0, 0] == 3 - s.offset  # key = last frame
        assert set(np.unique(s.targets[0])) == set(np.unique(s.targets[1])) == {0, 13_004}  # same id
        offsets.add(s.offset)
    assert offsets == {1, 2}
    a = make_pair_sample(_clip(4), np.random.default_rng(7), (8, 16), (4, 8), 2)
    b = make_pair_sample(_clip(4), np.random.default_rng(7), (8, 16), (4, 8), 2)
    assert a.offset == b.offset and np.array_equal(a.targets, b.targets)  # a pure function of the seed
    single = make_pair_sample(_clip(1), np.random.default_rng(0), (8, 16), (4, 8), 2)
    assert single.offset == 0 and np.array_equal(single.images[0], single.images[1])
    batch = collate_pairs([a, b, single])
    assert batch["images"].shape == (3, 2, 8, 16, 3) and batch["images"].dtype == torch.uint8
    assert batch["targets"].shape == (3, 2, 4, 8) and batch["targets"].dtype == torch.int64


def test_family_config_checks() -> None:
    cfg = _config(Path("unused"))
    check_family_config(cfg)
    cfg.train.student = "e2e"
    with pytest.raises(ValueError, match="train.student"):
        check_family_config(cfg)
    cfg.train.student, cfg.knet.ref_max_offset = "", 0
    with pytest.raises(ValueError, match="ref_max_offset"):
        check_family_config(cfg)


def _config(root: Path, max_steps: int = 6) -> Config:
    cfg = Config(name="knet_unit")
    cfg.model.family, cfg.model.backbone_width = "video_knet", 8
    cfg.model.image_size, cfg.model.mask_stride = (32, 64), 2
    k = cfg.knet
    k.num_proposals, k.kernel_dim, k.heads, k.ffn_dim, k.embed_dim, k.stages = 4, 16, 2, 32, 8, 2
    cfg.data.root, cfg.data.dataset = str(root), "kitti_step"
    cfg.data.scale_range = (0.8, 1.2)
    cfg.train.batch_size, cfg.train.max_steps, cfg.train.warmup_steps = 2, max_steps, 2
    cfg.train.lr, cfg.train.eval_every, cfg.train.ckpt_every, cfg.train.log_every = 3e-3, 0, 3, 2
    cfg.train.ema_decay, cfg.train.threads = 0.9, 1
    return cfg


def test_trainer_steps_lower_the_loss_on_a_fixed_batch(kitti_root: Path, tmp_path: Path) -> None:
    t = Trainer(_config(kitti_root, 40), RunOptions(tmp_path, progress=False))
    t.setup()
    assert isinstance(t.model, VideoKNet) and isinstance(t.wrapped, LossModule)
    batch = next(iter(t.loader))
    assert batch["images"].shape == (2, 2, 32, 64, 3) and batch["targets"].shape == (2, 2, 16, 32)

    def fixed_loss() -> float:
        with torch.no_grad():
            return float(t.wrapped(*t.loss_inputs(batch), generator=t.generator))

    before = fixed_loss()
    for _ in range(20):
        t.train_step(batch)
    assert fixed_loss() < 0.7 * before
    assert {"loss_cls", "loss_mask", "loss_dice", "loss_track"} <= set(t.wrapped.logs)
    t.close()


def test_knet_resume_is_bit_exact(kitti_root: Path, tmp_path: Path) -> None:
    straight, _ = straight_and_resumed(_config(kitti_root), tmp_path, stop=4)
    assert straight.step == 6
    rows = [list(csv.DictReader((tmp_path / d / "log.csv").open())) for d in ("a", "b")]
    logged = [[(r["step"], r["loss"], r["lr"]) for r in rs] for rs in rows]
    assert logged[0] == logged[1]
    ckpt = load_checkpoint(tmp_path / "a" / "last.pt")
    assert ckpt.config["model"]["family"] == "video_knet" and ckpt.meta["name"] == "kitti_step"
