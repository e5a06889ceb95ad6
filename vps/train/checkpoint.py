"""Training checkpoints: atomic writes, exact resume, slim export for inference (the record and the
reader live in :mod:`vps.model.checkpoint`).

A checkpoint is a :class:`Checkpoint` saved with ``torch.save`` as a plain dict of tensors and Python
primitives (so it loads with ``torch.load(weights_only=True)``: no pickled code runs on load). It holds
everything needed to continue a run bit-for-bit (model, EMA, optimiser, grad scaler, step, RNG states, data
sampler state) plus everything inference needs (EMA weights, the full config, the class metadata and the
analog-bit layout). :func:`export_slim` keeps only the inference part, optionally in fp16, to ship small.
"""

from __future__ import annotations

import os
import random
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vps.config import Config
from vps.errors import DataError
from vps.model.checkpoint import (
    FORMAT,
    VERSION,
    Checkpoint,
    build_model,
    load_checkpoint,
    load_for_inference,
    load_state_strict,
)

__all__ = ["FORMAT", "VERSION", "Checkpoint", "build_model", "capture_rng", "check_compatible",
           "export_slim", "load_checkpoint", "load_for_inference", "load_state_strict", "restore_rng",
           "save_checkpoint"]

def save_checkpoint(ckpt: Checkpoint, path: str | Path) -> Path:
    """Write ``ckpt`` to ``path`` atomically: a temp file in the same folder, fsync, then ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(ckpt.to_payload(), f)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file ordinary permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def capture_rng(generators: dict[str, torch.Generator] | None = None) -> dict[str, Any]:
    """Python, NumPy (global), torch CPU/CUDA and named ``torch.Generator`` states as loadable primitives."""
    py = random.getstate()
    np_state = np.random.get_state()
    state: dict[str, Any] = {
        "python": [py[0], list(py[1]), py[2]],
        "numpy": [np_state[0], np_state[1].tolist(), *[x.item() if hasattr(x, "item") else x
                                                      for x in np_state[2:]]],
        "torch": torch.get_rng_state(),
        "generators": {k: g.get_state() for k, g in (generators or {}).items()},
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any], generators: dict[str, torch.Generator] | None = None) -> None:
    """Inverse of :func:`capture_rng`."""
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    npy = state["numpy"]
    np.random.set_state((npy[0], np.asarray(npy[1], dtype=np.uint32), *npy[2:]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    for k, g in (generators or {}).items():
        if k in state["generators"]:
            g.set_state(state["generators"][k])


def check_compatible(ckpt: Checkpoint, config: Config, path: str | Path) -> None:
    """Refuse to resume into a different architecture or bit layout (names the checkpoint file).

    A key the checkpoint lacks (written before the field existed) counts as the field's default.
    """
    for section in ("model", "diffusion", "knet"):
        current = asdict(getattr(config, section))
        defaults = asdict(type(getattr(config, section))())
        stored = {**{k: defaults[k] for k in current}, **ckpt.config.get(section, {})}
        diff = sorted(k for k in set(stored) | set(current)
                      if _norm(stored.get(k)) != _norm(current.get(k)))
        if diff:
            pairs = ", ".join(f"{k}: {stored.get(k)!r} -> {current.get(k)!r}" for k in diff[:4])
            raise DataError(path, f"checkpoint {section} config differs from --config ({pairs}); "
                                  "start a new --out folder or use the matching config")


def _norm(v: Any) -> Any:
    return list(v) if isinstance(v, tuple | list) else v


def export_slim(path_in: str | Path, path_out: str | Path, dtype: torch.dtype | None = torch.float16,
                overrides: list[str] | None = None) -> Path:
    """Copy only what inference needs (EMA weights, config, meta, layout, step, metrics).

    Floating-point weights are cast to ``dtype`` (``None`` keeps them); :func:`load_for_inference` casts
    them back to the model's dtype, so an fp16 file runs in fp32 with fp16-rounded weights. ``overrides``
    (``["diffusion.min_part_area=16"]``, :func:`vps.config.apply_overrides`) change inference settings
    stored with the weights; the copy's config lists every field, so later changes of a default in
    :mod:`vps.config` do not change how the file runs.
    """
    from vps.config import apply_overrides

    ckpt = load_checkpoint(path_in)
    config = apply_overrides(ckpt.typed_config(path_in), overrides or [])

    def cast(t: torch.Tensor) -> torch.Tensor:
        return t.to(dtype) if dtype is not None and t.is_floating_point() else t

    slim = Checkpoint(step=ckpt.step, config=config.to_dict(), meta=ckpt.meta, layout=ckpt.layout,
                      ema_weights={k: cast(v).contiguous() for k, v in ckpt.ema_weights.items()},
                      ema_updates=ckpt.ema_updates, metrics=dict(ckpt.metrics), slim=True)
    return save_checkpoint(slim, path_out)


def main(argv: list[str] | None = None) -> int:
    """``python -m vps.train.checkpoint {info,slim} ...``: inspect a checkpoint or export a slim copy."""
    import argparse
    import sys

    p = argparse.ArgumentParser(prog="python -m vps.train.checkpoint", description=main.__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    info = sub.add_parser("info", help="print step, config name, metrics and size")
    info.add_argument("path", type=Path)
    slim = sub.add_parser("slim", help="keep only what inference needs (EMA weights, config, meta)")
    slim.add_argument("path", type=Path)
    slim.add_argument("out", type=Path)
    slim.add_argument("--dtype", choices=("fp16", "bf16", "fp32"), default="fp16")
    slim.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                      help="change a stored config value, e.g. diffusion.min_part_area=16 (repeatable)")
    args = p.parse_args(argv)
    try:
        if args.cmd == "slim":
            dtype = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": None}[args.dtype]
            out = export_slim(args.path, args.out, dtype, args.overrides)
            print(f"{out}: {out.stat().st_size / 1e6:.2f} MB")
            return 0
        ck = load_checkpoint(args.path)
        n = sum(v.numel() for v in ck.ema_weights.values() if v.is_floating_point())
        print(f"{args.path}: step {ck.step}, config {ck.config.get('name')!r}, dataset {ck.meta['name']!r}, "
              f"{'slim' if ck.slim else 'full'}, {n / 1e6:.2f} M weights, metrics {ck.metrics}")
        return 0
    except (ValueError, FileNotFoundError) as e:
        print(f"vps.train.checkpoint: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
