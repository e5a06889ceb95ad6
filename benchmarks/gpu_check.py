"""One prepared GPU check: every CUDA path of vps on a GPU machine, in one bounded run (<= 8 minutes).

Stages, in priority order (each a subprocess with its own time limit, cut to what is left of ``--budget``;
a stage that no longer fits is skipped and says so):

1. ``gpu-tests``: ``pytest -m gpu`` (the tests that only run with CUDA: CUDA graphs, TensorRT, ORT CUDA);
2. ``kernels``: ``benchmarks/kernels.py --sweep`` (Triton kernels in GB/s against copy bandwidth);
3. ``r50-checkpoint`` + ``r50-onnx``: an untrained r50 (random weights: latency only), exported to fp16
   ONNX with 2 steps at 384x1248 (no verification: the weights are random);
4. ``torch-graphs`` / ``torch-eager``: ``vps-bench`` on the torch CUDA backend with and without CUDA graphs;
5. ``trt-export`` + ``tensorrt``: TensorRT fp16 engines and ``vps-bench`` on them, if ``tensorrt`` imports;
6. ``ort-cuda``: ``vps-bench`` on ONNX Runtime's CUDA provider, if onnxruntime-gpu is installed.

Writes ``OUT/gpu_check.json`` (machine, versions, each stage's command, status, seconds, log file and key
figures) and prints a short table (also ``OUT/gpu_check.txt``). Without a CUDA GPU it says so in one line
and exits 0; ``--dry-run`` prints and records the plan without running anything, checking every planned
command line against its tool's argument parser (so a typo surfaces before the GPU time is spent).

    python benchmarks/gpu_check.py [--out DIR] [--budget 480] [--frames 200] [--dry-run]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SIZE = "384x1248"
PY = sys.executable


@dataclass
class Stage:
    """One step of the check: a command (or an in-process function) with a time limit."""

    name: str
    limit_s: int
    cmd: list[str] = field(default_factory=list)
    fn: Callable[[], dict[str, Any]] | None = None
    needs: str = ""  # a stage that must have succeeded first
    when: str = ""  # "tensorrt" | "ort-cuda": only if that runtime is present
    json_out: str = ""  # JSON the command writes (parsed into key figures)
    status: str = "planned"
    seconds: float = 0.0
    figures: dict[str, Any] = field(default_factory=dict)
    log: str = ""


def bench_cmd(art: Path, ckpt: Path, backend: str, out: Path, frames: int, *extra: str) -> list[str]:
    return [PY, "-m", "vps.bench.cli", "--artifacts", str(art), "--checkpoint", str(ckpt),
            "--backend", backend, "--device", "cuda", "--size", SIZE, "--frames", str(frames),
            "--warmup", "20", "--no-baseline", "--no-progress", "--json", str(out), *extra]


def export_cmd(ckpt: Path, out: Path, engine: str) -> list[str]:
    return [PY, "-m", "vps.export.cli", "--checkpoint", str(ckpt), "--out", str(out), "--engine", engine,
            "--precision", "fp16", "--steps", "2", "--input-size", SIZE, "--device", "cuda", "--no-verify",
            "--no-progress"]


def plan(out: Path, frames: int) -> list[Stage]:
    """The stages, in priority order."""
    ckpt, onnx16, trt16 = out / "r50_untrained.pt", out / "r50_onnx16", out / "r50_trt16"
    return [
        Stage("gpu-tests", 60, [PY, "-m", "pytest", "-q", "-m", "gpu", "-p", "no:cacheprovider", "tests"]),
        Stage("kernels", 60, [PY, str(ROOT / "benchmarks" / "kernels.py"), "--sweep", "--repeats", "100",
                              "--json", str(out / "kernels.json")], json_out="kernels.json"),
        Stage("r50-checkpoint", 45, fn=lambda: make_untrained(ROOT / "configs" / "r50.yaml", ckpt)),
        Stage("r50-onnx", 150, export_cmd(ckpt, onnx16, "onnx"), needs="r50-checkpoint"),
        Stage("torch-graphs", 45, bench_cmd(onnx16, ckpt, "torch", out / "torch_graphs.json", frames,
                                            "--precision", "fp16"), needs="r50-onnx",
              json_out="torch_graphs.json"),
        Stage("torch-eager", 45, bench_cmd(onnx16, ckpt, "torch", out / "torch_eager.json", frames,
                                           "--precision", "fp16", "--no-cuda-graph"), needs="r50-onnx",
              json_out="torch_eager.json"),
        Stage("trt-export", 150, export_cmd(ckpt, trt16, "trt"), needs="r50-checkpoint", when="tensorrt"),
        Stage("tensorrt", 45, bench_cmd(trt16, ckpt, "tensorrt", out / "tensorrt.json", frames),
              needs="trt-export", when="tensorrt", json_out="tensorrt.json"),
        Stage("ort-cuda", 45, bench_cmd(onnx16, ckpt, "onnxruntime", out / "ort_cuda.json", frames),
              needs="r50-onnx", when="ort-cuda", json_out="ort_cuda.json"),
    ]


def make_untrained(config_path: Path, out: Path) -> dict[str, Any]:
    """A slim checkpoint of a randomly initialised model of ``config_path`` (no training, no downloads)."""
    import torch

    from vps.config import load_config
    from vps.data.meta import KITTI_STEP
    from vps.model import Pix2SeqD
    from vps.train.checkpoint import Checkpoint, save_checkpoint

    config = load_config(config_path)
    torch.manual_seed(0)
    model = Pix2SeqD.from_config(config.model, config.diffusion)
    ckpt = Checkpoint(step=0, config=config.to_dict(), meta=KITTI_STEP.to_dict(), layout=asdict(model.layout),
                      ema_weights={k: v.detach().clone() for k, v in model.state_dict().items()}, slim=True)
    save_checkpoint(ckpt, out)
    return {"checkpoint": str(out), "parameters": sum(p.numel() for p in model.parameters())}


def present() -> dict[str, bool]:
    """Which optional runtimes this machine has (decides the ``when`` stages)."""
    ort_cuda = False
    if importlib.util.find_spec("onnxruntime") is not None:
        import onnxruntime

        ort_cuda = "CUDAExecutionProvider" in onnxruntime.get_available_providers()
    return {"tensorrt": importlib.util.find_spec("tensorrt") is not None, "ort-cuda": ort_cuda}


def figures(stage: Stage, out: Path, output: str) -> dict[str, Any]:
    """Key figures of a finished stage (from its JSON, or pytest's summary line)."""
    if stage.name == "gpu-tests":
        return {"summary": output.strip().splitlines()[-1] if output.strip() else ""}
    if not stage.json_out or not (out / stage.json_out).is_file():
        return {}
    report = json.loads((out / stage.json_out).read_text())
    if stage.name == "kernels":
        pct = [r["pct_copy"] for r in report.get("rows", []) if r.get("pct_copy") is not None]
        return {"copy_gbps": report.get("copy_gbps"), "pct_copy_min": min(pct, default=None),
                "pct_copy_max": max(pct, default=None), "goals": report.get("goals")}
    total = report["deployed"]["stages"]["total"]
    return {"median_ms": total["median"], "p99_ms": total["p99"], "fps": report["deployed"].get("fps")}


def run_stage(stage: Stage, out: Path, left_s: float) -> None:
    """Run one stage within ``min(limit, left_s)`` seconds; fills status, seconds, figures, log."""
    limit = max(1, int(min(stage.limit_s, left_s)))
    log = out / f"{stage.name}.log"
    stage.log = str(log)
    t0 = time.monotonic()
    try:
        if stage.fn is not None:
            stage.figures = stage.fn()
            stage.status = "ok"
        else:
            done = subprocess.run(stage.cmd, cwd=ROOT, capture_output=True, text=True, timeout=limit)
            log.write_text(done.stdout + done.stderr)
            stage.status = "ok" if done.returncode == 0 else f"failed (exit {done.returncode})"
            stage.figures = figures(stage, out, done.stdout)
    except subprocess.TimeoutExpired as e:
        log.write_text(str(e.stdout or "") + str(e.stderr or ""))
        stage.status = f"timeout ({limit} s)"
    except Exception as e:  # one stage's failure must not stop the check
        log.write_text(repr(e))
        stage.status = f"failed ({type(e).__name__}: {e})"
    stage.seconds = round(time.monotonic() - t0, 1)


def check_plan(stages: list[Stage]) -> list[str]:
    """Parse every planned command line with its tool's own parser; problems as one line each."""
    from vps.bench.cli import build_parser as bench_parser
    from vps.export.cli import build_parser as export_parser

    problems: list[str] = []
    parsers = {"vps.bench.cli": bench_parser().parse_args, "vps.export.cli": export_parser().parse_args}
    for s in stages:
        if s.cmd[1:2] == ["-m"] and s.cmd[2] in parsers:
            try:
                parsers[s.cmd[2]](s.cmd[3:])
            except SystemExit:
                problems.append(f"{s.name}: {' '.join(s.cmd[2:])} does not parse")
    return problems


def table(stages: list[Stage]) -> str:
    lines = [f"{'stage':<16} {'status':<22} {'s':>6}  key figures"]
    for s in stages:
        figs = ", ".join(f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in s.figures.items())
        lines.append(f"{s.name:<16} {s.status:<22} {s.seconds:>6.1f}  {figs}")
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    import torch

    info: dict[str, Any] = {"python": sys.version.split()[0], "torch": torch.__version__,
                            "cuda": torch.version.cuda, "gpu": None}
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        info.update(gpu=props.name, capability=f"{props.major}.{props.minor}",
                    memory_gib=round(props.total_memory / 2**30, 1))
    for name in ("triton", "onnxruntime", "tensorrt"):
        spec = importlib.util.find_spec(name)
        info[name] = None if spec is None else getattr(__import__(name), "__version__", "?")
    return info


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=Path("gpu_check_out"), help="output folder (created)")
    p.add_argument("--budget", type=int, default=480, help="seconds for the whole check (default 480)")
    p.add_argument("--frames", type=int, default=200, help="timed frames per vps-bench stage (default 200)")
    p.add_argument("--dry-run", action="store_true", help="print and record the plan, run nothing")
    args = p.parse_args(argv)
    if args.budget < 60 or args.frames < 10:
        p.error("--budget must be >= 60 s and --frames >= 10")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        import torch
    except ImportError:
        print("gpu_check: torch is not installed in this Python, so no CUDA GPU is usable; nothing to check")
        return 0
    if not torch.cuda.is_available() and not args.dry_run:
        print("gpu_check: no CUDA GPU here (torch.cuda.is_available() is False); nothing to check")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    stages, have = plan(args.out.resolve(), args.frames), present()
    problems = check_plan(stages) if args.dry_run else []
    start, ok = time.monotonic(), set()
    for s in stages:
        left = args.budget - (time.monotonic() - start)
        if s.when and not have[s.when]:
            s.status = f"skipped (no {s.when})"
        elif s.needs and s.needs not in ok and not args.dry_run:
            s.status = f"skipped (needs {s.needs})"
        elif not args.dry_run and left < 10:
            s.status = "skipped (budget spent)"
        elif not args.dry_run:
            run_stage(s, args.out, left)
            ok |= {s.name} if s.status == "ok" else set()
    report = {"created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "dry_run": args.dry_run,
              "budget_s": args.budget, "seconds": round(time.monotonic() - start, 1), "machine": machine(),
              "present": have, "plan_problems": problems,
              "stages": [{k: v for k, v in asdict(s).items() if k != "fn"} for s in stages]}
    (args.out / "gpu_check.json").write_text(json.dumps(report, indent=2) + "\n")
    text = table(stages)
    (args.out / "gpu_check.txt").write_text(text + "\n")
    print(text)
    for line in problems:
        print(f"plan problem: {line}")
    print(f"gpu_check: report -> {args.out / 'gpu_check.json'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
