"""Pix2SeqD: config presets build, encoder/denoiser shapes, loss weighting, a few AdamW steps learn."""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from vps.config import DiffusionConfig, ModelConfig, load_config
from vps.model import Pix2SeqD
from vps.model.diffusion import segment_weights
from vps.model.pix2seq_d import drop_conditioning

SMALL = ModelConfig(backbone="resnet18", backbone_width=8, image_size=(32, 64), mask_stride=2, encoder_dim=32,
                    encoder_layers=1, encoder_heads=2, denoiser_channels=(16, 32), denoiser_layers=1,
                    denoiser_heads=2, num_class_logits=32)


def _batch(model: Pix2SeqD, B: int = 2, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    H, W = model.image_size
    h, w = model.mask_size
    images = torch.randn(B, 3, H, W, generator=g)
    target = torch.zeros(B, h, w, dtype=torch.int64)
    target[:, : h // 2] = 10_000  # sky
    target[:, h // 2:] = 0  # road
    target[:, h // 4: h // 2 + 2, 4:12] = 13_001  # a car
    target[:, 2:6, w - 6: w - 2] = 11_002  # a person
    target[:, -2:, :3] = 255_000  # void
    cond = torch.zeros(B, 32, h, w)
    return images, target, cond


def test_tiny_preset_builds_and_shapes(repo_root: Path) -> None:
    cfg = load_config(repo_root / "configs" / "tiny.yaml")
    model = Pix2SeqD.from_config(cfg.model, cfg.diffusion).eval()
    assert model.mask_size == (48, 160) and model.image_size == (96, 320)
    assert 0.5e6 < model.num_parameters()["total"] < 2e6
    for H, W in [(96, 320), (64, 128)]:
        with torch.no_grad():
            feats = model.encode(torch.zeros(2, 3, H, W))
            assert feats.shape == (2, cfg.model.encoder_dim, H // 2, W // 2)
            logits = model.denoise(torch.zeros(2, 16, H // 2, W // 2), torch.zeros(2, 32, H // 2, W // 2),
                                   feats, torch.tensor([0.3, 0.9]))
        assert logits.shape == (2, 512, H // 2, W // 2) and logits.dtype == torch.float32
        assert bool((logits[:, cfg.model.num_class_logits:256] < -1e3).all())  # unpredicted class values


@pytest.mark.parametrize("name", ["r18", "r50"])
def test_paper_presets_load(repo_root: Path, name: str) -> None:
    cfg = load_config(repo_root / "configs" / f"{name}.yaml")
    assert cfg.model.image_size == (384, 1248) and cfg.model.mask_stride == 2
    cfg.model = replace(cfg.model, backbone_width=8, encoder_dim=32, encoder_heads=2, encoder_layers=1,
                        feature_dim=16, denoiser_channels=(8, 8, 16, 16), denoiser_transformer_dim=32,
                        denoiser_layers=1, denoiser_heads=2, image_size=(64, 128))
    model = Pix2SeqD.from_config(cfg.model, cfg.diffusion)
    assert model.mask_size == (32, 64) and model.encoder.out_dim == 16


def test_denoise_is_context_plus_step() -> None:
    torch.manual_seed(0)
    model = Pix2SeqD.from_config(SMALL, DiffusionConfig()).eval()
    images, target, cond = _batch(model)
    cond = torch.randn_like(cond) * 0.1
    x = torch.randn(2, 16, *model.mask_size)
    gamma = torch.tensor([0.2, 0.7])
    with torch.no_grad():
        feats = model.encode(images)
        a = model.denoise(x, cond, feats, gamma)
        b = model.denoise_step(x, model.context(cond, feats), gamma)
        c = model(images, x, cond, gamma)
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(a, c)


def test_segment_weights_normalised_and_size_dependent() -> None:
    cls = torch.zeros(1, 10, 10, dtype=torch.int64)
    inst = torch.zeros_like(cls)
    cls[0, :2, :2], inst[0, :2, :2] = 13, 1  # 4-pixel car, 96-pixel road
    valid = torch.ones_like(cls, dtype=torch.bool)
    w = segment_weights(cls, inst, 0.2, valid)
    assert w.mean().item() == pytest.approx(1.0, abs=1e-5)
    assert w[0, 0, 0].item() / w[0, 9, 9].item() == pytest.approx((96 / 4) ** 0.2, rel=1e-5)
    valid[0, 5:] = False
    w = segment_weights(cls, inst, 0.2, valid)
    assert w[valid].mean().item() == pytest.approx(1.0, abs=1e-5) and w[~valid].abs().sum().item() == 0
    assert torch.allclose(segment_weights(cls, inst, 0.0, torch.ones_like(valid)), torch.ones(1, 10, 10))


def test_void_pixels_do_not_change_loss() -> None:
    torch.manual_seed(0)
    model = Pix2SeqD.from_config(SMALL, DiffusionConfig())
    images, target, cond = _batch(model)
    other = target.clone()
    other[:, -2:, :3] = 255_003  # void with another instance id: weight 0, so the same loss
    loss_a, stats = model.training_loss(images, target, cond, torch.Generator().manual_seed(5))
    loss_b, _ = model.training_loss(images, other, cond, torch.Generator().manual_seed(5))
    assert loss_a.item() == pytest.approx(loss_b.item(), rel=1e-6)
    car = target.clone()
    car[:, -2:, :3] = 13_003  # the same pixels as a real object do count
    assert model.training_loss(images, car, cond, torch.Generator().manual_seed(5))[0].item() != loss_a.item()
    assert set(stats) >= {"loss", "loss_class", "loss_instance"} and loss_a.requires_grad
    assert stats["loss"] == pytest.approx(stats["loss_class"] + stats["loss_instance"], rel=1e-5)
    with pytest.raises(ValueError, match="mask size"):
        model.training_loss(images, target[:, :-1], cond)


def test_adamw_steps_lower_training_loss() -> None:
    torch.manual_seed(0)
    model = Pix2SeqD.from_config(SMALL, DiffusionConfig())
    ema = copy.deepcopy(model)  # the model holds no forward-time state, so a deep copy is a valid EMA shell
    images, target, cond = _batch(model, B=4)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.0)

    def loss_at_fixed_noise() -> torch.Tensor:
        return model.training_loss(images, target, cond, torch.Generator().manual_seed(1))[0]

    first = loss_at_fixed_noise().item()
    for _ in range(10):
        loss = loss_at_fixed_noise()
        opt.zero_grad()
        loss.backward()
        opt.step()
    last = loss_at_fixed_noise().item()
    assert last < 0.8 * first, (first, last)
    assert set(ema.state_dict()) == set(model.state_dict())


def test_drop_conditioning() -> None:
    cond = torch.ones(64, 32, 2, 2)
    out = drop_conditioning(cond, 0.5, torch.Generator().manual_seed(0))
    per_block = out.view(64, 2, 16, 2, 2).amax(dim=(2, 3, 4))  # 1 kept, 0 dropped
    assert bool((out.view(64, 2, 16, 4) == per_block[:, :, None, None]).all())
    assert 0.2 < per_block.float().mean().item() < 0.8
    assert torch.equal(drop_conditioning(cond, 0.0), cond)


def test_bad_configs_rejected() -> None:
    with pytest.raises(ValueError, match="divisible"):
        Pix2SeqD.from_config(replace(SMALL, image_size=(40, 64)), DiffusionConfig())
    with pytest.raises(ValueError, match="num_class_logits"):
        Pix2SeqD.from_config(replace(SMALL, num_class_logits=300), DiffusionConfig())
    with pytest.raises(ValueError, match="void"):
        Pix2SeqD.from_config(SMALL, DiffusionConfig(void_weight=1.0))
