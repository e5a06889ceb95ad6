"""Shared fixtures: tiny random Pix2SeqD and Video K-Net checkpoints (32x64 input), and one verified fp32
export of each."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest
import torch

from vps.bits import BitLayout
from vps.config import Config, DataConfig, DiffusionConfig, KNetConfig, ModelConfig
from vps.data.meta import KITTI_STEP

TINY = ModelConfig(backbone="resnet18", backbone_width=8, image_size=(32, 64), mask_stride=2, encoder_dim=32,
                   encoder_layers=1, encoder_heads=2, denoiser_channels=(16, 32), denoiser_layers=1,
                   denoiser_heads=2, num_class_logits=32)
KNET_TINY = KNetConfig(num_proposals=6, kernel_dim=16, stages=2, heads=2, ffn_dim=32, embed_dim=8)
EXPORT_ARGS = ["--engine", "onnx", "--steps", "2", "--verify-clips", "1", "--verify-frames", "2",
               "--threads", "1", "--no-progress"]


def make_checkpoint(path: Path, seed: int = 0) -> Path:
    """A slim checkpoint of a randomly initialised tiny model (what load_for_inference reads)."""
    from vps.model import Pix2SeqD
    from vps.train.checkpoint import Checkpoint, save_checkpoint

    torch.manual_seed(seed)
    config = Config(name="tiny-test", model=TINY, diffusion=DiffusionConfig(min_instance_area=2),
                    data=DataConfig(dataset="synth"))
    model = Pix2SeqD.from_config(config.model, config.diffusion)
    ckpt = Checkpoint(step=0, config=config.to_dict(), meta=KITTI_STEP.to_dict(), layout=asdict(BitLayout()),
                      ema_weights={k: v.detach().clone() for k, v in model.state_dict().items()}, slim=True)
    return save_checkpoint(ckpt, path)


def make_knet_checkpoint(path: Path, seed: int = 0) -> Path:
    """A slim checkpoint of a randomly initialised tiny Video K-Net (synthetic data: KITTI-STEP classes)."""
    from vps.model.checkpoint import build_model
    from vps.train.checkpoint import Checkpoint, save_checkpoint

    torch.manual_seed(seed)
    model_config = ModelConfig(family="video_knet", backbone="resnet18", backbone_width=8,
                               image_size=(32, 64), mask_stride=2)
    config = Config(name="knet-tiny-test", model=model_config, knet=KNET_TINY,
                    data=DataConfig(dataset="synth"))
    model = build_model(config)
    ckpt = Checkpoint(step=0, config=config.to_dict(), meta=KITTI_STEP.to_dict(), layout=asdict(model.layout),
                      ema_weights={k: v.detach().clone() for k, v in model.state_dict().items()}, slim=True)
    return save_checkpoint(ckpt, path)


@pytest.fixture(scope="session")
def knet_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_knet_checkpoint(tmp_path_factory.mktemp("knet_ckpt") / "knet.pt")


@pytest.fixture(scope="session")
def knet_export(knet_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``vps-export`` of the tiny Video K-Net (fp32 ONNX, verified on one synthetic clip of 3 frames)."""
    return exported(knet_checkpoint, tmp_path_factory.mktemp("knet_export") / "knet",
                    ["--verify-clips", "1", "--verify-frames", "3", "--threads", "1", "--no-progress"])


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny.pt")


@pytest.fixture(scope="session")
def onnx_export(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``vps-export`` of the tiny checkpoint (fp32 ONNX, 2 steps, verified on one synthetic clip)."""
    return exported(tiny_checkpoint, tmp_path_factory.mktemp("export") / "tiny", EXPORT_ARGS)


def exported(checkpoint: Path, out: Path, args: list[str]) -> Path:
    """``vps-export --checkpoint checkpoint --out out *args``, which must pass; returns ``out``."""
    from vps.export.cli import main

    assert main(["--checkpoint", str(checkpoint), "--out", str(out), *args]) == 0
    return out
