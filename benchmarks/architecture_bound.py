"""How fast could the fp32 frame get by changing the network, not the runtime? A speed-only what-if.

    python benchmarks/architecture_bound.py [--checkpoint checkpoints/tiny_synth.pt] [--rounds 40]
                                            [--host-ms 2.7] [--json OUT.json]

The remaining gap between the deployed fp32 frame and its compute floor is work *outside* the convolutions:
GroupNorm (ONNX Runtime runs it as reshape + InstanceNormalization + affine, with layout reorders around
its blocked convolutions), the timestep FiLM (broadcast multiply/add), GELU, the bit head's softmax. A
runtime cannot remove those; a different network can (folded normalisation, ReLU fused into the
convolution). Retraining costs hours on this CPU, so this script first measures what such a network would
gain at best: it rewrites the *shipped* model cumulatively and exports the graphs of each rewrite:

* ``shipped``: the graphs as ``vps-export`` writes them;
* ``no-groupnorm``: every GroupNorm replaced by a per-channel affine (what a folded-BatchNorm or
  normalisation-free retrain would export) and the FiLM removed from the residual blocks;
* ``+relu``: the encoder's GELUs replaced by ReLU (fused into the convolutions by ONNX Runtime);
* ``+softmax-head``: the bit expectation as one Softmax + MatMul per byte instead of max/sub/exp/sum/div.

The rewritten weights are *not trained for* the rewrite, so their outputs are meaningless: only the time is
measured. Each graph runs at batch 1 on the checkpoint's input size, 1 thread, every variant interleaved
round by round. The warm 2-step frame is ``encoder + context + denoiser_step + denoiser_final`` plus
``--host-ms`` (preprocess, decode and tracking: what ``vps-bench`` measured for them); its ratio to the
compute floor (:mod:`vps.bench.floor`: the FLOPs of the graphs at the measured MatMul peak) is printed.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
import time
import types
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vps.bench.floor import graph_flops, matmul_peak_gflops  # noqa: E402
from vps.export.families import model_contracts  # noqa: E402
from vps.export.onnx_export import export_graph  # noqa: E402
from vps.model import fused  # noqa: E402
from vps.model.checkpoint import load_for_inference  # noqa: E402
from vps.model.denoiser import ResBlock  # noqa: E402

GRAPHS = ("encoder", "context", "denoiser_step", "denoiser_final")  # one warm 2-step frame


def _replace_modules(model: nn.Module, kind: type[nn.Module], make: Callable[[nn.Module], nn.Module]) -> None:
    """Every submodule of type ``kind`` -> ``make(it)``."""
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, kind):
                setattr(module, name, make(child))


def _affine(norm: nn.Module) -> nn.Module:
    """An eval BatchNorm2d with zero mean, unit variance and the GroupNorm ``norm``'s affine."""
    bn = nn.BatchNorm2d(norm.num_channels).eval()
    bn.weight.data.copy_(norm.weight.data)
    bn.bias.data.copy_(norm.bias.data)
    return bn


def _block_without_film(self: ResBlock, x: Tensor, temb: Tensor) -> Tensor:
    """:meth:`ResBlock.forward` without the timestep scale/shift."""
    h = self.norm2(self.conv1(F.silu(self.norm1(x))))
    return self.skip(x) + self.conv2(F.silu(h))


def no_groupnorm(model: nn.Module) -> None:
    _replace_modules(model, nn.GroupNorm, _affine)
    for m in model.modules():
        if isinstance(m, ResBlock):
            m.forward = types.MethodType(_block_without_film, m)


def relu(model: nn.Module) -> None:
    _replace_modules(model, nn.GELU, lambda _: nn.ReLU())


def _softmax_bits(self: fused.BitHead, raw: Tensor) -> Tensor:
    """:meth:`BitHead.bits` as Softmax + MatMul per byte (same values up to rounding)."""
    x = raw.float().permute(0, 2, 3, 1)  # [B, h, w, nc + ni]
    pc = torch.softmax(x[..., :self.nc], -1) @ self.w_class[:, :-1]
    pi = torch.softmax(x[..., self.nc:], -1) @ self.w_instance[:, :-1]
    return ((2.0 * torch.cat([pc, pi], -1) - 1.0) * self.scale).permute(0, 3, 1, 2)


def softmax_head(model: nn.Module) -> None:
    """Marker: :func:`export_variant` exports with :meth:`BitHead.bits` swapped (the head is built per
    graph by the export contract, not held by the model)."""


REWRITES: tuple[tuple[str, Callable[[nn.Module], None] | None], ...] = (
    ("shipped", None), ("no-groupnorm", no_groupnorm), ("+relu", relu), ("+softmax-head", softmax_head))


def _session(path: Path) -> object:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL  # as vps.runtime
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def _feeds(contract: object, hw: tuple[int, int]) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    feeds = {k: rng.standard_normal(s).astype(np.float32) for k, s in contract.input_shapes(1, hw).items()}
    if "gamma" in feeds:
        feeds["gamma"] = np.array([0.5], np.float32)
    if "coef" in feeds:
        feeds["coef"] = np.array([[0.5, 0.5]], np.float32)
    return feeds


def export_variant(base: nn.Module, rewrites: list[Callable[[nn.Module], None]], out: Path,
                   hw: tuple[int, int]) -> dict[str, tuple[object, dict[str, np.ndarray], float]]:
    """``{graph: (session, feeds, GFLOP)}`` of ``base`` after ``rewrites`` (in order)."""
    model = copy.deepcopy(base)
    for rewrite in rewrites:
        rewrite(model)
    _, contracts = model_contracts(model, "pix2seq_d")
    graphs = {}
    original = fused.BitHead.bits
    if softmax_head in rewrites:
        fused.BitHead.bits = _softmax_bits  # type: ignore[method-assign]
    try:
        paths = {c: export_graph(model, c, out / f"{c.name}.onnx") for c in contracts if c.name in GRAPHS}
    finally:
        fused.BitHead.bits = original  # type: ignore[method-assign]
    for c, path in paths.items():
        feeds = _feeds(c, hw)
        graphs[c.name] = (_session(path), feeds,
                          graph_flops(path, {k: v.shape for k, v in feeds.items()}) / 1e9)
    return graphs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", default="checkpoints/tiny_synth.pt")
    ap.add_argument("--rounds", type=int, default=40)
    ap.add_argument("--host-ms", type=float, default=2.7,
                    help="preprocess + decode + tracking per frame (vps-bench's stage medians)")
    ap.add_argument("--variants", nargs="+", choices=[name for name, _ in REWRITES],
                    default=[name for name, _ in REWRITES], help="which of the cumulative rewrites to time")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    base, config, _ = load_for_inference(args.checkpoint, "cpu")
    hw = tuple(config.model.image_size)
    variants: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        chain: list[Callable[[nn.Module], None]] = []
        for name, rewrite in REWRITES:
            chain = chain + ([rewrite] if rewrite else [])
            if name not in args.variants:
                continue
            (Path(tmp) / name).mkdir()
            variants[name] = export_variant(base, chain, Path(tmp) / name, hw)
        times = {(v, g): [] for v, graphs in variants.items() for g in graphs}
        for _ in range(args.rounds):
            for (v, g), samples in times.items():
                session, feeds, _ = variants[v][g]
                t0 = time.perf_counter()
                session.run(None, feeds)
                samples.append(1e3 * (time.perf_counter() - t0))
        peak = matmul_peak_gflops(1)
    report = {"checkpoint": args.checkpoint, "peak_gflops": peak, "host_ms": args.host_ms, "variants": {}}
    print(f"MatMul peak {peak:.0f} GFLOP/s (1 thread); host stages {args.host_ms:.1f} ms; medians of "
          f"{args.rounds} interleaved rounds, after the first 5")
    print(f"{'variant':15s}" + "".join(f"{g:>16s}" for g in GRAPHS) + f"{'frame ms':>10s}{'floor ms':>10s}"
          f"{'ratio':>7s}")
    for v, graphs in variants.items():
        med = {g: float(np.median(times[(v, g)][5:])) for g in graphs}
        gflop = sum(graphs[g][2] for g in graphs)
        frame, floor = sum(med.values()) + args.host_ms, 1e3 * gflop / peak
        report["variants"][v] = {"graph_ms": med, "frame_ms": frame, "floor_ms": floor, "gflop": gflop,
                                 "ratio": frame / floor}
        print(f"{v:15s}" + "".join(f"{med[g]:16.2f}" for g in GRAPHS) + f"{frame:10.1f}{floor:10.1f}"
              f"{frame / floor:7.2f}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
