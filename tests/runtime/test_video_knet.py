"""Video K-Net's frame program through the frame engine, with a scripted NumPy backend: the carried kernels,
ids kept across frames on a clip whose objects only translate, new sequences, stages and hooks."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from tests.runtime.programs import KERNELS, make_knet_program, make_program
from vps.data.meta import KITTI_STEP
from vps.runtime.family import GraphCalls, family_class
from vps.runtime.segmenter import Segmenter
from vps.runtime.timing import StageTimer
from vps.runtime.video_knet import VideoKNetFrame

SIZE, MASK = (32, 64), (16, 32)
ROAD = KERNELS.num_things + KERNELS.stuff_classes.index(0)
# (class, embedding direction, top-left at frame 0 (mask pixels), velocity per frame, size)
OBJECTS = ((13, 0, (2, 2), (0, 2), (4, 6)), (13, 1, (9, 20), (0, -2), (4, 6)),
           (11, 2, (1, 24), (1, 0), (5, 3)))


class Translating:
    """Fake ``knet_frame``: the objects above, moving, in kernel slots that rotate every frame (so identity
    can only come from the embeddings), with slightly noisy L2-normalised embeddings; ``kernels`` out =
    ``prev_kernels + 1`` (or 1 on a first frame). Records every call's ``prev_kernels`` and ``has_prev``."""

    name = "fake"

    def __init__(self) -> None:
        self.calls: list[tuple[np.ndarray, float]] = []
        self.frame = 0
        self.rng = np.random.default_rng(0)

    def run(self, graph: str, image: np.ndarray, prev: np.ndarray, has_prev: np.ndarray) -> list[np.ndarray]:
        assert graph == "knet_frame" and image.shape == (1, 3, *SIZE)
        self.calls.append((np.array(prev), float(has_prev[0])))
        self.frame = self.frame + 1 if has_prev[0] else 0
        K, N = KERNELS.num_kernels, KERNELS.num_things
        scores = np.zeros((1, K, KITTI_STEP.num_classes), np.float32)
        masks = np.full((1, K, *MASK), 0.1, np.float32)
        masks[0, ROAD] = 0.2  # road everywhere the things are not
        embeds = self.rng.normal(0, 0.05, (1, N, KERNELS.embed_dim)).astype(np.float32)
        for j, (cls, direction, (y, x), (vy, vx), (h, w)) in enumerate(OBJECTS):
            k = (j + self.frame) % N  # the object's kernel slot this frame
            y, x = y + vy * self.frame, x + vx * self.frame
            scores[0, k, cls] = 0.9
            masks[0, k, y:y + h, x:x + w] = 0.95
            embeds[0, k, direction] += 1.0
        embeds /= np.linalg.norm(embeds, axis=-1, keepdims=True)
        kernels = (prev + 1.0) if has_prev[0] else np.ones_like(prev)
        return [scores, masks, embeds, kernels.astype(np.float32)]

    def asarray(self, array: np.ndarray) -> np.ndarray:
        return array

    def to_numpy(self, array: Any) -> np.ndarray:
        return np.asarray(array)


def frames(n: int) -> list[np.ndarray]:
    return [np.full((*SIZE, 3), 100, np.uint8)] * n


def object_ids(panoptic: np.ndarray, frame: int) -> list[int]:
    """The panoptic id at each object's centre (frame resolution: mask pixels times 2)."""
    out = []
    for _, _, (y, x), (vy, vx), (h, w) in OBJECTS:
        cy, cx = y + vy * frame + h // 2, x + vx * frame + w // 2
        out.append(int(panoptic[2 * cy, 2 * cx]))
    return out


def test_ids_stay_the_same_while_objects_translate() -> None:
    backend = Translating()
    seg = Segmenter(make_knet_program(SIZE), backend, track=False)
    per_frame = [object_ids(seg.step(f).panoptic, t) for t, f in enumerate(frames(6))]
    assert per_frame == [[13001, 13002, 11003]] * 6  # model ids: class * 1000 + association id
    tracked = Segmenter(make_knet_program(SIZE), Translating())
    results = [tracked.step(f) for f in frames(6)]
    ids = [object_ids(r.panoptic, t) for t, r in enumerate(results)]
    assert all(row == ids[0] for row in ids) and len(set(ids[0])) == 3
    assert [len(r.tracks) for r in results] == [3] * 6 and {t.id for t in results[-1].tracks} == {1, 2, 3}
    assert (results[0].semantic[0, -1], results[0].panoptic[0, -1]) == (0, 0)  # road fills the rest


def test_kernels_are_carried_and_a_new_sequence_starts_over() -> None:
    backend = Translating()
    seg = Segmenter(make_knet_program(SIZE), backend, track=False)
    results = [seg.step(f) for f in frames(3)]
    (p0, h0), (p1, h1), (p2, h2) = backend.calls
    assert (h0, h1, h2) == (0.0, 1.0, 1.0) and [r.warm_start for r in results] == [False, True, True]
    assert p0.shape == (1, KERNELS.num_kernels, KERNELS.kernel_dim) and not p0.any()
    assert (p1 == 1).all() and (p2 == 2).all()  # the previous frame's kernels, as the graph returned them
    seg.reset()
    again = seg.step(frames(1)[0])
    assert backend.calls[-1][1] == 0.0 and not backend.calls[-1][0].any() and not again.warm_start
    assert object_ids(again.panoptic, 0) == [13001, 13002, 11003]  # ids restart with the sequence


def test_stages_and_hooks_see_the_graph() -> None:
    seen: list[str] = []
    seg = Segmenter(make_knet_program(SIZE), Translating(),
                    hooks=[lambda graph, inputs, out: seen.append(f"{graph}:{len(inputs)}:{len(out)}")])
    timings = seg.step(frames(1)[0]).timings
    assert seen == ["knet_frame:3:4"]
    assert {"preprocess", "knet_frame", "fusion", "association", "decode", "tracking"} <= set(timings)


def test_family_registry_and_plan_checks() -> None:
    program = make_knet_program(SIZE)
    model = family_class("video_knet")(program, GraphCalls(Translating(), StageTimer()))
    assert isinstance(model, VideoKNetFrame) and model.graphs == ("knet_frame",)
    with pytest.raises(ValueError, match="needs kernels and no other plan, but kernels is missing"):
        replace(program, kernels=None)
    with pytest.raises(ValueError, match="needs sampler and no other plan, but kernels is set"):
        make_program(kernels=KERNELS)
    with pytest.raises(ValueError, match=r"stuff_classes \[13\] are not stuff classes"):
        replace(program, kernels=replace(KERNELS, stuff_classes=(*KERNELS.stuff_classes[:-1], 13)))
    with pytest.raises(ValueError, match="num_kernels"):
        replace(KERNELS, num_kernels=5)
