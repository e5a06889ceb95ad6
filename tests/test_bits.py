"""vps.bits on tensors equals vps.bits on NumPy arrays (one implementation) and round-trips every id."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vps import bits as npbits
from vps.bits import BitLayout, bits_to_panoptic, panoptic_to_bits, split_panoptic


def _all_ids(divisor: int = 1000) -> np.ndarray:
    cls, inst = np.meshgrid(np.arange(256), np.arange(256), indexing="ij")
    return (cls * divisor + inst).astype(np.int64)  # [256, 256]: every class x instance pair


def test_matches_numpy_layout_for_all_ids() -> None:
    pan = _all_ids()
    ref = npbits.panoptic_to_bits(pan)
    got = panoptic_to_bits(torch.from_numpy(pan))
    assert got.shape == (16, 256, 256) and got.dtype == torch.float32
    np.testing.assert_array_equal(got.numpy(), ref)


def test_round_trip_all_ids_batched() -> None:
    pan = torch.from_numpy(_all_ids()).view(4, 64, 256)
    bits = panoptic_to_bits(pan)
    assert bits.shape == (4, 16, 64, 256)
    assert torch.unique(bits).tolist() == pytest.approx([-0.1, 0.1])
    back = bits_to_panoptic(bits)
    assert back.dtype == torch.int32
    torch.testing.assert_close(back, pan.int())
    np.testing.assert_array_equal(npbits.bits_to_panoptic(bits.numpy()), back.numpy())


def test_custom_scale_and_divisor() -> None:
    layout = BitLayout(scale=0.5, label_divisor=256)
    pan = torch.from_numpy(_all_ids(256))
    bits = panoptic_to_bits(pan, layout)
    np.testing.assert_array_equal(bits.numpy(), npbits.panoptic_to_bits(pan.numpy(), layout))
    assert bits.abs().max().item() == 0.5
    torch.testing.assert_close(bits_to_panoptic(bits, layout), pan.int())


def test_split_and_errors() -> None:
    cls, inst = split_panoptic(torch.tensor([[13005, 255000]]))
    assert cls.tolist() == [[13, 255]] and inst.tolist() == [[5, 0]]
    with pytest.raises(ValueError, match="16 bit channels"):
        bits_to_panoptic(torch.zeros(1, 8, 2, 2))
    with pytest.raises(ValueError, match="at least 2 dims"):
        panoptic_to_bits(torch.zeros(4, dtype=torch.int64))
