"""A tiny stand-in for Pix2SeqD (same training interface), a tiny KITTI-STEP folder writer, and the checks
that a stopped and resumed training run ends in the same state as a straight one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vps.bits import BitLayout
from vps.config import Config
from vps.data.codecs import write_image, write_kitti_panoptic
from vps.train.checkpoint import load_checkpoint
from vps.train.trainer import RunOptions, Trainer


class StandIn(nn.Module):
    """Predicts the 16 target bits from a noised copy, the conditioning and the downsampled image."""

    def __init__(self, image_size: tuple[int, int] = (32, 64), mask_stride: int = 2) -> None:
        super().__init__()
        self.layout = BitLayout()
        self.image_size = tuple(image_size)
        self.mask_size = (image_size[0] // mask_stride, image_size[1] // mask_stride)
        self.net = nn.Sequential(nn.Conv2d(16 + 32 + 3, 32, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(32, 16, 3, padding=1))

    def training_loss(self, images: torch.Tensor, target: torch.Tensor, cond: torch.Tensor,
                      generator: torch.Generator | None = None) -> tuple[torch.Tensor, dict[str, float]]:
        sem, inst = target // 1000, target % 1000
        shifts = torch.arange(8, device=target.device)
        bits = torch.cat([(sem[:, None] >> shifts[None, :, None, None]) & 1,
                          (inst[:, None] >> shifts[None, :, None, None]) & 1], 1).float() * 0.2 - 0.1
        noise = torch.randn(bits.shape, generator=generator, device=bits.device)
        img = F.interpolate(images, size=self.mask_size, mode="area")  # [B, 3, h, w]
        pred = self.net(torch.cat([bits + 0.3 * noise, cond, img], 1))
        loss = F.mse_loss(pred, bits)
        return loss, {"loss": float(loss.detach())}


def assert_same_weights(a: object, b: object) -> None:
    """Two :class:`vps.train.trainer.Trainer` runs hold bit-identical model and EMA weights."""
    b_weights = b.model.state_dict()  # type: ignore[attr-defined]
    for k, w in a.model.state_dict().items():  # type: ignore[attr-defined]
        assert torch.equal(w, b_weights[k]), k
    for k, w in a.ema.shadow.items():  # type: ignore[attr-defined]
        assert torch.equal(w, b.ema.shadow[k]), k  # type: ignore[attr-defined]


def run_trainer(cfg: Config, out: Path, stop: int | None = None, resume: bool = False,
                **trainer_options: object) -> Trainer:
    """A finished :meth:`Trainer.fit` of ``cfg`` into ``out`` (``stop``: end at that step, like a killed
    run)."""
    t = Trainer(cfg, RunOptions(out, resume=resume, stop_step=stop, progress=False),
                **trainer_options)  # type: ignore[arg-type]
    t.fit()
    return t


def straight_and_resumed(cfg: Config, tmp: Path, stop: int,
                         **trainer_options: object) -> tuple[Trainer, Trainer]:
    """``cfg`` run straight into ``tmp/a``, and into ``tmp/b`` stopped at ``stop`` then resumed; checks that
    the stopped run's checkpoint is at ``stop`` and that both runs end at the same step with bit-identical
    model and EMA weights. Returns ``(straight, resumed)`` for the caller's own checks."""
    straight = run_trainer(cfg, tmp / "a", **trainer_options)
    run_trainer(cfg, tmp / "b", stop=stop, **trainer_options)
    assert load_checkpoint(tmp / "b" / "last.pt").step == stop
    resumed = run_trainer(cfg, tmp / "b", resume=True, **trainer_options)
    assert straight.step == resumed.step
    assert_same_weights(straight, resumed)
    return straight, resumed


def stand_in_factory(config: Config) -> nn.Module:
    return StandIn(tuple(config.model.image_size), config.model.mask_stride)


def normalize(images: torch.Tensor) -> torch.Tensor:
    return images.permute(0, 3, 1, 2).float() / 127.5 - 1.0


def write_kitti_folder(root: Path, split: str = "train", sequences: int = 2, frames: int = 5,
                       hw: tuple[int, int] = (32, 64), seed: int = 0) -> Path:
    """Moving squares: a car (13) and a person (11) on road/sky, KITTI-STEP layout."""
    rng = np.random.default_rng(seed)
    H, W = hw
    for s in range(sequences):
        x0, y0 = rng.integers(0, W // 2), rng.integers(0, H // 2)
        for f in range(frames):
            pan = np.full((H, W), 0 * 1000, np.int32)  # road
            pan[: H // 4] = 10 * 1000  # sky
            x = (x0 + 2 * f) % (W - 8)
            pan[y0:y0 + 8, x:x + 8] = 13 * 1000 + 7
            pan[H - 10:H - 2, W - 10 - f:W - 4 - f] = 11 * 1000 + 3
            pan[0, 0] = 255 * 1000  # one void pixel
            img = np.zeros((H, W, 3), np.uint8)
            img[..., 0] = (pan // 1000 * 13) % 256
            img[..., 1] = (pan % 1000 * 31) % 256
            write_image(root / "images" / split / f"{s:04d}" / f"{f:06d}.png", img)
            write_kitti_panoptic(root / "panoptic_maps" / split / f"{s:04d}" / f"{f:06d}.png", pan)
    return root
