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
summary (backend, frames, median/p90 ms per stage, STQ with ``--gt``, camera faults, the sequence folders).

No panoptic number is reused within a sequence folder (:mod:`vps.runtime.run_output`): a frame-size change
inside an input sequence, or a 1000th track, continues in ``SEQ_partNN`` (``--on-size-change`` /
``--on-track-overflow split``, the default) or stops with an error naming the frame (``error``).

Every option and output location is checked before the first frame (:mod:`vps.runtime.run_checks`); an
``--out`` holding a previous run needs ``--overwrite`` (which removes that run's PNGs and run.json only).
``run.json`` is written first with ``"complete": false`` and replaced at the end; a run that stops early
keeps its PNGs and a ``run.json`` with ``"complete": false`` and the error. Exit codes: 0 ok; 2 bad
argument, tampered or unfinished export folder, unreadable input or frame, an output that cannot be
written (one line naming the path); 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from vps.data.codecs import atomic_write_bytes, read_kitti_panoptic, write_kitti_panoptic
from vps.errors import DataError
from vps.quiet import quiet_libraries
from vps.runtime.backends import BACKENDS
from vps.runtime.backends.base import BackendUnavailableError
from vps.runtime.health import DEFAULT_VOID, FAULTS, HealthConfig
from vps.runtime.run_checks import (
    MAPS,
    RUN_JSON,
    OutputError,
    check_artifacts,
    check_options,
    check_out,
    check_viz,
    clear_previous,
)
from vps.runtime.run_output import POLICIES, FolderPlan
from vps.runtime.segmenter import DEFAULT_TRACKER, Segmenter
from vps.runtime.sources import FrameSource, SourceFrame, open_source
from vps.runtime.timing import StageStats
from vps.runtime.tracker import TrackerConfig

PROG = "vps-run"
PROGRESS_EVERY = 100  # frames between rewrites of the incomplete run.json


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
    p.add_argument("--void-faults", type=_faults, default=DEFAULT_VOID, metavar="F1,F2",
                   help=f"camera faults that make a frame blind (not segmented, no tracks) among {FAULTS}; "
                        f"'' = none (default {','.join(DEFAULT_VOID)}); all faults are counted in run.json")
    p.add_argument("--on-size-change", choices=POLICIES, default="split",
                   help="a frame-size change inside an input sequence restarts the stream: 'split' writes "
                        "the rest into SEQ_partNN (default), 'error' stops there naming the frame")
    p.add_argument("--on-track-overflow", choices=POLICIES, default="split",
                   help="a sequence folder holds at most label_divisor - 1 (999) track numbers: 'split' "
                        "continues in SEQ_partNN (default), 'error' stops naming the frame")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the predictions of a previous run in --out (its PNGs and run.json)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def _faults(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = sorted(set(names) - set(FAULTS))
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown camera fault(s) {unknown}; choose among {FAULTS}")
    return names


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
    health: Counter[str] = field(default_factory=Counter)  # camera faults, and "void" frames


class Runner:
    """Wires a source, the segmenter and the writers (PNG, video, evaluator) for one ``vps-run``."""

    def __init__(self, args: argparse.Namespace, seg: Segmenter, source: FrameSource) -> None:
        self.args, self.seg, self.source = args, seg, source
        self.meta = seg.meta
        self.gt_dir, split = self._ground_truth()
        split = source.split or split
        self.out_dir = args.out / MAPS / split if split else args.out / MAPS
        self.split = split
        self.state = RunState()
        self.plan = FolderPlan(seg.layout.label_divisor, args.on_size_change, args.on_track_overflow)
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
                if self.state.frames % PROGRESS_EVERY == 0:  # a killed run still says how far it got
                    _write_summary(self.args, self.summary("running, not finished"))
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
        folder, panoptic = self.plan.place(frame.sequence, frame.frame, frame.origin, result)
        path = self.out_dir / folder / f"{frame.frame:06d}.png"
        try:
            write_kitti_panoptic(path, panoptic, result.label_divisor)
        except OSError as e:
            raise OutputError.of(e, path) from None
        st.frames += 1
        st.stats.add(result.timings)
        st.health.update(result.health.faults + (("void",) if result.health.void else ()))
        if self.args.viz is not None:
            self._draw(frame, panoptic)
        if st.evaluator is not None:
            assert self.gt_dir is not None
            gt = read_kitti_panoptic(self.gt_dir / frame.sequence / f"{frame.frame:06d}.png", self.meta,
                                     expected_hw=panoptic.shape)
            st.evaluator.update(gt, panoptic, folder)

    def _draw(self, frame: SourceFrame, panoptic: np.ndarray) -> None:
        from vps.viz import VideoWriter, overlay

        if self.video is None:
            self.video = VideoWriter(self.args.viz, fps=self.args.fps)
        try:
            self.video.write(overlay(display_rgb(frame.image, self.args.rgb), panoptic, self.meta))
        except OSError as e:
            raise OutputError.of(e, self.args.viz) from None

    def _close_video(self) -> None:
        """Finish the video with the frames drawn so far (also when the run stops at a bad frame)."""
        if self.video is not None and self.video.frames_written:
            try:
                self.video.close()
            except OSError as e:
                raise OutputError.of(e, self.args.viz) from None

    def summary(self, error: str | None = None) -> dict[str, Any]:
        """``run.json``: ``complete`` is false (with ``error``) when the run stopped early."""
        st = self.state
        out: dict[str, Any] = {
            "complete": error is None, "error": error,
            "artifacts": str(self.args.artifacts), "input": str(self.args.input), "out": str(self.args.out),
            "backend": self.seg.backend.name, "frames": st.frames, "sequences": st.sequences,
            "folders": self.plan.summary(), "split": self.split, "warm_start": self.seg.warm_start,
            "seed": self.args.seed, "camera_faults": {k: st.health.get(k, 0) for k in (*FAULTS, "void")},
            "ms_per_stage": st.stats.summary(), "viz": None if self.args.viz is None else str(self.args.viz)}
        if st.evaluator is not None and st.frames:
            out["metrics"] = st.evaluator.result().to_dict()
        return out


def _tracker(args: argparse.Namespace) -> TrackerConfig:
    return TrackerConfig(iou_threshold=args.iou_threshold, max_lost=args.max_lost,
                         health=HealthConfig(void=args.void_faults))


def _load(args: argparse.Namespace) -> Segmenter:
    tracker = _tracker(args)
    options: dict[str, Any] = {"threads": args.threads} if args.threads else {}
    return Segmenter.load(args.artifacts, backend=args.backend, device=args.device, tracker=tracker,
                          seed=args.seed, checkpoint=args.checkpoint, warm_start=not args.no_warm_start,
                          min_instance_area=args.min_instance_area, min_part_area=args.min_part_area,
                          **options)


def _write_summary(args: argparse.Namespace, summary: dict[str, Any]) -> None:
    try:
        atomic_write_bytes(args.out / RUN_JSON, (json.dumps(summary, indent=2) + "\n").encode())
    except OSError as e:
        raise OutputError.of(e, args.out / RUN_JSON) from None


def _report(runner: Runner, error: str | None) -> None:
    """Print the run's summary (complete runs) and write ``run.json`` (always; marked when incomplete)."""
    st = runner.state
    if error is None:
        print(f"{st.frames} frames in {len(st.sequences)} sequence(s) -> {runner.out_dir} "
              f"(backend {runner.seg.backend.name})")
        splits = [f for f in runner.plan.folders if f.reason != "input sequence"]
        for f in splits:
            print(f"  new sequence folder {f.name} from frame {f.first_frame}: {f.reason}")
        faults = {k: v for k, v in st.health.items() if v}
        if faults:
            print("camera faults: " + ", ".join(f"{k} {v}" for k, v in sorted(faults.items())))
    if runner.video is not None and runner.video.frames_written and error is None:
        print(f"overlay video: {runner.args.viz} ({runner.video.frames_written} frames)")
    if st.evaluator is not None and st.frames and error is None:
        from vps.eval.report import format_report

        print(format_report(st.evaluator.result()))
    if st.frames and error is None:
        print(st.stats.format_line())
    _write_summary(runner.args, runner.summary(error))


def _start(args: argparse.Namespace) -> Runner:
    """Every check that needs no frame, then the segmenter and the source (nothing written before)."""
    check_options(args)
    check_artifacts(args.artifacts)
    check_out(args.out, args.overwrite)
    check_viz(args.viz)
    _tracker(args)  # its ValueError before any file is touched
    seg = _load(args)
    source = open_source(args.input, args.split, args.sequence, args.max_frames)
    runner = Runner(args, seg, source)
    if args.overwrite:
        clear_previous(args.out)
    _write_summary(args, runner.summary("started, not finished"))  # replaced when the run ends
    return runner


def _error_line(args: argparse.Namespace, e: BaseException) -> str:
    if isinstance(e, BackendUnavailableError):
        return f"--backend {args.backend} cannot run here: {e}"
    if isinstance(e, OSError):  # writes became OutputError already; this is any other file-system error
        return f"{e.filename if e.filename is not None else args.out}: {e.strerror or e}"
    return str(e.args[0] if isinstance(e, KeyError) and e.args else e)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``vps-run``; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help (0) or a usage error (2)
        return int(e.code or 0)
    quiet_libraries()
    runner, error, code = None, None, 0
    try:
        runner = _start(args)
        runner.run()
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        error, code = "interrupted", 130
    except (ValueError, OSError, KeyError, BackendUnavailableError) as e:  # DataError/ManifestError too
        error, code = _error_line(args, e), 2
        print(f"{PROG}: error: {error}", file=sys.stderr)
    if runner is not None:
        try:
            _report(runner, error)
        except OutputError as e:
            if code == 0:
                print(f"{PROG}: error: {e}", file=sys.stderr)
                code = 2
    return code


if __name__ == "__main__":
    raise SystemExit(main())
