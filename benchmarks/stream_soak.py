"""Soak test of the streaming runtime: a long stream with a size change, a reset and camera faults.

    python benchmarks/stream_soak.py --frames 10000 --json soak.json            # scripted model (fast)
    python benchmarks/stream_soak.py --frames 2000 --artifacts exports/tiny     # a real export (ORT, CPU)

The stream: textured frames (each one different), a frame-size change at 40 % of the stream, an explicit
``reset()`` (a new input sequence) at 70 %, bursts of black frames and repeated (frozen) frames injected
every ``--fault-every`` frames. Every result goes through ``vps-run``'s own sequence-folder numbering
(:class:`vps.runtime.run_output.FolderPlan`), and the script checks, printing the figures:

* memory: resident set size sampled every 500 frames after a warm-up; growth from the first sample to
  the last, and the largest sample;
* no persistent track id reused: every id belongs to one stream sequence and one class, and new ids
  appear in increasing order;
* no panoptic number reused within a sequence folder: each (folder, class * 1000 + n) names one track;
* faults counted: the black/frozen frames ``FrameResult.health`` reported against those injected, and no
  track created on a voided frame.

The scripted model (``--artifacts`` not given) is a NumPy backend whose "prediction" is a scene of cars
entering every few frames and leaving after a while (so the stream creates thousands of tracks and each
folder overflows its 999 numbers): it exercises the runtime, tracker and output numbering at full speed.
Exit code 1 if a check fails.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from vps.bench.memory import current_rss_bytes
from vps.bits import BitLayout
from vps.data.meta import KITTI_STEP
from vps.program import FrameProgram, SamplerPlan, StepPlan
from vps.runtime.run_output import FolderPlan
from vps.runtime.segmenter import Segmenter

CAR, ROAD, SKY = 13, 0, 10


class ScriptedBackend:
    """NumPy backend: cars enter every ``spawn`` frames at the left and drive right for ``life`` frames."""

    name = "scripted"

    def __init__(self, mask_hw: tuple[int, int], spawn: int = 3, life: int = 30) -> None:
        self.mask_hw, self.spawn, self.life, self.frame = mask_hw, spawn, life, -1
        self.layout = BitLayout()

    def scene(self) -> np.ndarray:
        h, w = self.mask_hw
        pan = np.full((h, w), ROAD * 1000, np.int64)
        pan[: h // 4] = SKY * 1000
        first = max(0, (self.frame - self.life) // self.spawn + 1)
        for car in range(first, self.frame // self.spawn + 1):
            age = self.frame - car * self.spawn
            lane = car % 4
            y0, x0 = h // 4 + lane * (h // 6), (age * (w - 6)) // self.life
            pan[y0:y0 + 3, x0:x0 + 5] = CAR * 1000 + car % 255 + 1
        return pan

    def run(self, graph: str, *inputs: Any) -> list[np.ndarray]:
        """The frame engine's graphs: the scene's ids come out of the final denoiser call."""
        if graph == "encoder":
            self.frame += 1
            b, _, hh, ww = inputs[0].shape
            return [inputs[0].reshape(b, 3, hh // 2, 2, ww // 2, 2).mean((3, 5))]
        if graph == "context":
            return [inputs[0], inputs[1]]
        if graph == "denoiser_step":
            return [inputs[0]]  # the sample passes through
        return [self.scene()[None].astype(np.int32)]  # denoiser_final: int32 [1, h, w]

    def asarray(self, array: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(array, np.float32)

    def to_numpy(self, array: np.ndarray) -> np.ndarray:
        return np.asarray(array)


def scripted_segmenter(input_hw: tuple[int, int] = (64, 128)) -> Segmenter:
    h, w = input_hw
    cold = StepPlan(times=((1.0, 0.5), (0.5, 0.0)), gammas=(0.0, 0.5), coefficients=((0.7, 0.7), (1.0, 0.0)))
    warm = StepPlan(times=((0.5, 0.0),), gammas=(0.25,), coefficients=((1.0, 0.0),), start_gamma=0.5)
    sampler = SamplerPlan(sampler="ddim", schedule="cosine", td=1.0, warm_start_time=0.5, cold=cold,
                          warm=warm)
    program = FrameProgram(family="pix2seq_d", preset="scripted", meta=KITTI_STEP, layout=BitLayout(),
                           input_size=(h, w), mean=(0.5,) * 3, std=(0.25,) * 3, channel_order="rgb",
                           resize_mode="stretch", mask_size=(h // 2, w // 2), sampler=sampler,
                           min_instance_area=4, min_part_area=0)
    return Segmenter(program, ScriptedBackend((h // 2, w // 2)))  # type: ignore[arg-type]


def textured(hw: tuple[int, int], k: int) -> np.ndarray:
    """A smooth, textured BGR frame, different for every ``k`` (a working camera)."""
    import cv2

    rng = np.random.default_rng(k)
    small = rng.integers(30, 226, (max(2, hw[0] // 4), max(2, hw[1] // 4), 3), dtype=np.uint8)
    return cv2.resize(small, (hw[1], hw[0]), interpolation=cv2.INTER_NEAREST)  # sharp-edged blocks


def plan_stream(n: int, fault_every: int) -> list[tuple[str, str]]:
    """Per frame: (input sequence, kind) with kind in ok / black / frozen / size_b."""
    out = []
    for k in range(n):
        seq = "drive_a" if k < int(0.7 * n) else "drive_b"
        kind = "size_b" if int(0.4 * n) <= k < int(0.7 * n) else "ok"
        phase = k % fault_every
        if k >= 50 and phase in (10, 11, 12):
            kind = "black"
        elif k >= 50 and phase in (30, 31):
            kind = "frozen"
        out.append((seq, kind))
    return out


class Checks:
    """The soak's invariants, accumulated frame by frame."""

    def __init__(self) -> None:
        self.id_owner: dict[int, tuple[int, int]] = {}  # track id -> (stream sequence, class)
        self.number_owner: dict[tuple[str, int], int] = {}  # (folder, panoptic number) -> track id
        self.max_id = 0
        self.violations: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.tracks_on_void = 0

    def frame(self, result: Any, folder: str, pan: np.ndarray) -> None:
        self.faults.update(result.health.faults + (("void",) if result.health.void else ()))
        if result.health.void and result.tracks:
            self.tracks_on_void += len(result.tracks)
        for t in result.tracks:
            owner = (result.sequence_index, t.class_id)
            if t.id not in self.id_owner:  # a new track: its id must exceed every id handed out before
                if t.id <= self.max_id:
                    self.violations["new track id not increasing"] += 1
                self.max_id = max(self.max_id, t.id)
            if self.id_owner.setdefault(t.id, owner) != owner:
                self.violations["track id reused across sequences or classes"] += 1
            number = int(pan[result.track_ids == t.id].max())
            if self.number_owner.setdefault((folder, number), t.id) != t.id:
                self.violations["panoptic number reused within a folder"] += 1


def run(args: argparse.Namespace) -> dict[str, Any]:
    seg = Segmenter.load(args.artifacts, backend="onnxruntime") if args.artifacts else scripted_segmenter()
    plan, checks = FolderPlan(seg.layout.label_divisor), Checks()
    injected: Counter[str] = Counter()
    rss: list[tuple[int, int]] = []
    prev, last_seq = None, None
    t0 = time.perf_counter()
    for k, (seq, kind) in enumerate(plan_stream(args.frames, args.fault_every)):
        if last_seq is not None and seq != last_seq:
            seg.reset()
        last_seq = seq
        hw = (90, 160) if int(0.4 * args.frames) <= k < int(0.7 * args.frames) else (72, 144)
        if kind == "black":
            image = np.zeros((*hw, 3), np.uint8)
        elif kind == "frozen" and prev is not None and prev.shape[:2] == hw:
            image = prev
        else:
            image = textured(hw, k)
        injected[kind] += 1
        result = seg.step(image)
        folder, pan = plan.place(seq, k, f"frame {k}", result)
        checks.frame(result, folder, pan)
        prev = image
        if k % 500 == 0 and k >= args.warmup:
            rss.append((k, current_rss_bytes() or 0))
    seconds = time.perf_counter() - t0
    return summarise(args, seg, plan, checks, injected, rss, seconds)


def summarise(args: argparse.Namespace, seg: Segmenter, plan: FolderPlan, checks: Checks,
              injected: Counter[str], rss: list[tuple[int, int]], seconds: float) -> dict[str, Any]:
    mib = [r / 2**20 for _, r in rss]
    growth = mib[-1] - mib[0] if len(mib) > 1 else 0.0
    out = {
        "frames": args.frames, "backend": seg.backend.name, "seconds": round(seconds, 1),
        "ms_per_frame": round(1000 * seconds / args.frames, 2),
        "rss_mib_first_last_max": [round(mib[0], 1), round(mib[-1], 1), round(max(mib), 1)] if mib else None,
        "rss_growth_mib": round(growth, 1), "tracks_created": checks.max_id,
        "tracks_retained_at_end": seg.table.num_retained, "stream_sequences": seg.sequence_index + 1,
        "folders": [(f["folder"], f["frames"], f["tracks"], f["reason"]) for f in plan.summary()],
        "injected": dict(injected), "reported_faults": dict(checks.faults),
        "tracks_on_void_frames": checks.tracks_on_void, "violations": dict(checks.violations)}
    black_ok = checks.faults.get("black", 0) == injected.get("black", 0)
    out["passed"] = (not checks.violations and checks.tracks_on_void == 0 and black_ok
                     and growth < args.max_growth_mib)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--frames", type=int, default=10_000)
    p.add_argument("--artifacts", type=Path, default=None, help="export folder (default: scripted model)")
    p.add_argument("--fault-every", type=int, default=500, help="a black burst and a freeze every N frames")
    p.add_argument("--warmup", type=int, default=500, help="frames before the first memory sample")
    p.add_argument("--max-growth-mib", type=float, default=20.0, help="allowed RSS growth (default 20)")
    p.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = p.parse_args(argv)
    if args.frames < 100 or args.fault_every < 40:
        p.error("need --frames >= 100 and --fault-every >= 40")
    out = run(args)
    text = json.dumps(out, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0 if out["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
