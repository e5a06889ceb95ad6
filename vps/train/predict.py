"""``vps-predict``: offline PyTorch video inference over a KITTI-STEP folder with a trained checkpoint.

Example::

    vps-predict --checkpoint checkpoints/tiny_synth.pt --input data/val --out preds --steps 4
    vps-eval --gt data/val --pred preds --json metrics.json

Sequence by sequence, every frame is conditioned on the model's own previous predictions (reset at each
sequence start). Predictions are written as ``OUT/panoptic_maps/{split}/{seq}/{frame}.png`` at the input
resolution, so ``vps-eval --gt INPUT --pred OUT`` scores them. When the input has ground truth the STQ is
also printed and stored in ``OUT/predict.json``.

A Video K-Net checkpoint (``model.family: video_knet``) runs its one graph per frame: the sampler options
(``--steps``, ``--warm-start``, ``--warm-steps``, ``--warm-time``, ``--spacing``) and the diffusion
post-processing thresholds do not apply to it and are refused.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vps.config import Config
from vps.data.codecs import atomic_write_bytes, write_kitti_panoptic
from vps.data.kitti_step import KittiStep, available_splits
from vps.errors import DataError
from vps.model.checkpoint import load_for_inference
from vps.model.samplers import SPACINGS
from vps.train.dist import resolve_device
from vps.train.evaluate import eval_sequences, evaluate_video


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vps-predict", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", type=Path, required=True, help="full or slim checkpoint (.pt)")
    p.add_argument("--input", type=Path, required=True, help="KITTI-STEP root: images/{split}/{seq}/*.png")
    p.add_argument("--out", type=Path, required=True, help="output root (panoptic_maps/{split}/...)")
    p.add_argument("--split", default=None, help="split folder (default: the only one, else 'val')")
    p.add_argument("--steps", type=int, default=None, help="sampling steps (default: diffusion.steps)")
    p.add_argument("--warm-start", action="store_true", help="warm-start each frame from the previous one")
    p.add_argument("--warm-steps", type=int, default=None,
                   help="denoiser calls of a warm frame (default: diffusion.warm_start_steps)")
    p.add_argument("--warm-time", type=float, default=None,
                   help="time a warm frame starts at (default: the checkpoint's diffusion.warm_start_time)")
    p.add_argument("--spacing", default=None, choices=SPACINGS,
                   help="timestep spacing of the sampler (default: the checkpoint's diffusion.spacing)")
    p.add_argument("--seed", type=int, default=0, help="seed of the sampling noise (default 0)")
    p.add_argument("--track", action="store_true",
                   help="write the runtime track table's ids (as vps-run streams them), not the model's own")
    p.add_argument("--iou-threshold", type=float, default=None, help="--track: IoU to match a track")
    p.add_argument("--continue-iou", type=float, default=None,
                   help="--track: keep a continued model id down to this IoU (id continuation; default 0.01)")
    p.add_argument("--no-continue", action="store_true", help="--track: no id continuation")
    p.add_argument("--min-instance-area", type=int, default=None,
                   help="post-processing: smaller instances lose their id (default: the checkpoint's)")
    p.add_argument("--min-part-area", type=int, default=None,
                   help="post-processing: detached instance parts this big (mask pixels) become instances of "
                        "their own, smaller ones lose their id; 0 = no splitting (default: the checkpoint's)")
    p.add_argument("--sequences", nargs="*", default=None, help="only these sequences")
    p.add_argument("--max-frames", type=int, default=0, help="at most N frames per sequence (0 = all)")
    p.add_argument("--threads", type=int, default=0,
                   help="torch CPU threads (0 = torch default; 1 is fastest on a busy few-core CPU)")
    p.add_argument("--device", default="cpu", help="cpu | cuda (default cpu)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def with_postprocess(config: Config, min_instance_area: int | None, min_part_area: int | None) -> Config:
    """``config`` with the post-processing thresholds given on the command line (None: keep)."""
    changes = {k: v for k, v in (("min_instance_area", min_instance_area), ("min_part_area", min_part_area))
               if v is not None}
    if any(v < 0 for v in changes.values()):
        raise ValueError(f"--min-instance-area / --min-part-area must be >= 0, got {changes}")
    return replace(config, diffusion=replace(config.diffusion, **changes)) if changes else config


def with_sampler(config: Config, warm_steps: int | None, spacing: str | None,
                 warm_time: float | None = None) -> Config:
    """``config`` with the warm start (steps, time) and timestep spacing of the command line (None: keep)."""
    changes: dict[str, Any] = {}
    if warm_time is not None:
        if not 0.0 < warm_time <= 1.0:
            raise ValueError(f"--warm-time must lie in (0, 1], got {warm_time}")
        changes["warm_start_time"] = warm_time
    if warm_steps is not None:
        if warm_steps < 1:
            raise ValueError(f"--warm-steps must be >= 1, got {warm_steps}")
        changes["warm_start_steps"] = warm_steps
    if spacing is not None:
        changes["spacing"] = spacing
    return replace(config, diffusion=replace(config.diffusion, **changes)) if changes else config


DIFFUSION_OPTIONS = ("steps", "warm_start", "warm_steps", "warm_time", "spacing", "min_instance_area",
                     "min_part_area")  # options of the pix2seq_d family only


def check_family_options(args: argparse.Namespace, family: str) -> None:
    """``ValueError`` naming the options given that the checkpoint's family does not have."""
    if family == "pix2seq_d":
        return
    given = [f"--{n.replace('_', '-')}" for n in DIFFUSION_OPTIONS
             if getattr(args, n) is not None and getattr(args, n) is not False]
    if given:
        raise ValueError(f"{', '.join(given)}: options of the diffusion family (pix2seq_d); "
                         f"{args.checkpoint} is a {family} model, which runs one graph per frame "
                         f"(its fusion and association settings are the config's knet section)")


def tracker_config(args: argparse.Namespace) -> Any:
    """The runtime's tracker (its default, with the command line's changes) with ``--track``, else None."""
    if not args.track:
        return None
    from vps.runtime.segmenter import DEFAULT_TRACKER

    changes = {k: v for k, v in (("iou_threshold", args.iou_threshold), ("continue_iou", args.continue_iou))
               if v is not None}
    if args.no_continue:
        changes["continue_iou"] = None
    return replace(DEFAULT_TRACKER, **changes)


def pick_split(root: Path, split: str | None) -> str:
    """``split`` if given, else the only split under ``root``, else ``val``."""
    if split:
        return split
    splits = available_splits(root)
    if len(splits) == 1:
        return splits[0]
    if "val" in splits:
        return "val"
    raise DataError(root, f"several splits present ({splits}); choose one with --split")


def open_input(root: Path, split: str) -> KittiStep:
    """Frames of ``split`` (with labels when ``panoptic_maps/{split}`` exists, for the STQ)."""
    if not root.is_dir():
        raise DataError(root, "input folder not found")
    labels = (root / "panoptic_maps" / split).is_dir()
    return KittiStep(root, split, clip_len=1, labels=labels)


def run(args: argparse.Namespace) -> dict[str, Any]:
    if not args.input.is_dir():  # before the checkpoint and the split lookup, which would blur the cause
        raise DataError(args.input, "input folder not found (expected a KITTI-STEP root: images/{split}/...)")
    if args.steps is not None and args.steps < 1:
        raise ValueError(f"--steps must be >= 1, got {args.steps}")
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    model, config, meta = load_for_inference(args.checkpoint, device)
    family = config.model.family
    check_family_options(args, family)
    config = with_postprocess(config, args.min_instance_area, args.min_part_area)
    config = with_sampler(config, args.warm_steps, args.spacing, args.warm_time)
    split = pick_split(args.input, args.split)
    dataset = open_input(args.input, split)
    seqs = args.sequences if args.sequences else eval_sequences(dataset, 0)
    unknown = sorted(set(seqs) - set(dataset.sequences))
    if unknown:
        raise ValueError(f"--sequences: unknown {unknown}; available: {dataset.sequences}")
    steps = args.steps or config.diffusion.steps
    out_dir = args.out / "panoptic_maps" / split

    def write(seq: str, frame: int, pred: np.ndarray) -> None:
        write_kitti_panoptic(out_dir / seq / f"{frame:06d}.png", pred, meta.label_divisor)

    res = evaluate_video(model, config, dataset, meta, steps, args.warm_start, seqs, args.max_frames,
                         progress=not args.no_progress, seed=args.seed, on_frame=write,
                         tracker=tracker_config(args))
    has_gt = dataset.label_dir is not None
    summary: dict[str, Any] = {"checkpoint": str(args.checkpoint), "input": str(args.input), "split": split,
                               "family": family, "seed": args.seed, "track": args.track,
                               "continue_iou": args.continue_iou, "frames": res["frames"], "fps": res["fps"]}
    if family == "pix2seq_d":
        d = config.diffusion
        summary.update({"steps": steps, "warm_start": args.warm_start, "warm_steps": d.warm_start_steps,
                        "warm_time": d.warm_start_time, "spacing": d.spacing,
                        "min_instance_area": d.min_instance_area, "min_part_area": d.min_part_area})
    if has_gt:
        summary.update({k: res[k] for k in ("STQ", "AQ", "SQ")})
    atomic_write_bytes(args.out / "predict.json", json.dumps(summary, indent=2).encode())
    return summary


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        summary = run(args)
    except (ValueError, FileNotFoundError, KeyError) as e:  # DataError is a ValueError
        print(f"vps-predict: error: {e}", file=sys.stderr)
        return 2
    line = f"{summary['frames']} frames -> {args.out} ({summary['fps']:.2f} fps)"
    if "STQ" in summary:
        line += f"; STQ {summary['STQ']:.4f} AQ {summary['AQ']:.4f} SQ {summary['SQ']:.4f}"
    print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
