"""The native core against the NumPy twins, bit for bit, on random and adversarial inputs (every function)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tests.native.conftest import adversarial_panoptic, random_panoptic
from vps.bits import BitLayout, bits_to_panoptic, panoptic_to_bits
from vps.components import split_instance_parts
from vps.kernels.iou import mask_iou
from vps.kernels.reference import decode_panoptic_reference, nearest_source_index, pair_histogram_reference
from vps.postprocess import postprocess_panoptic
from vps.runtime.frames import FrameGeometry, restore_labels

THINGS = (11, 12, 13, 14, 15, 16, 17, 18)


def _maps() -> list[np.ndarray]:
    rng = np.random.default_rng(16)
    shapes = [(48, 160), (37, 53), (8, 8), (3, 200)]
    rand = [random_panoptic(rng, h, w, block=b) for (h, w), b in itertools.product(shapes, (1, 3, 6))]
    return adversarial_panoptic() + rand


MAPS = _maps()


@pytest.mark.parametrize("k", range(len(MAPS)))
def test_bits_both_ways(vn, numpy_twins, k):
    pan = MAPS[k]
    ref = panoptic_to_bits(pan)
    got = vn.panoptic_to_bits(pan, 8, 8, 0.1, 1000)
    assert got.dtype == ref.dtype == np.float32 and np.array_equal(got, ref)
    noisy = ref + np.random.default_rng(k).normal(0, 0.2, ref.shape).astype(np.float32)
    noisy.flat[:: 7] = 0.0
    noisy.flat[1:: 11] = np.nan
    noisy.flat[2:: 13] = -0.0
    assert np.array_equal(vn.bits_to_panoptic(noisy, 8, 8, 0.1, 1000), bits_to_panoptic(noisy))


def test_bits_other_layout_and_refusals(vn, numpy_twins):
    layout = BitLayout(class_bits=4, instance_bits=6, scale=0.37, label_divisor=64)
    rng = np.random.default_rng(1)
    pan = (rng.integers(0, 16, (9, 11)) * 64 + rng.integers(0, 64, (9, 11))).astype(np.int32)
    assert np.array_equal(vn.panoptic_to_bits(pan, 4, 6, 0.37, 64), panoptic_to_bits(pan, layout))
    for bad in (np.full((2, 2), 256000, np.int32), np.full((2, 2), -1, np.int32)):
        with pytest.raises(ValueError, match="class ids"):
            panoptic_to_bits(bad)
        with pytest.raises(ValueError, match="pan: class ids"):
            vn.panoptic_to_bits(bad, 8, 8, 0.1, 1000)
    with pytest.raises(ValueError, match="layout"):
        vn.panoptic_to_bits(pan, 9, 8, 0.1, 1000)


@pytest.mark.parametrize("seed", range(6))
def test_decode_logits_and_bits(vn, seed):
    rng = np.random.default_rng(seed)
    h, w = [(6, 20), (1, 1), (12, 5), (48, 160), (3, 3), (7, 9)][seed]
    x = rng.integers(-2, 3, (512, h, w)).astype(np.float32)  # small integers: many tied maxima
    x[rng.random(x.shape) < 0.002] = np.nan
    if seed == 4:
        x[:] = 0.0  # every logit tied: index 0 wins
    bits = rng.normal(0, 1, (16, h, w)).astype(np.float32)
    bits[:, 0, 0] = [0.0, -0.0, np.nan, 1e-38] * 4
    sizes = [(h, w), (2 * h + 1, 3 * w - 1 if w > 1 else 5), (max(1, h // 2), max(1, w // 3)), (375, 1242)]
    for out in sizes:
        for div in (1000, 256, 65536):
            for inp in (x, bits):
                ref = decode_panoptic_reference(inp[None], out, div)[0]
                assert np.array_equal(vn.decode_panoptic(inp, div, *out), ref), (out, div, inp.shape)


def test_nearest_index(vn):
    pairs = [(8, 82), (192, 375), (624, 1242), (375, 192), (1, 7), (7, 1), (48, 375), (160, 1242), (13, 13)]
    pairs += [(int(a), int(b)) for a, b in np.random.default_rng(2).integers(1, 3000, (200, 2))]
    for n_in, n_out in pairs:
        assert np.array_equal(vn.nearest_index(n_in, n_out), nearest_source_index(n_in, n_out)), (n_in, n_out)


GEOMETRIES = [((375, 1242), (192, 624), (48, 156)), ((375, 1242), (192, 624), (192, 624)),
              ((480, 640), (192, 624), (96, 312)), ((1, 1), (16, 16), (4, 4)), ((100, 3), (64, 64), (64, 64)),
              ((31, 997), (128, 128), (37, 41)), ((8, 8), (32, 32), (8, 8))]


@pytest.mark.parametrize("k", range(len(GEOMETRIES)))
@pytest.mark.parametrize("mode", ["stretch", "letterbox"])
def test_geometry_and_restore(vn, numpy_twins, k, mode):
    frame, network, labels_hw = GEOMETRIES[k]
    g = FrameGeometry.fit(frame, network, mode)
    assert vn.geometry_fit(*frame, *network, mode) == (*g.frame_hw, *g.network_hw, *g.content_hw, *g.offset)
    labels = np.random.default_rng(k).integers(-2**31, 2**31, (2, *labels_hw)).astype(np.int32)
    ref = restore_labels(labels, g)
    got = vn.restore_labels(labels, (*g.frame_hw, *g.network_hw, *g.content_hw, *g.offset))
    assert np.array_equal(got, ref)


@pytest.mark.parametrize("k", range(len(MAPS)))
def test_postprocess_and_split(vn, numpy_twins, k):
    pan = MAPS[k]
    for things, min_area, min_part in itertools.product((THINGS, (), (0, 255)), (0, 1, 4, 50), (0, 1, 3, 20)):
        ref = postprocess_panoptic(pan, things, min_area, 1000, min_part)
        got = vn.postprocess_panoptic(pan, np.asarray(things, np.int32), min_area, 1000, min_part)
        assert got.dtype == np.int32 and np.array_equal(got, ref), (things, min_area, min_part)
    for min_part in (0, 1, 2, 5):
        got = vn.split_instance_parts(pan, min_part, 1000)
        assert np.array_equal(got, split_instance_parts(pan, min_part))


def test_split_runs_out_of_ids(vn):
    # 128 instances, each in two detached parts: 127 free ids for 128 second parts; the last keeps its id
    pan = np.zeros((4, 128 * 4), np.int32)
    for i in range(128):
        pan[0, 4 * i: 4 * i + 2] = 13000 + i + 1
        pan[2:4, 4 * i] = 13000 + i + 1
    for min_part in (1, 2, 3):
        got = vn.split_instance_parts(pan, min_part, 1000)
        assert np.array_equal(got, split_instance_parts(pan, min_part))


@pytest.mark.parametrize("seed", range(8))
def test_pair_histogram_and_iou(vn, seed):
    rng = np.random.default_rng(seed)
    num_a, num_b = [(1, 1), (3, 5), (256, 256), (17, 1), (1, 9), (40, 3), (2, 2), (300, 7)][seed]
    n = int(rng.integers(0, 5000))
    a = rng.integers(-2, num_a + 2, n).astype(np.int32)
    b = rng.integers(-2, num_b + 2, n).astype(np.int32)
    for ia, ib in [(None, None), (0, None), (None, num_b - 1), (num_a - 1, 0), (-2, 10**6)]:
        hist, bad = vn.pair_histogram(a, b, num_a, num_b, ia, ib)
        assert np.array_equal(hist, pair_histogram_reference(a, b, num_a, num_b, ia, ib))
        keep = (a != ia if ia is not None else True) & (b != ib if ib is not None else True)
        inside = (a >= 0) & (a < num_a) & (b >= 0) & (b < num_b)
        assert bad == int(np.sum(keep & ~inside))
        assert np.array_equal(vn.mask_iou(hist), mask_iou(hist))  # float64, exactly


def test_refusals_name_the_argument(vn):
    with pytest.raises(ValueError, match="thing_ids"):
        vn.postprocess_panoptic(np.zeros((2, 2), np.int32), np.array([300], np.int32), 0, 1000, 0)
    with pytest.raises(ValueError, match="channels"):
        vn.decode_panoptic(np.zeros((3, 2, 2), np.float32), 1000, 2, 2)
    with pytest.raises(ValueError, match="out: expected positive sizes"):
        vn.decode_panoptic(np.zeros((16, 2, 2), np.float32), 1000, 0, 2)
    with pytest.raises(ValueError, match="geometry"):
        vn.restore_labels(np.zeros((1, 2, 2), np.int32), (0, 4, 2, 2, 2, 2, 0, 0))
    with pytest.raises(ValueError, match="num_a and num_b"):
        vn.pair_histogram(np.zeros(3, np.int32), np.zeros(3, np.int32), 0, 4)
    with pytest.raises(ValueError, match="label_divisor"):
        vn.split_instance_parts(np.zeros((2, 2), np.int32), 1, 0)


@pytest.mark.parametrize("div", [256, 65536, 1000])
def test_postprocess_other_divisors_and_negative_ids(vn, numpy_twins, div):
    rng = np.random.default_rng(div)
    pan = random_panoptic(rng, 30, 41, div=div, block=3)
    if div == 1000:  # negative ids: floor division / modulo as Python's
        pan = pan - rng.integers(0, 3000, pan.shape).astype(np.int32) * (rng.random(pan.shape) < 0.3)
    for min_area, min_part in itertools.product((0, 4), (0, 1, 6)):
        ref = postprocess_panoptic(pan, THINGS, min_area, div, min_part)
        got = vn.postprocess_panoptic(pan, np.asarray(THINGS, np.int32), min_area, div, min_part)
        assert np.array_equal(got, ref), (min_area, min_part)
        split = vn.split_instance_parts(pan, min_part, div)
        assert np.array_equal(split, split_instance_parts(pan, min_part, div))


def test_postprocess_int32_extremes(vn, numpy_twins):
    rng = np.random.default_rng(3)
    edges = np.array([-2**31, -2**31 + 1, -1, 0, 1, 2**31 - 1, 2**31 - 2, 255255, 13999, -13999], np.int64)
    pan = rng.choice(edges, (12, 17)).astype(np.int32)
    pan[4:8, 4:8] = 2**31 - 1
    pan[0:2, 10:12] = 2**31 - 1
    for things, min_part in itertools.product((THINGS, (255, 0, 147)), (0, 1, 3)):
        ref = postprocess_panoptic(pan, things, 2, 1000, min_part)
        got = vn.postprocess_panoptic(pan, np.asarray(things, np.int32), 2, 1000, min_part)
        assert np.array_equal(got, ref), (things, min_part)
        split = vn.split_instance_parts(pan, min_part, 1000)
        assert np.array_equal(split, split_instance_parts(pan, min_part))
