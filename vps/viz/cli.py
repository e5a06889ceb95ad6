"""``vps-viz``: render a KITTI-STEP / Cityscapes / image folder to an MP4 or animated GIF.

Examples::

    vps-viz data/kitti_step --split val --out val.mp4                    # GT overlay
    vps-viz preds/ --gt data/kitti_step --split val --mode panel --out cmp.gif
    vps-viz ../shared/data/kitti_odometry_gray/KITTI_sequence_1/image_l --out seq1.mp4   # plain frames
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from vps.errors import DataError
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


def render(args: argparse.Namespace) -> int:
    """Render every frame of ``args.dir`` into ``args.out``; returns the number of frames written."""
    if args.out.suffix.lower() not in VIDEO_SUFFIXES:
        raise ValueError(f"--out must end in .mp4 or .gif, got {args.out}")
    if args.max_width is not None and args.max_width < 2:
        raise ValueError(f"--max-width must be >= 2, got {args.max_width}")
    src = open_source(args.dir, args.split, args.images, args.gt, args.sequence)
    mode = args.mode or default_mode(src)
    if mode in ("overlay", "panoptic", "semantic", "instance") and not src.has_labels:
        raise ValueError(f"{args.dir} has no panoptic maps; mode {mode!r} needs them (use --mode image)")
    if mode == "overlay" and not src.has_images:
        raise ValueError(f"{args.dir} has no images; pass --images or --gt, or use --mode panoptic")
    with VideoWriter(args.out, fps=args.fps) as vw:
        for i in tqdm(range(len(src)), desc=f"vps-viz {args.out.name}", unit="frame"):
            fr = src.load(i)
            frame = render_frame(mode, src.meta, fr.image, fr.pan, fr.gt, alpha=args.alpha)
            vw.write(_limit_width(frame, args.max_width))
        n = vw.frames_written
        size = vw.size
    assert size is not None
    print(f"wrote {args.out}: {n} frames ({mode}, {size[1]}x{size[0]}, {args.fps:g} fps, {src.kind})")
    return n


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help (0) or a usage error (2)
        return int(e.code or 0)
    try:
        render(args)
    except (DataError, ValueError, KeyError, OSError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"vps-viz: error: {msg}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
