"""Segmenter logic with a scripted NumPy backend: conditioning, schedules, geometry, outputs, validation.

The fake backend "predicts" a scripted panoptic map per frame (one-hot logits), so every test knows what
the model said and can check what the runtime did with it. Real exported graphs: test_segmenter_onnx.py.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from tests.runtime.programs import make_program
from vps.bits import BitLayout, panoptic_to_bits
from vps.data.meta import KITTI_STEP
from vps.postprocess import postprocess_panoptic
from vps.runtime.segmenter import Segmenter
from vps.runtime.tracker import TrackerConfig

CAR, PERSON, ROAD, SKY = 13, 11, 0, 10
Scene = Callable[[int], np.ndarray]  # frame number since the backend was built -> int [h, w] panoptic


def one_hot_logits(pan: np.ndarray, layout: BitLayout) -> np.ndarray:
    """``[1, 512, h, w]`` logits whose argmax decodes to ``pan``."""
    h, w = pan.shape
    logits = np.zeros((1, layout.num_logits, h, w), np.float32)
    cls, inst = pan // layout.label_divisor, pan % layout.label_divisor
    rows, cols = np.indices((h, w))
    logits[0, cls, rows, cols] = 10.0
    logits[0, 256 + inst, rows, cols] = 10.0
    return logits


class FakeBackend:
    """NumPy backend predicting ``scene(frame)``; records cond, gammas and x_t of every call."""

    name = "fake"

    def __init__(self, scene: Scene, layout: BitLayout | None = None, noisy: bool = False,
                 record: bool = True) -> None:
        self.scene, self.layout, self.noisy, self.record = scene, layout or BitLayout(), noisy, record
        self.frame = -1
        self.conds: list[np.ndarray] = []
        self.gammas: list[list[float]] = []
        self.x_t: list[np.ndarray] = []
        self.images: list[np.ndarray] = []

    def run(self, graph: str, *inputs: np.ndarray) -> list[np.ndarray]:
        return getattr(self, graph)(*inputs)

    def encoder(self, images: np.ndarray) -> list[np.ndarray]:
        self.frame += 1
        if self.record:
            self.images.append(np.array(images))
            self.gammas.append([])
        b, _, H, W = images.shape
        return [images.reshape(b, 3, H // 2, 2, W // 2, 2).mean((3, 5))]  # [B, 3, h, w]

    def context(self, cond: np.ndarray, feats: np.ndarray) -> list[np.ndarray]:
        if self.record:
            self.conds.append(np.array(cond))
        return [cond, feats]

    def _logits(self, x_t: np.ndarray, gamma: np.ndarray) -> np.ndarray:
        if self.record:
            self.gammas[-1].append(float(gamma[0]))
            self.x_t.append(np.array(x_t))
        logits = one_hot_logits(self.scene(self.frame), self.layout)
        if self.noisy:  # the answer depends on the sampler state: noise and schedules matter
            logits[:, :256] += 40.0 * x_t[:, :1].repeat(256, 1) * np.arange(256)[None, :, None, None] / 256
        return logits

    def denoiser_step(self, x_t: np.ndarray, ctx: list[np.ndarray], gamma: np.ndarray,
                      coef: np.ndarray) -> list[np.ndarray]:
        from vps.kernels.reference import expected_bits_reference

        x0 = expected_bits_reference(self._logits(x_t, gamma), self.layout.scale)
        return [x0 * coef[0, 0] + x_t * coef[0, 1]]

    def denoiser_final(self, x_t: np.ndarray, ctx: list[np.ndarray], gamma: np.ndarray) -> list[np.ndarray]:
        from vps.kernels.reference import decode_panoptic_reference

        return [decode_panoptic_reference(self._logits(x_t, gamma), None, self.layout.label_divisor)]

    def asarray(self, array: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(array, np.float32)

    def to_numpy(self, array: np.ndarray) -> np.ndarray:
        return np.asarray(array)


Box = tuple[int, int, int, int, int]  # (panoptic id, y0, x0, y1, x1) at mask resolution


def box_scene(boxes: Callable[[int], list[Box]], hw: tuple[int, int] = (8, 16)) -> Scene:
    """Road below sky plus ``(panoptic id, y0, x0, y1, x1)`` boxes per frame."""
    def scene(frame: int) -> np.ndarray:
        pan = np.full(hw, ROAD * 1000, np.int64)
        pan[: hw[0] // 4] = SKY * 1000
        for pid, y0, x0, y1, x1 in boxes(frame):
            pan[y0:y1, x0:x1] = pid
        return pan
    return scene


def frame(h: int = 16, w: int = 32, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def segmenter(scene: Scene, **kwargs: object) -> tuple[Segmenter, FakeBackend]:
    noisy, record = bool(kwargs.pop("noisy", False)), bool(kwargs.pop("record", True))
    backend = FakeBackend(scene, noisy=noisy, record=record)
    return Segmenter(make_program(), backend, **kwargs), backend  # type: ignore[arg-type]


def test_conditioning_is_the_models_own_ids_not_track_ids() -> None:
    # the model switches the car's 8-bit id 7 -> 9 at frame 1: the track survives (IoU repair), but the
    # next frame must be conditioned on what the model said (9), as in training
    seg, be = segmenter(box_scene(lambda f: [(CAR * 1000 + (7 if f == 0 else 9), 3, 2, 7, 8)]))
    results = [seg.step(frame()) for _ in range(3)]
    assert results[0].tracks[0].id == results[1].tracks[0].id == results[2].tracks[0].id
    nb = 16
    assert not be.conds[0].any()  # zeros at the start of a sequence
    bits0, bits1 = (panoptic_to_bits(be.scene(k), BitLayout()) for k in (0, 1))
    np.testing.assert_array_equal(be.conds[1][0, :nb], bits0)
    assert not be.conds[1][0, nb:].any()  # no t-2 yet
    np.testing.assert_array_equal(be.conds[2][0, :nb], bits1)  # t-1 = model id 9, not the track id
    np.testing.assert_array_equal(be.conds[2][0, nb:], bits0)  # t-2


def test_cold_schedule_first_then_warm_start() -> None:
    seg, be = segmenter(box_scene(lambda f: []))
    flags = [seg.step(frame()).warm_start for _ in range(3)]
    assert flags == [False, True, True]
    assert be.gammas == [[0.0, 0.5], [0.25], [0.25]]  # cold gamma_now, then warm_gamma_now
    # warm start: x_t = sqrt(g) * previous bits + sqrt(1 - g) * noise, from the previous prediction
    prev = panoptic_to_bits(be.scene(0), BitLayout())
    noise = be.x_t[2] - np.sqrt(0.5) * prev[None]
    assert abs(float(noise.std()) / np.sqrt(0.5) - 1.0) < 0.3
    seg2, be2 = segmenter(box_scene(lambda f: []), warm_start=False)
    assert [seg2.step(frame()).warm_start for _ in range(2)] == [False, False]
    assert be2.gammas == [[0.0, 0.5], [0.0, 0.5]]


def test_hooks_see_every_graph_call_of_the_frame_in_order() -> None:
    # the engine's hooks (verification's teacher forcing, calibration's recording) see each call's inputs
    scene = box_scene(lambda f: [(CAR * 1000 + 3, 2, 1 + f, 6, 7 + f)])
    calls: list[tuple[str, int]] = []
    hook = lambda g, inputs, out: calls.append((g, len(inputs)))  # noqa: E731
    seg, be = segmenter(scene, noisy=True, seed=5, hooks=[hook])
    seg.step(frame())
    seg.step(frame(seed=1))
    cold = [("encoder", 1), ("context", 2), ("denoiser_step", 4), ("denoiser_final", 3)]
    assert calls == cold + [cold[0], cold[1], cold[3]]  # second frame: the warm plan's one (final) call
    np.testing.assert_array_equal(seg.state.carry.prev_bits[1], be.conds[1][0, :16])


def test_maps_at_frame_resolution_and_tracks_in_frame_pixels() -> None:
    boxes = [(CAR * 1000 + 5, 2, 2, 6, 10), (PERSON * 1000 + 2, 1, 12, 8, 14)]
    seg, _ = segmenter(box_scene(lambda f: boxes))
    gray = np.full((37, 75), 128, np.uint8)  # odd size, grayscale, other aspect ratio
    r = seg.step(gray)
    assert r.panoptic.shape == r.semantic.shape == r.track_ids.shape == (37, 75)
    assert r.panoptic.dtype == r.track_ids.dtype == np.int32
    np.testing.assert_array_equal(r.semantic, r.panoptic // 1000)
    assert {t.class_id for t in r.tracks} == {CAR, PERSON}
    for t in r.tracks:
        mask = r.track_ids == t.id
        assert t.area == int(mask.sum()) > 0
        assert np.all(r.panoptic[mask] == t.panoptic_id) and t.panoptic_id // 1000 == t.class_id
        ys, xs = np.nonzero(mask)
        x0, y0, x1, y1 = t.box
        assert (x0, y0, x1, y1) == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
        assert t.age == 1
    assert (r.panoptic_global() // 10**10 == r.semantic).all()
    assert r.panoptic_global()[r.track_ids == r.tracks[0].id].min() % 10**10 == r.tracks[0].id
    assert r.track(r.tracks[0].id) == r.tracks[0]
    stages = ["preprocess", "encoder", "context", "denoise_0", "denoise_1", "decode", "tracking", "total"]
    assert list(r.timings) == stages and all(v >= 0 for v in r.timings.values())


def test_bgr_default_and_rgb_flag_agree() -> None:
    seg, be = segmenter(box_scene(lambda f: []))
    img = frame(seed=3)
    seg.step(img)
    seg.reset()
    seg.step(np.ascontiguousarray(img[:, :, ::-1]), rgb=True)
    Segmenter(make_program(), be, rgb=True).step(np.ascontiguousarray(img[:, :, ::-1]))
    seg.step(img, rgb=True)  # a BGR frame passed as RGB: channels swapped
    np.testing.assert_array_equal(be.images[0], be.images[1])
    np.testing.assert_array_equal(be.images[0], be.images[2])
    np.testing.assert_array_equal(be.images[0][:, ::-1], be.images[3])  # mean/std are equal per channel


@pytest.mark.parametrize("bad, reason", [
    (np.zeros((16, 32, 2), np.uint8), "channels"),
    (np.zeros((2, 16, 32, 3), np.uint8), "shape"),
    (np.zeros((0, 32, 3), np.uint8), "empty"),
    (np.zeros((16, 32, 3), np.uint16), "dtype"),
    (np.full((16, 32, 3), np.nan, np.float32), "NaN"),
    ([[1, 2, 3]], "numpy array"),
])
def test_bad_frames_raise_value_error_and_leave_the_stream_alone(bad: object, reason: str) -> None:
    seg, _ = segmenter(box_scene(lambda f: [(CAR * 1000 + 1, 2, 2, 6, 8)]))
    first = seg.step(frame())
    with pytest.raises(ValueError, match=reason):
        seg.step(bad)  # type: ignore[arg-type]
    second = seg.step(frame())
    assert second.frame_index == 1 and second.tracks[0].id == first.tracks[0].id


def test_resolution_change_mid_stream_resets_cleanly() -> None:
    seg, be = segmenter(box_scene(lambda f: [(CAR * 1000 + 1, 2, 2, 6, 8)]))
    a = [seg.step(frame(16, 32)) for _ in range(3)]
    b = seg.step(frame(24, 40))  # another camera mode
    assert b.frame_index == 0 and b.new_sequence and b.sequence_index == a[-1].sequence_index + 1
    assert b.panoptic.shape == (24, 40) and not b.warm_start
    assert not be.conds[-1].any()  # conditioning restarted from zeros
    assert b.tracks[0].id > a[-1].tracks[0].id  # a new track: ids are never reused
    c = seg.step(frame(24, 40))
    assert c.frame_index == 1 and c.tracks[0].id == b.tracks[0].id and c.warm_start


def test_reset_restarts_noise_and_ids_keep_increasing() -> None:
    scene = box_scene(lambda f: [(CAR * 1000 + 4, 2, 1 + (f % 3), 6, 8 + (f % 3))])
    seg, _ = segmenter(scene, noisy=True)
    first = [seg.step(frame(seed=k)) for k in range(3)]
    seg.reset()
    again = [seg.step(frame(seed=k)) for k in range(3)]
    for x, y in zip(first, again, strict=True):
        np.testing.assert_array_equal(x.semantic, y.semantic)  # same noise after the reset
        assert y.frame_index == x.frame_index and y.sequence_index == x.sequence_index + 1
    assert min(t.id for t in again[0].tracks) > max(t.id for r in first for t in r.tracks)
    assert again[0].tracks[0].panoptic_id == first[0].tracks[0].panoptic_id  # numbered per sequence


def test_lost_track_is_revived_within_max_lost() -> None:
    visible = {0, 1, 2, 5, 6}  # occluded for frames 3 and 4
    seg, _ = segmenter(box_scene(lambda f: [(CAR * 1000 + 2, 2, 4, 6, 10)] if f in visible else []),
                       tracker=TrackerConfig(max_lost=2))
    ids = [tuple(t.id for t in seg.step(frame()).tracks) for _ in range(7)]
    assert ids[0] == ids[1] == ids[2] == ids[5] == ids[6] and ids[3] == ids[4] == ()


def test_postprocess_matches_the_training_code() -> None:
    torch = pytest.importorskip("torch")

    rng = np.random.default_rng(0)
    for k in range(5):
        cls = rng.choice([0, 2, 11, 13, 14, 255, 30], size=(24, 40))
        inst = rng.integers(0, 6, size=(24, 40)) * (rng.random((24, 40)) < 0.8)
        pan = (cls * 1000 + inst).astype(np.int32)
        want = postprocess_panoptic(torch.from_numpy(pan), KITTI_STEP.thing_ids, 3 + k).numpy()
        np.testing.assert_array_equal(postprocess_panoptic(pan, KITTI_STEP.thing_ids, 3 + k), want)


def test_detached_parts_of_one_model_id_become_separate_tracks() -> None:
    # the model gives id 7 to two cars far apart: with the manifest's min_part_area they are split (the
    # smaller one gets the smallest free id, 1) before tracking and before the next frame conditions on them
    scene = box_scene(lambda f: [(CAR * 1000 + 7, 1, 1, 5, 7), (CAR * 1000 + 7, 5, 10, 7, 13)])
    manifest = make_program(min_part_area=4)
    backend = FakeBackend(scene)
    seg = Segmenter(manifest, backend, min_instance_area=1)  # type: ignore[arg-type]
    assert seg.min_part_area == 4
    first = seg.step(frame())
    assert len(first.tracks) == 2
    seg.step(frame())
    want = scene(0).copy()
    want[5:7, 10:13] = CAR * 1000 + 1
    np.testing.assert_array_equal(backend.conds[1][0, :16], panoptic_to_bits(want, BitLayout()))
    assert Segmenter(make_program(), FakeBackend(scene)).min_part_area == 0  # the program's
    assert Segmenter(manifest, FakeBackend(scene), min_part_area=0).min_part_area == 0  # caller wins
    with pytest.raises(ValueError, match="min_part_area"):
        Segmenter(manifest, FakeBackend(scene), min_part_area=-1)  # type: ignore[arg-type]
    merged, _ = segmenter(scene, min_instance_area=1)
    assert len(merged.step(frame()).tracks) == 1
