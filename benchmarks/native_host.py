"""Host time per frame of the runtime's work around the graphs: NumPy twins vs the native core (vps_core).

Per frame, exactly the chain :class:`vps.runtime.Segmenter` runs after the graphs, through the runtime's own
functions (so the dispatch cost is included): ``decode`` (argmax of host logits ``float32 [1, 512, h, w]``),
``postprocess`` (majority class, minimum area, part splitting with the preset's ``min_part_area``, plus the
analog bits fed back next frame), ``tracking`` (:class:`~vps.runtime.tracker.TrackTable`, the runtime's IoU
0.1) and ``restore`` (panoptic and track-id maps to the 375 x 1242 frame). The scene: ~12 boxes of cars
and people moving over road and sky, with noisy one-hot logits. Both sides run in one process on one thread,
interleaved frame by frame (the side that goes first alternates); medians over the frames are printed, and
the two sides' outputs are checked equal on every frame. Printed, not asserted.

    python benchmarks/native_host.py [--sizes tiny,r50] [--frames 30] [--warmup 3] [--json OUT]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # one thread, before NumPy loads its BLAS

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from vps.bits import DEFAULT_LAYOUT, panoptic_to_bits  # noqa: E402
from vps.data.meta import KITTI_STEP  # noqa: E402
from vps.kernels import decode_panoptic  # noqa: E402
from vps.postprocess import postprocess_panoptic  # noqa: E402
from vps.runtime import native  # noqa: E402
from vps.runtime.frames import FrameGeometry, restore_labels  # noqa: E402
from vps.runtime.tracker import TrackerConfig, TrackTable  # noqa: E402

SIZES = {"tiny": {"mask": (48, 160), "min_part_area": 16}, "r50": {"mask": (192, 624), "min_part_area": 64}}
FRAME_HW = (375, 1242)
STAGES = ("decode", "postprocess", "tracking", "restore")
SIDES = ("numpy", "native")


class Scene:
    """Moving boxes at mask size ``(h, w)``; :meth:`logits` of frame ``f`` as noisy one-hot logits."""

    def __init__(self, h: int, w: int, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.h, self.w = h, w
        n = 12
        self.cls = rng.choice([11, 13], n)
        heights, widths = rng.integers(h // 12 + 1, h // 4 + 2, n), rng.integers(w // 30 + 1, w // 8 + 2, n)
        self.size = np.stack([heights, widths], 1)
        self.pos = np.stack([rng.integers(h // 3, h - h // 4, n), rng.integers(0, w, n)], 1).astype(float)
        self.vel = rng.uniform(-0.01, 0.01, (n, 2)) * np.array([h, w])
        self.noise = rng.normal(0.0, 0.5, (1, 512, h, w)).astype(np.float32)

    def panoptic(self, f: int) -> np.ndarray:
        """``int64 [h, w]`` scene of frame ``f``: sky (10), road (0), boxes with instance ids 1..12."""
        h, w = self.h, self.w
        pan = np.zeros((h, w), np.int64)
        pan[: h // 3] = 10 * 1000
        for k, (cls, (bh, bw)) in enumerate(zip(self.cls, self.size, strict=True)):
            y, x = (self.pos[k] + f * self.vel[k]).astype(int) % np.array([h - bh, w - bw])
            pan[y: y + bh, x: x + bw] = cls * 1000 + k + 1
        return pan

    def logits(self, f: int) -> np.ndarray:
        pan = self.panoptic(f)
        x = self.noise.copy()
        rows, cols = np.indices(pan.shape)
        x[0, pan // 1000, rows, cols] += 4.0
        x[0, 256 + pan % 1000, rows, cols] += 4.0
        return x


def run_frame(logits: np.ndarray, table: TrackTable, geometry: FrameGeometry, min_part_area: int
              ) -> tuple[dict[str, float], np.ndarray]:
    """The chain on one frame; per-stage seconds and the restored ``int32 [2, H, W]`` maps."""
    t0 = time.perf_counter()
    ids = decode_panoptic(logits, None, DEFAULT_LAYOUT.label_divisor)[0]
    t1 = time.perf_counter()
    clean = postprocess_panoptic(ids, KITTI_STEP.thing_ids, 4, 1000, min_part_area)
    panoptic_to_bits(clean, DEFAULT_LAYOUT)
    t2 = time.perf_counter()
    tracked = table.update(clean)
    t3 = time.perf_counter()
    full = restore_labels(np.stack([tracked.panoptic(1000), tracked.track_ids]), geometry)
    t4 = time.perf_counter()
    return dict(zip(STAGES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True)), full


def bench_size(name: str, frames: int, warmup: int) -> dict[str, dict[str, float]]:
    """Median stage times (ms) of both sides at preset ``name``; raises if their outputs differ."""
    spec = SIZES[name]
    h, w = spec["mask"]
    scene = Scene(h, w)
    geometry = FrameGeometry.fit(FRAME_HW, (2 * h, 2 * w), "stretch")
    tables = {s: TrackTable(KITTI_STEP, TrackerConfig(iou_threshold=0.1)) for s in SIDES}
    times: dict[str, list[dict[str, float]]] = {s: [] for s in SIDES}
    for f in range(warmup + frames):
        logits = scene.logits(f)
        outputs = {}
        for side in SIDES if f % 2 == 0 else SIDES[::-1]:
            native.set_mode("off" if side == "numpy" else "on")
            try:
                stage, outputs[side] = run_frame(logits, tables[side], geometry, spec["min_part_area"])
            finally:
                native.set_mode(None)
            if f >= warmup:
                times[side].append(stage)
        if not np.array_equal(outputs["numpy"], outputs["native"]):
            raise SystemExit(f"{name} frame {f}: native and NumPy outputs differ")
    return {s: {k: 1e3 * statistics.median(t[k] for t in times[s]) for k in STAGES}
            | {"total": 1e3 * statistics.median(sum(t.values()) for t in times[s])} for s in SIDES}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--sizes", default="tiny,r50",
                        help="comma-separated presets: tiny (mask 48x160), r50 (mask 192x624)")
    parser.add_argument("--frames", type=int, default=30, help="timed frames per size (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed frames first (default 3)")
    parser.add_argument("--json", help="also write the medians to this JSON file")
    args = parser.parse_args(argv)
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    if unknown := [s for s in sizes if s not in SIZES]:
        parser.error(f"unknown sizes {unknown}; choose from {sorted(SIZES)}")
    if native.module() is None:
        raise SystemExit("the native core is not installed: `pip install ./cmake` (or `make test`) first")
    results = {s: bench_size(s, args.frames, args.warmup) for s in sizes}
    print(f"host ms per frame (median of {args.frames}, 1 thread, frame {FRAME_HW[0]}x{FRAME_HW[1]})")
    print(f"{'size':<6}{'stage':<13}{'numpy':>10}{'native':>10}{'speed-up':>10}")
    for s, r in results.items():
        for k in (*STAGES, "total"):
            a, b = r["numpy"][k], r["native"][k]
            print(f"{s:<6}{k:<13}{a:>10.2f}{b:>10.3f}{a / b if b > 0 else float('inf'):>9.1f}x")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
