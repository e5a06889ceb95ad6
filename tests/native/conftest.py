"""Fixtures of the native-core tests: the extension (skip with the reason if not built) and the NumPy side.

``make test`` builds and installs ``vps_native`` (``pip install ./cmake``) before pytest runs, so these tests
run in CI; elsewhere they skip, saying how to build it.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import numpy as np
import pytest

from vps.runtime import native


@pytest.fixture(scope="session")
def vn() -> ModuleType:
    """The ``vps_native`` extension module."""
    try:
        import vps_native
    except ImportError as e:
        pytest.skip(f"native core not built ({e}); run `make test` or `pip install ./cmake`")
    return vps_native


@pytest.fixture
def numpy_twins() -> Iterator[None]:
    """Run the block with the NumPy twins only (``VPS_NATIVE=off``), then restore the mode."""
    native.set_mode("off")
    try:
        yield
    finally:
        native.set_mode(None)


def random_panoptic(rng: np.random.Generator, h: int, w: int, classes: tuple[int, ...] = (0, 2, 11, 13, 255),
                    max_inst: int = 255, div: int = 1000, block: int = 4) -> np.ndarray:
    """``int32 [h, w]`` blobby panoptic map: nearest-upsampled random blocks plus single-pixel noise."""
    bh, bw = -(-h // block), -(-w // block)
    cls = rng.choice(classes, (bh, bw))
    inst = rng.integers(0, max_inst + 1, (bh, bw)) * (rng.random((bh, bw)) < 0.7)
    pan = np.kron(cls * div + inst, np.ones((block, block), np.int64))[:h, :w]
    noise = rng.random((h, w)) < 0.03
    pan[noise] = rng.choice(classes, int(noise.sum())) * div + rng.integers(0, max_inst + 1, int(noise.sum()))
    return pan.astype(np.int32)


def adversarial_panoptic(div: int = 1000) -> list[np.ndarray]:
    """Edge cases: empty (all 0), one pixel, void everywhere, 255 instances, ids at the byte edges."""
    rng = np.random.default_rng(0)
    many = np.arange(16 * 16, dtype=np.int64).reshape(16, 16) % 256  # instances 0..255 of one class
    edges = np.array([[0, 255 * div + 255, 255 * div], [255, 13 * div + 255, 13 * div + 1]], np.int64)
    return [
        np.zeros((7, 9), np.int32),
        np.full((1, 1), 13 * div + 5, np.int32),
        np.full((1, 1), 0, np.int32),
        np.full((5, 6), 255 * div, np.int32),
        (13 * div + many).astype(np.int32),
        (11 * div + many.T).astype(np.int32),
        edges.astype(np.int32),
        np.kron(edges, np.ones((3, 3), np.int64)).astype(np.int32),
        random_panoptic(rng, 1, 40, block=1),
        random_panoptic(rng, 40, 1, block=1),
    ]
