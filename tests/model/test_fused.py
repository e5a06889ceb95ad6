"""The exported graphs' in-graph head equals the host reference: bits within 1e-5, ids bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vps.kernels.reference import decode_panoptic_reference, expected_bits_reference
from vps.model.denoiser import NEG_LOGIT
from vps.model.fused import BitHead


def _padded(raw: torch.Tensor, nc: int) -> torch.Tensor:
    """The 512-channel interface the references read: class values, padding, instance values."""
    B, _, h, w = raw.shape
    pad = torch.full((B, 256 - nc, h, w), NEG_LOGIT)
    return torch.cat([raw[:, :nc], pad, raw[:, nc:]], dim=1)


@pytest.mark.parametrize("nc, seed, spread", [(32, 0, 3.0), (256, 1, 3.0), (19, 2, 30.0), (32, 3, 0.0)])
def test_bits_and_ids_equal_the_references(nc: int, seed: int, spread: float) -> None:
    gen = torch.Generator().manual_seed(seed)
    raw = torch.randn(2, nc + 256, 6, 10, generator=gen) * spread  # spread 0: every value ties
    raw[0, :, 0, 0] = 0.0  # an all-tie pixel: argmax takes the lowest value, like the kernels
    head = BitHead(nc, 256, 8, 8, scale=0.1, label_divisor=1000)
    full = _padded(raw, nc)
    bits = head.bits(raw)
    assert bits.shape == (2, 16, 6, 10) and bits.dtype == torch.float32
    np.testing.assert_allclose(bits.numpy(), expected_bits_reference(full.numpy(), 0.1), rtol=0, atol=1e-5)
    ids = head.ids(raw)
    assert ids.dtype == torch.int32
    np.testing.assert_array_equal(ids.numpy(), decode_panoptic_reference(full.numpy()))


def test_head_reads_only_the_predicted_values() -> None:
    head = BitHead(32, 256, 8, 8, scale=0.1, label_divisor=1000)
    raw = torch.zeros(1, 288, 1, 1)
    raw[0, 31, 0, 0] = 50.0  # class value 31
    raw[0, 32 + 200, 0, 0] = 50.0  # instance 200
    assert int(head.ids(raw)) == 31_200
    want = torch.tensor([1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 1], dtype=torch.float32) * 0.2 - 0.1
    torch.testing.assert_close(head.bits(raw)[0, :, 0, 0], want, rtol=0, atol=1e-6)
