"""Pix2Seq-D's frame program with a recording NumPy backend: plans, DDIM moves, noise, warm start."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from tests.runtime.programs import SAMPLER, make_program
from vps.runtime.family import GraphCalls, family_class
from vps.runtime.pix2seq_d import DiffusionCarry, NoiseSource, Pix2SeqDFrame
from vps.runtime.timing import StageTimer


class Recording:
    """Fake backend: logits say "class 13, instance 7" wherever x_t[0] > 0; records every denoiser input."""

    name = "fake"

    def __init__(self) -> None:
        self.denoised: list[tuple[np.ndarray, float]] = []

    def run(self, graph: str, *inputs: Any) -> list[np.ndarray]:
        if graph == "encoder":
            return [inputs[0][:, :1, ::2, ::2].repeat(4, axis=1)]  # [B, 4, H/2, W/2]
        if graph == "context":
            return [inputs[1]]
        x_t, _, gamma, *coef = inputs
        self.denoised.append((np.array(x_t), float(gamma[0])))
        logits = self.logits(x_t)
        if graph == "denoiser_final":
            from vps.kernels.reference import decode_panoptic_reference

            return [decode_panoptic_reference(logits)]
        from vps.kernels.reference import expected_bits_reference

        return [expected_bits_reference(logits, 0.1) * coef[0][0, 0] + x_t * coef[0][0, 1]]

    @staticmethod
    def logits(x_t: np.ndarray) -> np.ndarray:
        B, _, h, w = x_t.shape
        logits = np.zeros((B, 512, h, w), np.float32)
        logits[:, 13] = 5.0 * (x_t[:, 0] > 0)
        logits[:, 256 + 7] = 5.0
        return logits

    def asarray(self, array: np.ndarray) -> np.ndarray:
        return array

    def to_numpy(self, array: Any) -> np.ndarray:
        return np.asarray(array)


def frame_model(seed: int = 0) -> tuple[Pix2SeqDFrame, Recording]:
    be = Recording()
    model = family_class("pix2seq_d")(make_program(), GraphCalls(be, StageTimer()), seed=seed)
    assert isinstance(model, Pix2SeqDFrame)
    return model, be


def test_cold_frame_runs_the_plan_with_its_coefficients() -> None:
    from vps.kernels import expected_bits

    model, be = frame_model(seed=4)
    carry = model.new_carry()
    x = np.ones((1, 3, 16, 32), np.float32)
    ids = model.infer(x, carry)
    assert ids.shape == (1, 8, 16) and ids.dtype == np.int32
    noise = NoiseSource(4)((1, 16, 8, 16))
    (x0, g0), (x1, g1) = be.denoised
    assert (g0, g1) == (np.float32(SAMPLER.cold.gammas[0]), np.float32(SAMPLER.cold.gammas[1]))
    np.testing.assert_array_equal(x0, noise)  # cold start: pure noise
    a, b = SAMPLER.cold.coefficients[0]
    want = expected_bits(be.logits(noise), 0.1) * np.float32(a) + noise * np.float32(b)
    np.testing.assert_allclose(x1, want, rtol=1e-6)


def test_warm_frame_starts_from_the_previous_bits() -> None:
    model, be = frame_model(seed=2)
    carry = model.new_carry()
    x = np.ones((1, 3, 16, 32), np.float32)
    assert not model.warm(carry)
    ids = model.infer(x, carry)[0]
    model.observe(ids, carry)
    assert model.warm(carry) and carry.prev_bits is not None
    be.denoised.clear()
    model.infer(x, carry)
    g = SAMPLER.warm.start_gamma
    noise = NoiseSource(2)
    noise((1, 16, 8, 16))  # the first frame's draw
    want = carry.prev_bits[:1] * math.sqrt(g) + noise((1, 16, 8, 16)) * math.sqrt(1 - g)
    assert len(be.denoised) == SAMPLER.warm.steps == 1
    np.testing.assert_allclose(be.denoised[0][0], want, rtol=1e-6)
    np.testing.assert_array_equal(model.new_carry().prev_bits, None)  # a new sequence forgets


def test_carry_keeps_two_frames_and_refuses_another_size() -> None:
    carry = DiffusionCarry()
    first, second = np.full((16, 4, 6), 0.1, np.float32), np.full((16, 4, 6), -0.1, np.float32)
    carry.push(first)
    np.testing.assert_array_equal(carry.prev_bits[1], 0)  # no t-2 yet: zeros, as dropped in training
    carry.push(second)
    np.testing.assert_array_equal(carry.prev_bits[0], second)
    np.testing.assert_array_equal(carry.prev_bits[1], first)
    with pytest.raises(ValueError, match="differs from the stream"):
        carry.push(np.zeros((16, 5, 6), np.float32))


def test_noise_source_is_reproducible() -> None:
    src = NoiseSource(11)
    first = src((2, 3))
    assert first.dtype == np.float32 and not np.array_equal(first, src((2, 3)))
    src.reset()
    np.testing.assert_array_equal(src((2, 3)), first)
    np.testing.assert_array_equal(NoiseSource(11)((2, 3)), first)


def test_unknown_family_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown model family 'kernels'"):
        family_class("kernels")
