"""Run an export folder's graphs with the Python ONNX Runtime and dump what clip_example.c needs.

The C example (``clip_example --logits DIR``) then does the runtime's host work through the C API alone and
checks its track ids against the Python runtime's, frame by frame. Written to ``--out``:

* ``meta.txt``: ``mask_h mask_w frame_h frame_w frames network_h network_w letterbox min_area min_part_area
  num_classes ignore_label label_divisor n_things thing_id...``;
* ``logits_0000.f32`` ...: each frame's denoiser logits ``float32 [512, mask_h, mask_w]``. The exported
  ``denoiser_final`` graph already returns the argmax ids (the engine of ``vps-run`` never moves logits to the
  host), so these are the one-hot logits of those ids: what an engine that returns logits would hand the C
  API, decoding to exactly the graph's ids;
* ``expected_0000.i32`` ...: the Python runtime's ``FrameResult.track_ids`` ``int32 [frame_h, frame_w]``.

Frames: a slowly changing synthetic grey-level pattern of ``--frame-size``.

    python cmake/examples/dump_logits.py --artifacts DIR --out DIR [--frames 8] [--frame-size 47x155]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from vps.runtime.manifest import load_manifest
from vps.runtime.segmenter import Segmenter


class FinalIds:
    """Engine hook: keeps the ids the last ``denoiser_final`` call returned (``int32 [1, h, w]``)."""

    def __init__(self) -> None:
        self.last: np.ndarray | None = None

    def __call__(self, graph: str, inputs: tuple[Any, ...], out: list[Any]) -> None:
        if graph == "denoiser_final":
            self.last = np.asarray(out[0])


def one_hot_logits(ids: np.ndarray, divisor: int) -> np.ndarray:
    """``float32 [512, h, w]`` logits whose argmax per byte gives ``ids int [h, w]``."""
    h, w = ids.shape
    logits = np.zeros((512, h, w), np.float32)
    rows, cols = np.indices((h, w))
    logits[ids // divisor, rows, cols] = 10.0
    logits[256 + ids % divisor, rows, cols] = 10.0
    return logits


def synthetic_frame(f: int, hw: tuple[int, int]) -> np.ndarray:
    """``uint8 [h, w, 3]`` moving stripes and a bright box (frame ``f``)."""
    h, w = hw
    rows, cols = np.indices((h, w))
    img = (127 + 100 * np.sin((cols + 3 * f) / 9.0) * np.cos(rows / 7.0)).astype(np.uint8)
    x = (4 * f) % max(1, w - w // 5)
    img[h // 2: h // 2 + h // 5, x: x + w // 5] = 250
    return np.repeat(img[:, :, None], 3, axis=2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--artifacts", required=True, help="export folder (manifest.json + ONNX graphs)")
    parser.add_argument("--out", required=True, help="folder to write meta.txt, logits and expected ids to")
    parser.add_argument("--frames", type=int, default=8, help="frames to run (default 8)")
    parser.add_argument("--frame-size", default="47x155", help="camera frame HxW (default 47x155)")
    args = parser.parse_args(argv)
    fh, fw = (int(v) for v in args.frame_size.lower().split("x"))
    manifest = load_manifest(args.artifacts)
    program, final = manifest.program, FinalIds()
    seg = Segmenter.load(args.artifacts, backend="onnxruntime", device="cpu")
    seg.hooks.append(final)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for f in range(args.frames):
        result = seg.step(synthetic_frame(f, (fh, fw)))
        assert final.last is not None
        one_hot_logits(final.last[0], program.layout.label_divisor).tofile(out / f"logits_{f:04d}.f32")
        np.ascontiguousarray(result.track_ids, np.int32).tofile(out / f"expected_{f:04d}.i32")
    (h, w), (nh, nw), meta = program.mask_size, program.input_size, program.meta
    fields = (h, w, fh, fw, args.frames, nh, nw, int(program.resize_mode == "letterbox"),
              program.min_instance_area, program.min_part_area, meta.num_classes, meta.ignore_label,
              program.layout.label_divisor, len(meta.thing_ids), *meta.thing_ids)
    (out / "meta.txt").write_text(" ".join(str(int(v)) for v in fields) + "\n")
    print(f"wrote {args.frames} frames of logits [512, {h}, {w}] and expected track ids to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
