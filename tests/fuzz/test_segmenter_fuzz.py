"""Fuzz: arbitrary arrays into Segmenter.step give a FrameResult or a ValueError, and a refused frame
leaves the stream exactly as it was."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tests.runtime.test_segmenter import CAR, box_scene, frame, segmenter

SCENE = box_scene(lambda f: [(CAR * 1000 + 7, 2, 2, 6, 8)])

DTYPES = st.sampled_from([np.uint8, np.uint16, np.int8, np.int32, np.int64, np.float16, np.float32,
                          np.float64, np.bool_, np.complex64])
frames = st.one_of(
    hnp.arrays(dtype=DTYPES, shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=7)),
    hnp.arrays(dtype=st.sampled_from([np.uint8, np.float32]),
               shape=st.tuples(st.integers(1, 40), st.integers(1, 40), st.sampled_from([1, 3, 4]))),
    st.builds(lambda v: v, st.sampled_from([None, [], [[1, 2]], "frame", 3.5])),
)


@given(frames)
def test_step_accepts_or_refuses_cleanly_and_refusals_change_nothing(bad: object) -> None:
    seg, _ = segmenter(SCENE, record=False)
    first = seg.step(frame(seed=1))
    try:
        r = seg.step(bad)  # type: ignore[arg-type]
    except ValueError as e:
        assert str(e) and "\n" not in str(e).strip()
        after = seg.step(frame(seed=2))
        ref, _ = segmenter(SCENE, record=False)
        ref.step(frame(seed=1))
        expect = ref.step(frame(seed=2))
        np.testing.assert_array_equal(after.panoptic, expect.panoptic)
        assert after.frame_index == expect.frame_index == 1
        assert [t.id for t in after.tracks] == [t.id for t in first.tracks]
    else:
        h, w = np.asarray(bad).shape[:2]
        assert r.panoptic.shape == r.track_ids.shape == (h, w)
        assert r.panoptic.dtype == np.int32 and (r.panoptic >= 0).all()
