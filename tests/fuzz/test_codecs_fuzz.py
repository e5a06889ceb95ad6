"""Fuzz: PNG decoding and KITTI panoptic encoding (vps.data.codecs, vps.runtime.sources)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import cv2
import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from vps.data.codecs import read_image, read_kitti_panoptic, write_kitti_panoptic
from vps.data.meta import KITTI_STEP
from vps.errors import DataError
from vps.runtime.sources import decode_image

_VALID = cv2.imencode(".png", np.random.default_rng(0).integers(0, 256, (12, 20, 3), dtype=np.uint8))[1]
VALID_PNG = _VALID.tobytes()


@st.composite
def damaged_png(draw: st.DrawFn) -> bytes:
    """A valid PNG truncated, with bytes overwritten, or with bytes inserted; or random bytes."""
    kind = draw(st.sampled_from(["truncate", "flip", "insert", "random"]))
    data = bytearray(VALID_PNG)
    if kind == "random":
        return draw(st.binary(max_size=400))
    if kind == "truncate":
        return bytes(data[: draw(st.integers(0, len(data) - 1))])
    pos = draw(st.integers(0, len(data) - 1))
    blob = draw(st.binary(min_size=1, max_size=16))
    if kind == "flip":
        data[pos:pos + len(blob)] = blob
    else:
        data[pos:pos] = blob
    return bytes(data)


@given(damaged_png())
def test_decoders_raise_data_error_or_return_an_image(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f.png"
        path.write_bytes(data)
        for read in (decode_image, read_image, lambda p: read_kitti_panoptic(p, KITTI_STEP)):
            try:
                img = read(path)
            except DataError as e:
                assert str(path) in str(e) and "\n" not in str(e)
            else:
                assert isinstance(img, np.ndarray) and img.ndim in (2, 3) and img.size > 0


panoptic_maps = st.one_of(
    hnp.arrays(dtype=st.sampled_from([np.int32, np.int64]),
               shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=6),
               elements=st.integers(-5, 300_000)),
    hnp.arrays(dtype=st.sampled_from([np.uint16, np.float32, np.float64]),
               shape=hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=4),
               elements=st.integers(0, 60_000)))


@given(panoptic_maps)
def test_panoptic_writer_round_trips_or_refuses_without_leaving_a_file(pan: np.ndarray) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "seq" / "000000.png"
        try:
            write_kitti_panoptic(path, pan)
        except ValueError:
            assert not path.exists()
            assert not [p for p in Path(tmp).rglob("*") if p.is_file()]  # no temp file left
            return
        try:
            back = read_kitti_panoptic(path, KITTI_STEP)
        except DataError as e:  # written, but a class id KITTI-STEP does not have: the reader names it
            assert "semantic ids" in str(e) and str(path) in str(e)
            return
        np.testing.assert_array_equal(back, pan.astype(np.int64))
