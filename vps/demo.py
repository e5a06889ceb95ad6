"""``make demo``: the toolkit's main job on an embedded default, end to end on this machine.

Generates a fresh synthetic validation clip with ``vps-synth`` and renders its ground truth as an overlay
video with ``vps-viz``. Every stage is the same public command a user would run; the demo only chains them
with fixed, documented arguments and prints where the results are.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vps.data.synth import cli as synth_cli
from vps.viz import cli as viz_cli

DEFAULT_OUT = Path("demo_out")
DEMO_SEED = 1234  # never used for training data (training uses seeds 0..99)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m vps.demo", description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default demo_out/)")
    p.add_argument("--frames", type=int, default=20, help="frames in the synthetic clip")
    p.add_argument("--size", default="188x621", help="clip size HxW")
    return p


def _run(step: str, main, argv: list[str]) -> None:
    print(f"\n== {step}: {' '.join(argv)}", flush=True)
    code = main(argv)
    if code != 0:
        raise SystemExit(f"demo: step '{step}' failed with exit code {code}")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    data = args.out / "data"
    video = args.out / "ground_truth_overlay.mp4"
    _run("synthetic clip", synth_cli.main, [str(data), "--sequences", "1", "--frames", str(args.frames),
                                            "--size", args.size, "--seed", str(DEMO_SEED), "--split", "val"])
    _run("overlay video", viz_cli.main, [str(data), "--out", str(video), "--mode", "overlay"])
    print(f"\ndemo done: clip in {data}, video {video}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
