"""``vps-run``: stream a video, an image folder, a KITTI-STEP root or a camera through an export folder.

Examples::

    vps-run --artifacts exports/tiny --input drive.mp4 --out preds --viz preds.mp4
    vps-run --artifacts exports/tiny --input data/kitti_step --gt data/kitti_step --out preds   # + STQ
    vps-run --artifacts exports/tiny --input 0 --out cam --max-frames 300                       # camera 0

Every frame goes through :class:`vps.runtime.Segmenter` (conditioned on its own previous predictions, warm
start from the second frame, persistent track ids; a new sequence of the input resets the stream).
Predictions are written as KITTI-STEP PNGs ``OUT/panoptic_maps/[{split}/]{seq}/{frame:06d}.png``
(``class * 1000 + track number within the sequence``; the split level when the input or ``--gt`` has one),
which ``vps-eval --gt GT --pred OUT`` and ``vps-viz OUT`` read directly. ``OUT/run.json`` holds the run's
summary (backend, frames, median/p90 ms per stage, STQ with ``--gt``). Exit codes: 0 ok; 2 bad argument,
tampered export folder, unreadable input or frame (the frames before it stay written); 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from vps.data.codecs import atomic_write_bytes, read_kitti_panoptic, write_kitti_panoptic
from vps.errors import DataError
from vps.runtime.backends import BACKENDS
from vps.runtime.backends.base import BackendUnavailableError
from vps.runtime.segmenter import DEFAULT_TRACKER, Segmenter
from vps.runtime.sources import FrameSource, SourceFrame, open_source
from vps.runtime.timing import StageStats
from vps.runtime.tracker import TrackerConfig

PROG = "vps-run"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--artifacts", type=Path, required=True, help="export folder (manifest.json + graphs)")
    p.add_argument("--input", required=True,
                   help="video file, image folder, KITTI-STEP root (images/{split}/{seq}) or camera index")
    p.add_argument("--out", type=Path, required=True, help="output root (panoptic_maps/...)")
    p.add_argument("--viz", type=Path, default=None, help="also write an overlay video (.mp4 or .gif)")
    p.add_argument("--gt", type=Path, default=None, help="KITTI-STEP ground truth root: print STQ/VPQ/PQ")
    p.add_argument("--split", default=None,
                   help="split of a KITTI-STEP --input / --gt (default: the only one)")
    p.add_argument("--sequence", default=None, help="KITTI-STEP input: only this sequence; otherwise the "
                                                    "sequence name to write (default: folder/file name)")
    p.add_argument("--backend", choices=BACKENDS, default="auto", help="inference backend (default auto)")
    p.add_argument("--device", choices=("cpu", "cuda"), default=None, help="device (default: best available)")
    p.add_argument("--checkpoint", type=Path, default=None, help="training checkpoint (torch backend)")
    p.add_argument("--threads", type=int, default=0, help="ONNX Runtime intra-op threads (0 = default)")
    p.add_argument("--rgb", action="store_true", help="the decoded frames are RGB (default: OpenCV's BGR)")
    p.add_argument("--max-frames", type=int, default=0, help="at most N frames per sequence (0 = all)")
    p.add_argument("--seed", type=int, default=0, help="seed of the sampling noise (default 0)")
    p.add_argument("--no-warm-start", action="store_true", help="run the cold schedule on every frame")
    p.add_argument("--min-instance-area", type=int, default=None,
                   help="post-processing: smaller instances lose their id (default: from the export)")
    p.add_argument("--min-part-area", type=int, default=None,
                   help="post-processing: detached instance parts this big (mask pixels) become instances of "
                        "their own, smaller ones lose their id; 0 = no splitting (default: from the export)")
    p.add_argument("--iou-threshold", type=float, default=DEFAULT_TRACKER.iou_threshold,
                   help=f"tracker IoU threshold (default {DEFAULT_TRACKER.iou_threshold})")
    p.add_argument("--max-lost", type=int, default=DEFAULT_TRACKER.max_lost,
                   help=f"frames a lost track can be revived (default {DEFAULT_TRACKER.max_lost})")
    p.add_argument("--fps", type=float, default=10.0, help="frame rate of the --viz video (default 10)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def display_rgb(image: np.ndarray, rgb: bool) -> np.ndarray:
    """A source frame (gray, BGR(A) or RGB(A) with ``rgb``) as ``uint8 [H, W, 3]`` RGB for drawing."""
    if image.ndim == 2 or image.shape[2] == 1:
        gray = image.reshape(image.shape[0], image.shape[1], 1)
        return np.repeat(gray, 3, axis=2)
    color = image[:, :, :3]
    return np.ascontiguousarray(color if rgb else color[:, :, ::-1])


@dataclass
class RunState:
    """What the run accumulated (kept when it stops early)."""

    frames: int = 0
    sequences: list[str] = field(default_factory=list)
    stats: StageStats = field(default_factory=StageStats)
    evaluator: Any = None


class Runner:
    """Wires a source, the segmenter and the writers (PNG, video, evaluator) for one ``vps-run``."""

    def __init__(self, args: argparse.Namespace, seg: Segmenter, source: FrameSource) -> None:
        self.args, self.seg, self.source = args, seg, source
        self.meta = seg.meta
        self.gt_dir, split = self._ground_truth()
        split = source.split or split
        self.out_dir = args.out / "panoptic_maps" / split if split else args.out / "panoptic_maps"
        self.split = split
        self.state = RunState()
        self.video: Any = None
        if args.gt is not None:
            from vps.eval import Evaluator

            self.state.evaluator = Evaluator(self.meta)

    def _ground_truth(self) -> tuple[Path | None, str | None]:
        """(folder holding the ground-truth sequences, its split) for ``--gt``."""
        if self.args.gt is None:
            return None, self.args.split
        from vps.eval.io import resolve_sequence_root

        return resolve_sequence_root(self.args.gt, self.args.split or self.source.split, "ground truth")

    def run(self) -> None:
        total = self.source.num_frames
        bar = tqdm(total=total, desc=PROG, unit="frame", disable=self.args.no_progress)
        try:
            for frame in self.source:
                self._frame(frame)
                bar.update(1)
        finally:
            bar.close()
            self._close_video()

    def _frame(self, frame: SourceFrame) -> None:
        st = self.state
        if not st.sequences or frame.sequence != st.sequences[-1]:
            if st.sequences:
                self.seg.reset()
            st.sequences.append(frame.sequence)
        try:
            result = self.seg.step(frame.image, rgb=self.args.rgb)
        except ValueError as e:
            raise DataError(frame.origin, str(e)) from None
        write_kitti_panoptic(self.out_dir / frame.sequence / f"{frame.frame:06d}.png", result.panoptic,
                             result.label_divisor)
        st.frames += 1
        st.stats.add(result.timings)
        if self.args.viz is not None:
            self._draw(frame, result.panoptic)
        if st.evaluator is not None:
            assert self.gt_dir is not None
            gt = read_kitti_panoptic(self.gt_dir / frame.sequence / f"{frame.frame:06d}.png", self.meta,
                                     expected_hw=result.panoptic.shape)
            st.evaluator.update(gt, result.panoptic, frame.sequence)

    def _draw(self, frame: SourceFrame, panoptic: np.ndarray) -> None:
        from vps.viz import VideoWriter, overlay

        if self.video is None:
            self.video = VideoWriter(self.args.viz, fps=self.args.fps)
        self.video.write(overlay(display_rgb(frame.image, self.args.rgb), panoptic, self.meta))

    def _close_video(self) -> None:
        """Finish the video with the frames drawn so far (also when the run stops at a bad frame)."""
        if self.video is not None and self.video.frames_written:
            self.video.close()

    def summary(self) -> dict[str, Any]:
        st = self.state
        out: dict[str, Any] = {
            "artifacts": str(self.args.artifacts), "input": str(self.args.input), "out": str(self.args.out),
            "backend": self.seg.backend.name, "frames": st.frames, "sequences": st.sequences,
            "split": self.split, "warm_start": self.seg.warm_start, "seed": self.args.seed,
            "ms_per_stage": st.stats.summary(), "viz": None if self.args.viz is None else str(self.args.viz)}
        if st.evaluator is not None and st.frames:
            out["metrics"] = st.evaluator.result().to_dict()
        return out


def _load(args: argparse.Namespace) -> Segmenter:
    if args.max_frames < 0 or args.threads < 0:
        raise ValueError("--max-frames and --threads must be >= 0")
    tracker = TrackerConfig(iou_threshold=args.iou_threshold, max_lost=args.max_lost)
    options: dict[str, Any] = {"threads": args.threads} if args.threads else {}
    return Segmenter.load(args.artifacts, backend=args.backend, device=args.device, tracker=tracker,
                          seed=args.seed, checkpoint=args.checkpoint, warm_start=not args.no_warm_start,
                          min_instance_area=args.min_instance_area, min_part_area=args.min_part_area,
                          **options)


def _report(runner: Runner) -> None:
    st = runner.state
    print(f"{st.frames} frames in {len(st.sequences)} sequence(s) -> {runner.out_dir} "
          f"(backend {runner.seg.backend.name})")
    if runner.video is not None and runner.video.frames_written:
        print(f"overlay video: {runner.args.viz} ({runner.video.frames_written} frames)")
    if st.evaluator is not None and st.frames:
        from vps.eval.report import format_report

        print(format_report(st.evaluator.result()))
    if st.frames:
        print(st.stats.format_line())
    atomic_write_bytes(runner.args.out / "run.json", (json.dumps(runner.summary(), indent=2) + "\n").encode())


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``vps-run``; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help (0) or a usage error (2)
        return int(e.code or 0)
    runner = None
    try:
        seg = _load(args)
        source = open_source(args.input, args.split, args.sequence, args.max_frames)
        runner = Runner(args, seg, source)
        runner.run()
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        code = 130
    except BackendUnavailableError as e:
        print(f"{PROG}: error: --backend {args.backend} cannot run here: {e}", file=sys.stderr)
        code = 2
    except (ValueError, FileNotFoundError, KeyError) as e:  # DataError / ManifestError are ValueErrors
        print(f"{PROG}: error: {e.args[0] if isinstance(e, KeyError) and e.args else e}", file=sys.stderr)
        code = 2
    else:
        code = 0
    if runner is not None:
        _report(runner)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
