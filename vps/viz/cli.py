"""``vps-viz``: render a KITTI-STEP / Cityscapes / image folder to an MP4 or animated GIF.

Examples::

    vps-viz data/kitti_step --split val --out val.mp4                    # GT overlay
    vps-viz preds/ --gt data/kitti_step --split val --mode panel --out cmp.gif
    vps-viz ../shared/data/kitti_odometry_gray/KITTI_sequence_1/image_l --out seq1.mp4   # plain frames
    # models side by side: image | model A | model B | ground truth (checkpoints or export folders)
    vps-viz synth/ --model checkpoints/tiny_synth.pt@2 --model exports/knet --frames 16 --out panel.gif
    vps-viz ../shared/data/kitti_odometry_gray/KITTI_sequence_1/image_l --model exports/tiny \
            --mode overlay --frames 16 --tile-width 480 --out overlay.gif
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from vps.errors import DataError
from vps.runtime.backends import BACKENDS
from vps.runtime.backends.base import BackendUnavailableError
from vps.viz.render import MODES, render_frame
from vps.viz.sources import Source, open_source
from vps.viz.video import VIDEO_SUFFIXES, VideoWriter


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="vps-viz",
        description="Render panoptic ground truth or predictions (KITTI-STEP layout), a Cityscapes panoptic "
                    "folder or a folder of frames to an MP4 (mp4v) or animated GIF.",
    )
    p.add_argument("dir", type=Path, help="KITTI-STEP root (images/, panoptic_maps/), Cityscapes root "
                                          "(leftImg8bit/, gtFine/) or a folder of image frames")
    p.add_argument("--out", type=Path, required=True, help="output file, .mp4 or .gif")
    p.add_argument("--mode", choices=MODES, default=None,
                   help="view (default: overlay with labels and images, panoptic with labels only, image "
                        "without labels); panel = image | DIR labels | --gt labels")
    p.add_argument("--gt", type=Path, default=None, help="KITTI-STEP root with ground truth (panel mode; "
                                                         "also a source of images)")
    p.add_argument("--images", type=Path, default=None,
                   help="KITTI-STEP root whose images/{split} to use (for prediction folders without images)")
    p.add_argument("--split", default=None, help="split folder (default: the only one present)")
    p.add_argument("--sequence", default=None, help="render only this sequence (default: all, concatenated)")
    p.add_argument("--fps", type=float, default=10.0, help="frames per second (default 10)")
    p.add_argument("--alpha", type=float, default=0.5, help="overlay opacity of the label colours")
    p.add_argument("--max-width", type=int, default=None, help="downscale frames wider than this")
    p.add_argument("--frames", type=int, default=None, help="render at most this many frames (default all)")
    m = p.add_argument_group("models (run on DIR's images through the frame engine, vps.viz.models)")
    m.add_argument("--model", action="append", default=None, metavar="EXPORT_DIR|CKPT[@STEPS]",
                   help="export folder or training checkpoint (repeatable: one column each); with --model "
                        "the modes are panel (image | models | ground truth; default where DIR has labels) "
                        "and overlay (each model blended over the image; default otherwise)")
    m.add_argument("--label", action="append", default=None,
                   help="column title of each --model, in order (default: family and steps)")
    m.add_argument("--tile-width", type=int, default=None,
                   help="shrink each column to this width (models only; default: the frame width)")
    m.add_argument("--backend", choices=BACKENDS, default="auto",
                   help="runtime backend of export folders (default auto; checkpoints run on torch)")
    m.add_argument("--threads", type=int, default=1, help="inference threads (default 1)")
    m.add_argument("--seed", type=int, default=0, help="noise seed of the models (default 0)")
    return p


def default_mode(src: Source) -> str:
    if src.has_labels:
        return "overlay" if src.has_images else "panoptic"
    return "image"


def _limit_width(frame: np.ndarray, max_width: int | None) -> np.ndarray:
    if max_width is None or frame.shape[1] <= max_width:
        return frame
    h = max(1, round(frame.shape[0] * max_width / frame.shape[1]))
    return cv2.resize(frame, (max_width, h), interpolation=cv2.INTER_AREA)


def check_args(args: argparse.Namespace) -> None:
    """``ValueError`` naming the first bad option."""
    if args.out.suffix.lower() not in VIDEO_SUFFIXES:
        raise ValueError(f"--out must end in .mp4 or .gif, got {args.out}")
    for name in ("max_width", "tile_width"):
        value = getattr(args, name)
        if value is not None and value < 2:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 2, got {value}")
    if args.frames is not None and args.frames < 1:
        raise ValueError(f"--frames must be >= 1, got {args.frames}")
    if args.threads < 0:
        raise ValueError(f"--threads must be >= 0, got {args.threads}")
    if args.model is None and (args.label or args.tile_width):
        raise ValueError("--label and --tile-width apply to --model")


def render(args: argparse.Namespace) -> int:
    """Render every frame of ``args.dir`` into ``args.out``; returns the number of frames written."""
    check_args(args)
    src = open_source(args.dir, args.split, args.images, args.gt, args.sequence)
    if args.model is not None:
        return render_models(args, src)
    mode = args.mode or default_mode(src)
    if mode in ("overlay", "panoptic", "semantic", "instance") and not src.has_labels:
        raise ValueError(f"{args.dir} has no panoptic maps; mode {mode!r} needs them (use --mode image)")
    if mode == "overlay" and not src.has_images:
        raise ValueError(f"{args.dir} has no images; pass --images or --gt, or use --mode panoptic")
    with VideoWriter(args.out, fps=args.fps) as vw:
        for i in tqdm(range(_count(src, args.frames)), desc=f"vps-viz {args.out.name}", unit="frame"):
            fr = src.load(i)
            frame = render_frame(mode, src.meta, fr.image, fr.pan, fr.gt, alpha=args.alpha)
            vw.write(_limit_width(frame, args.max_width))
        n = vw.frames_written
        size = vw.size
    assert size is not None
    print(f"wrote {args.out}: {n} frames ({mode}, {size[1]}x{size[0]}, {args.fps:g} fps, {src.kind})")
    return n


def _count(src: Source, frames: int | None) -> int:
    return len(src) if frames is None else min(frames, len(src))


def render_models(args: argparse.Namespace, src: Source) -> int:
    """``--model``: every model streams ``src``'s images; one panel or overlay frame per image."""
    from vps.viz.models import MODEL_MODES, compose, open_models

    mode = args.mode or ("panel" if src.has_labels or src.has_gt else "overlay")
    if mode not in MODEL_MODES:
        raise ValueError(f"--mode {mode} does not show --model predictions; use {' or '.join(MODEL_MODES)}")
    if not src.has_images:
        raise ValueError(f"{args.dir} has no images for --model to segment (pass --images or --gt)")
    models = open_models(args.model, args.label, args.threads, args.seed, args.backend)
    sequence = None
    with VideoWriter(args.out, fps=args.fps) as vw:
        for i in tqdm(range(_count(src, args.frames)), desc=f"vps-viz {args.out.name}", unit="frame"):
            fr = src.load(i)
            assert fr.image is not None
            if fr.sequence != sequence:  # every model starts a new stream (ids, warm start)
                for model in models:
                    model.reset()
                sequence = fr.sequence
            preds = [model.step(fr.image) for model in models]
            gt = fr.gt if fr.gt is not None else fr.pan
            frame = compose(mode, fr.image, preds, models, gt, src.meta, args.tile_width, args.alpha)
            vw.write(_limit_width(frame, args.max_width))
        n, size = vw.frames_written, vw.size
    assert size is not None
    names = ", ".join(m.label for m in models)
    print(f"wrote {args.out}: {n} frames ({mode}: {names}; {size[1]}x{size[0]}, {args.fps:g} fps, "
          f"{src.kind})")
    return n


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help (0) or a usage error (2)
        return int(e.code or 0)
    try:
        render(args)
    except (DataError, ValueError, KeyError, OSError, BackendUnavailableError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"vps-viz: error: {msg}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
