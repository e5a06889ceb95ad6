"""Sampling and streaming inference end to end on a tiny random model."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

import vps.kernels
from vps.config import DiffusionConfig, ModelConfig
from vps.model import Pix2SeqD
from vps.model.inference import VideoPredictor, sample
from vps.model.samplers import DDIMSampler

pytestmark = pytest.mark.skipif(not hasattr(vps.kernels, "decode_panoptic"),
                                reason="vps.kernels.expected_bits / decode_panoptic not available yet")

TINY = ModelConfig(backbone="resnet18", backbone_width=8, image_size=(32, 64), mask_stride=2, encoder_dim=32,
                   encoder_layers=1, encoder_heads=2, denoiser_channels=(16, 32), denoiser_layers=1,
                   denoiser_heads=2, num_class_logits=32)


@pytest.fixture(scope="module")
def model() -> Pix2SeqD:
    torch.manual_seed(0)
    return Pix2SeqD.from_config(TINY, DiffusionConfig())


def _frames(n: int = 3, hw: tuple[int, int] = (37, 70)) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (*hw, 3), dtype=np.uint8) for _ in range(n)]


@pytest.mark.parametrize("warm", [False, True])
def test_video_predictor_shapes_and_determinism(model: Pix2SeqD, warm: bool) -> None:
    vp = VideoPredictor(model, DDIMSampler(model.schedule, td=1.0), steps=3, warm_start=warm,
                        warm_start_steps=1, warm_start_time=0.5, min_area=2, generator_seed=7)
    frames = _frames()
    a = vp.predict_sequence(frames)
    b = vp.predict_sequence(frames)
    assert len(a) == 3
    for x, y in zip(a, b, strict=True):
        assert x.shape == (37, 70) and x.dtype == np.int32
        np.testing.assert_array_equal(x, y)
        assert x.min() >= 0 and (x % 1000).max() < 256 and (x // 1000).max() < 256
    assert model.training  # restored after inference
    vp.reset()
    np.testing.assert_array_equal(vp.step(frames[0]), a[0])
    with pytest.raises(ValueError, match="frame"):
        vp.step(np.zeros((4, 4), np.uint8))


def test_sample_one_step_and_warm_start(model: Pix2SeqD) -> None:
    h, w = model.mask_size
    with torch.no_grad():
        feats = model.encode(torch.zeros(1, 3, *model.image_size))
        cond = torch.zeros(1, 32, h, w)
        sampler = DDIMSampler(model.schedule)
        logits = sample(model, feats, cond, sampler, 1, generator=torch.Generator().manual_seed(0))
        assert logits.shape == (1, 512, h, w)
        x_init = torch.full((1, 16, h, w), 0.1)
        warm = sample(model, feats, cond, sampler, 2, x_init=x_init, start_time=0.3,
                      generator=torch.Generator().manual_seed(0))
        assert sampler.timesteps[0][0] == 0.3 and warm.shape == logits.shape


def test_predictor_rejects_bad_settings(model: Pix2SeqD) -> None:
    with pytest.raises(ValueError, match="steps"):
        VideoPredictor(model, DDIMSampler(model.schedule), steps=0)
    with pytest.raises(ValueError, match="warm_start_time"):
        VideoPredictor(model, DDIMSampler(model.schedule), steps=2, warm_start=True, warm_start_time=0.0)
    assert replace(TINY).image_size == (32, 64)


def test_autocast_bf16_runs(model: Pix2SeqD) -> None:
    vp = VideoPredictor(model, DDIMSampler(model.schedule), steps=2, generator_seed=1,
                        amp_dtype=torch.bfloat16)
    out = vp.step(_frames(1)[0])
    assert out.shape == (37, 70) and out.dtype == np.int32
