"""Interleaving plan, warm-up resets and STQ bookkeeping of the runner (fake pipelines, no model)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vps.bench.inputs import BenchClip, synthetic_clip
from vps.bench.runner import InterleavedRun, Lane, block_plan, default_blocks, sanitize
from vps.data.meta import KITTI_STEP


class Fake:
    """Returns the ground truth (or void), records what it saw; timings like the runtime's."""

    def __init__(self, name: str, clip: BenchClip, log: list[tuple[str, int]], perfect: bool = True) -> None:
        self.name, self.clip, self.log, self.perfect = name, clip, log, perfect
        self.last_timings: dict[str, float] = {}
        self.pos = 0

    def reset(self) -> None:
        self.pos = 0
        self.log.append((self.name, -1))

    def step(self, frame: np.ndarray) -> np.ndarray:
        j = next(i for i, f in enumerate(self.clip.frames) if f is frame)
        self.log.append((self.name, j))
        self.last_timings = {"encoder": 1.0 + j, "denoise_0": 2.0, "denoise_1": 3.0, "total": 6.0 + j}
        gt = self.clip.gt[j]
        assert gt is not None
        return gt.copy() if self.perfect else np.full_like(gt, 255_000)


def test_block_plan_partitions_every_lane() -> None:
    plan = block_plan([50, 10, 7], 7)
    assert len(plan) == 7
    for i, n in enumerate((50, 10, 7)):
        chunks = [block[i] for block in plan]
        assert chunks[0][0] == 0 and chunks[-1][1] == n
        assert all(a[1] == b[0] for a, b in zip(chunks, chunks[1:], strict=False))
        sizes = [b - a for a, b in chunks]
        assert max(sizes) - min(sizes) <= 1
    assert default_blocks([50, 10]) == 10 and default_blocks([50, 3]) == 3 and default_blocks([500]) == 10
    with pytest.raises(ValueError):
        block_plan([3, 0], 2)


def test_interleaved_run_alternates_warms_up_and_scores() -> None:
    clip = synthetic_clip(6, (32, 64), seed=1)
    log: list[tuple[str, int]] = []
    good, bad = Fake("deployed", clip, log), Fake("baseline", clip, log, perfect=False)
    run = InterleavedRun([Lane(good, 6, 2), Lane(bad, 3, 1)], clip, KITTI_STEP, blocks=3, progress=False)
    run.run()
    # warm-ups (each followed by a reset), then blocks with the first lane rotating
    assert log[:7] == [("deployed", -1), ("deployed", 0), ("deployed", 1), ("deployed", -1),
                       ("baseline", -1), ("baseline", 0), ("baseline", -1)]
    timed = log[7:]
    assert timed == [("deployed", 0), ("deployed", 1), ("baseline", 0),
                     ("baseline", 1), ("deployed", 2), ("deployed", 3),
                     ("deployed", 4), ("deployed", 5), ("baseline", 2)]
    res = run.results()
    assert res["deployed"]["frames"] == 6 and res["baseline"]["frames"] == 3
    assert res["deployed"]["stages"]["denoise_all"]["median"] == 5.0
    assert res["deployed"]["stages"]["total"]["max"] == 11.0
    assert res["deployed"]["stq"]["STQ"] == pytest.approx(1.0)
    assert res["deployed"]["stq_common"]["STQ"] == pytest.approx(1.0)
    assert res["baseline"]["stq"]["STQ"] == pytest.approx(0.0)
    assert res["deployed"]["memory"]["host_peak_rss_bytes"] > 0
    assert run.common == 3


def test_sanitize_and_clip_length_checks() -> None:
    pred = np.array([[13_001, 30_000], [255_000, 0]], np.int32)
    np.testing.assert_array_equal(sanitize(pred, KITTI_STEP, 1000), [[13_001, 255_000], [255_000, 0]])
    clip = synthetic_clip(2, (32, 64))
    assert clip.has_gt and clip.size == (32, 64) and len(clip) == 2
    with pytest.raises(ValueError, match="clip has 2"):
        InterleavedRun([Lane(Fake("a", clip, []), 3, 0)], clip, KITTI_STEP, progress=False)


def test_input_clip_reads_a_kitti_root_with_ground_truth_and_an_image_folder(tmp_path: Path) -> None:
    from vps.bench.inputs import input_clip
    from vps.data.synth import generate_dataset, generate_sequence

    generate_dataset(tmp_path / "kitti", 2, 4, (32, 64), seed=3, split="val", progress=False)
    clip = input_clip(tmp_path / "kitti", 3, KITTI_STEP)
    images, pans = generate_sequence(3, 4, (32, 64), sequence=0, split="val")
    assert len(clip) == 3 and clip.has_gt and clip.name.endswith("0000")
    np.testing.assert_array_equal(clip.frames[1], images[1])  # RGB, as written
    np.testing.assert_array_equal(clip.gt[2], pans[2])
    plain = input_clip(tmp_path / "kitti" / "images" / "val" / "0001", 10, KITTI_STEP)  # image folder
    assert len(plain) == 4 and not plain.has_gt and plain.frames[0].shape == (32, 64, 3)
    with pytest.raises(ValueError, match="not found"):
        input_clip(tmp_path / "missing.mp4", 3, KITTI_STEP)
