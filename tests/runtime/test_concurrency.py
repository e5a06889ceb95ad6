"""The concurrency contract (vps.runtime.concurrency): a second thread entering a Segmenter raises at once.

Finding 1 of issue 17: one Segmenter driven from two threads gave results that differed from a serial
replay, silently. Now the second thread gets ``ConcurrentUseError`` and the stream is untouched.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from tests.runtime.programs import make_program
from tests.runtime.test_segmenter import CAR, FakeBackend, box_scene, frame, segmenter
from vps.runtime.concurrency import ConcurrentUseError
from vps.runtime.segmenter import Segmenter

SCENE = box_scene(lambda f: [(CAR * 1000 + 7, 2, 2 + f % 5, 6, 8 + f % 5)])


class BlockingBackend(FakeBackend):
    """Fake backend whose ``encoder`` waits until the test lets it go (so a step is 'in flight')."""

    def __init__(self) -> None:
        super().__init__(SCENE, record=False)
        self.entered, self.release = threading.Event(), threading.Event()

    def encoder(self, images: np.ndarray) -> list[np.ndarray]:
        self.entered.set()
        assert self.release.wait(10)
        return super().encoder(images)


def _in_flight(seg: Segmenter, backend: BlockingBackend) -> tuple[threading.Thread, list[object]]:
    out: list[object] = []
    worker = threading.Thread(target=lambda: out.append(seg.step(frame(seed=1))))
    worker.start()
    assert backend.entered.wait(10)
    return worker, out


def test_second_thread_entering_step_or_reset_raises_and_the_stream_is_untouched() -> None:
    backend = BlockingBackend()
    seg = Segmenter(make_program(), backend)  # type: ignore[arg-type]
    worker, out = _in_flight(seg, backend)
    with pytest.raises(ConcurrentUseError, match="another thread"):
        seg.step(frame(seed=2))
    with pytest.raises(ConcurrentUseError):
        seg.reset()
    backend.release.set()
    worker.join(10)
    assert len(out) == 1
    second = seg.step(frame(seed=2))  # the failed calls changed nothing: same as a serial run
    ref, _ = segmenter(SCENE, record=False)
    ref.step(frame(seed=1))
    np.testing.assert_array_equal(second.panoptic, ref.step(frame(seed=2)).panoptic)
    assert second.frame_index == 1


def test_two_segmenters_sharing_one_backend_are_refused_while_overlapping() -> None:
    backend = BlockingBackend()
    first = Segmenter(make_program(), backend)  # type: ignore[arg-type]
    other = Segmenter(make_program(), backend)  # type: ignore[arg-type]
    worker, _ = _in_flight(first, backend)
    with pytest.raises(ConcurrentUseError, match="backend"):
        other.step(frame())
    backend.release.set()
    worker.join(10)
    assert other.step(frame()).frame_index == 0  # sequential use is fine


def test_segmenters_in_parallel_threads_match_their_serial_replay() -> None:
    frames = [frame(seed=k) for k in range(6)]

    def run(results: list[np.ndarray]) -> None:
        seg, _ = segmenter(SCENE, record=False)
        results.extend(seg.step(f).panoptic for f in frames)

    runs: list[list[np.ndarray]] = [[] for _ in range(3)]
    threads = [threading.Thread(target=run, args=(r,)) for r in runs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    serial: list[np.ndarray] = []
    run(serial)
    for r in runs:
        assert len(r) == len(frames)
        for a, b in zip(r, serial, strict=True):
            np.testing.assert_array_equal(a, b)


def test_one_segmenter_hammered_from_threads_raises_instead_of_mixing_streams() -> None:
    seg, _ = segmenter(SCENE, record=False)
    errors: list[BaseException] = []
    done: list[int] = []
    start = threading.Barrier(4)

    def hammer() -> None:
        start.wait()
        for k in range(10):
            try:
                done.append(seg.step(frame(seed=k)).frame_index)
            except ConcurrentUseError as e:
                errors.append(e)

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(done) + len(errors) == 40
    assert sorted(done) == list(range(len(done)))  # every accepted frame advanced one stream, in order
