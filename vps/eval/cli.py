"""``vps-eval``: STQ / AQ / SQ, VPQ and PQ of a prediction folder against KITTI-STEP ground truth.

Example::

    vps-eval --gt data/kitti_step --pred out/predictions --split val --json metrics.json

Both folders use the KITTI-STEP layout (see :mod:`vps.eval.io`). Exit codes: 0 on success, 2 on bad
input (missing/extra frames or sequences, unreadable files, size mismatches), with one line naming the
file.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from tqdm import tqdm

from vps.data.codecs import atomic_write_bytes, read_kitti_panoptic
from vps.data.meta import DatasetMeta, get_meta
from vps.errors import DataError
from vps.eval.evaluator import EvalResult, Evaluator
from vps.eval.io import FramePair, PairedFolders, pair_folders
from vps.eval.report import format_report
from vps.eval.vpq import parse_windows
from vps.quiet import quiet_libraries


def _windows(text: str) -> tuple[int, ...]:
    try:
        return parse_windows(int(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated positive ints, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="vps-eval",
        description="Evaluate video panoptic predictions against KITTI-STEP ground truth: STQ (AQ, SQ) as "
                    "deeplab2 computes it, VPQ over windows of k frames, and image PQ.")
    p.add_argument("--gt", required=True, help="ground-truth root (ROOT/panoptic_maps/{split}/{seq}/*.png, "
                                               "or {split}/{seq}/*.png, or {seq}/*.png)")
    p.add_argument("--pred", required=True, help="prediction root, same layouts (the split level may be "
                                                 "missing)")
    p.add_argument("--split", default=None, help="split folder to evaluate (default: the only one present)")
    p.add_argument("--json", default=None, help="write all metrics to this JSON file (atomically)")
    p.add_argument("--vpq-windows", type=_windows, default=(1, 2, 5),
                   help="comma-separated VPQ window sizes k (default: 1,2,5)")
    p.add_argument("--dataset", default="kitti_step", help="label space (default: kitti_step)")
    p.add_argument("--workers", type=int, default=2, help="threads decoding PNGs (default: 2)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return p


def _read_pair(frame: FramePair, meta: DatasetMeta) -> tuple[np.ndarray, np.ndarray]:
    gt = read_kitti_panoptic(frame.gt_path, meta)
    pred = read_kitti_panoptic(frame.pred_path, meta)
    if pred.shape != gt.shape:
        raise DataError(frame.pred_path, f"size {pred.shape[1]}x{pred.shape[0]} (WxH) does not match the "
                                         f"ground truth {gt.shape[1]}x{gt.shape[0]} ({frame.gt_path})")
    return gt, pred


def _frames(paired: PairedFolders, meta: DatasetMeta, workers: int) -> Iterator[tuple[FramePair, tuple]]:
    """Yield decoded frames in order; up to ``2 * workers`` decoded ahead in threads (cv2 frees the GIL)."""
    if workers <= 1:
        for f in paired.frames:
            yield f, _read_pair(f, meta)
        return
    with ThreadPoolExecutor(workers) as pool:
        pending = []
        for f in paired.frames:
            pending.append((f, pool.submit(_read_pair, f, meta)))
            if len(pending) > 2 * workers:
                g, fut = pending.pop(0)
                yield g, fut.result()
        for g, fut in pending:
            yield g, fut.result()


def evaluate_folders(gt: str, pred: str, split: str | None = None, meta: DatasetMeta | None = None,
                     vpq_windows: tuple[int, ...] = (1, 2, 5), workers: int = 2,
                     progress: bool = False) -> tuple[EvalResult, PairedFolders]:
    """Pair the folders and run the :class:`Evaluator` over every frame (library entry of ``vps-eval``)."""
    meta = meta or get_meta("kitti_step")
    paired = pair_folders(gt, pred, split)
    evaluator = Evaluator(meta, vpq_windows)
    bar = tqdm(total=len(paired.frames), desc="vps-eval", unit="frame", disable=not progress)
    with bar:
        for frame, (g, p) in _frames(paired, meta, workers):
            try:
                evaluator.update(g, p, frame.sequence)
            except ValueError as e:  # ids the readers let through but the metrics cannot score
                path = frame.gt_path if str(e).startswith("ground truth") else frame.pred_path
                raise DataError(path, str(e)) from None
            bar.update(1)
    return evaluator.result(), paired


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``vps-eval``; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help (0) or a usage error (2)
        return int(e.code or 0)
    quiet_libraries()  # libpng / OpenCV chatter to the log, so the one-line error stands alone
    try:
        if args.workers < 1:
            raise ValueError(f"--workers must be >= 1, got {args.workers}")
        meta = get_meta(args.dataset)
        result, paired = evaluate_folders(args.gt, args.pred, args.split, meta, args.vpq_windows,
                                          args.workers, progress=not args.no_progress)
    except (ValueError, KeyError) as e:
        print(f"vps-eval: error: {e.args[0] if isinstance(e, KeyError) else e}", file=sys.stderr)
        return 2
    for seq in paired.extra_pred_sequences:
        print(f"vps-eval: warning: prediction sequence {seq!r} has no ground truth; skipped", file=sys.stderr)
    print(f"ground truth: {paired.gt_dir}\nprediction:   {paired.pred_dir}\n"
          f"{len(paired.sequences)} sequence(s), {len(paired.frames)} frame(s)\n")
    print(format_report(result))
    if args.json:
        payload = {**result.to_dict(), "dataset": meta.name, "gt": str(paired.gt_dir),
                   "pred": str(paired.pred_dir), "num_frames": len(paired.frames)}
        try:
            atomic_write_bytes(args.json, (json.dumps(payload, indent=2) + "\n").encode())
        except OSError as e:
            print(f"vps-eval: error: {args.json}: cannot write ({e.strerror})", file=sys.stderr)
            return 2
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
