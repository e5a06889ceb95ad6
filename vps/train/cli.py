"""``vps-train``: train a model (``model.family``: Pix2Seq-D or Video K-Net) from a YAML config, single
process or under ``torchrun``.

Examples::

    vps-train --config configs/tiny.yaml --out runs/tiny
    vps-train --config configs/knet_tiny.yaml --out runs/knet_tiny                  # Video K-Net
    vps-train --config configs/tiny.yaml --out runs/tiny --resume          # continue after a kill
    torchrun --nproc_per_node 8 -m vps.train.cli --config configs/r50.yaml --out runs/r50 --device cuda
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vps.config import Config, apply_overrides, load_config
from vps.train.dist import cleanup, init_distributed
from vps.train.trainer import RunOptions, Trainer


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vps-train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", type=Path, help="experiment YAML (default with --resume: OUT/config.yaml)")
    p.add_argument("--out", type=Path, required=True, help="run folder: last.pt, log.csv, tb/, data/")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt if it exists")
    p.add_argument("--max-steps", type=int, default=None,
                   help="stop at this step (the LR schedule still spans train.max_steps)")
    p.add_argument("--init", default=None, metavar="CKPT",
                   help="initialise from this checkpoint's EMA weights (sets train.init_from)")
    p.add_argument("--device", default=None, help="cpu | cuda (default: cuda when available)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override a config value (YAML syntax), repeatable")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    return p


def resolve_config(args: argparse.Namespace) -> Config:
    path = args.config
    if path is None:
        if not args.resume:
            raise ValueError("--config is required (unless --resume finds OUT/config.yaml)")
        path = args.out / "config.yaml"
    config = load_config(path)
    overrides = list(args.overrides) + ([f"train.init_from={args.init}"] if args.init else [])
    return apply_overrides(config, overrides) if overrides else config


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.max_steps is not None and args.max_steps < 0:
        print("vps-train: error: --max-steps must be >= 0", file=sys.stderr)
        return 2
    info = None
    try:
        config = resolve_config(args)
        info = init_distributed(args.device)
        opts = RunOptions(out_dir=args.out, resume=args.resume, stop_step=args.max_steps,
                          progress=not args.no_progress)
        trainer = Trainer(config, opts, info)
        if info.distributed:
            print(f"[rank {info.rank}/{info.world_size}] device {info.device}", file=sys.stderr, flush=True)
        metrics = trainer.fit()
        if info.distributed:  # replicas must agree after DDP's gradient all-reduce
            print(f"[rank {info.rank}/{info.world_size}] finished at step {trainer.step}, weight checksum "
                  f"{trainer.weight_checksum():.10e}", file=sys.stderr, flush=True)
    except (ValueError, FileNotFoundError, KeyError) as e:
        print(f"vps-train: error: {e}", file=sys.stderr)
        return 2
    finally:
        if info is not None:
            cleanup(info)
    if info.is_main and not args.no_progress:
        shown = ", ".join(f"{k} {v:.4f}" for k, v in metrics.items() if k in ("STQ", "AQ", "SQ"))
        print(f"done: step {trainer.step} in {args.out}" + (f" ({shown})" if shown else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
