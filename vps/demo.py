"""``make demo``: the toolkit's main job on an embedded default, end to end on this machine.

1. ``vps-synth``: a fresh synthetic validation clip (seed :data:`DEMO_SEED`, never used for training);
2. ``vps-export --engine onnx``: the shipped tiny checkpoint (:data:`DEFAULT_CHECKPOINT`) to ONNX graphs at
   a reduced step count, verified against PyTorch (parity table);
3. ``vps-run``: the clip streamed through the exported graphs with ONNX Runtime (conditioned on its own
   previous predictions, warm start, persistent track ids), scored against the clip's ground truth (STQ
   table) and drawn as an overlay video;
4. ``vps-viz --mode panel``: image | prediction | ground truth side by side.

Every stage is the same public command a user would run; the demo only chains them with fixed, documented
arguments and prints where the results are. About a minute on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from vps.data.synth import cli as synth_cli
from vps.viz import cli as viz_cli

DEFAULT_OUT = Path("demo_out")
DEFAULT_CHECKPOINT = Path("checkpoints/tiny_synth.pt")  # shipped with the repository (tiny preset)
DEMO_SEED = 1234  # never used for training data (training uses seeds 0..99 and 1000)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m vps.demo", description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default demo_out/)")
    p.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT,
                   help=f"checkpoint to export (default {DEFAULT_CHECKPOINT})")
    p.add_argument("--frames", type=int, default=20, help="frames in the synthetic clip (default 20)")
    p.add_argument("--size", default="188x621", help="clip size HxW (default 188x621, KITTI's aspect)")
    p.add_argument("--steps", type=int, default=2, help="denoising steps of the export (default 2)")
    p.add_argument("--verify-frames", type=int, default=4, help="frames per export verification clip")
    return p


def _run(step: str, main: Callable[[list[str]], int], argv: list[str]) -> None:
    print(f"\n== {step}: {' '.join(argv)}", flush=True)
    code = main(argv)
    if code != 0:
        raise SystemExit(f"demo: step '{step}' failed with exit code {code}")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not args.checkpoint.is_file():
        print(f"demo: checkpoint {args.checkpoint} not found; train one with `vps-train --config "
              f"configs/tiny.yaml --out runs/tiny` and pass --checkpoint runs/tiny/last.pt", file=sys.stderr)
        return 2
    from vps.export import cli as export_cli  # torch and the exporter only for this step
    from vps.runtime import cli as run_cli

    t0 = time.perf_counter()
    data, export, preds = args.out / "data", args.out / "export", args.out / "predictions"
    overlay, panel = args.out / "overlay.mp4", args.out / "comparison.mp4"
    _run("synthetic clip", synth_cli.main, [str(data), "--sequences", "1", "--frames", str(args.frames),
                                            "--size", args.size, "--seed", str(DEMO_SEED), "--split", "val"])
    _run("export", export_cli.main, ["--checkpoint", str(args.checkpoint), "--engine", "onnx",
                                     "--steps", str(args.steps), "--warm-start", "--verify-frames",
                                     str(args.verify_frames), "--out", str(export), "--overwrite",
                                     "--no-progress"])
    _run("stream", run_cli.main, ["--artifacts", str(export), "--input", str(data), "--gt", str(data),
                                  "--out", str(preds), "--viz", str(overlay), "--backend", "onnxruntime",
                                  "--overwrite"])
    _run("comparison video", viz_cli.main, [str(preds), "--gt", str(data), "--mode", "panel", "--out",
                                            str(panel)])
    print(f"\ndemo done in {time.perf_counter() - t0:.0f} s: clip {data}, export {export}, predictions "
          f"{preds} (STQ in {preds / 'run.json'}), videos {overlay} and {panel}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
