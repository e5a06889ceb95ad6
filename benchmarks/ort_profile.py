"""ONNX Runtime's profile of one exported graph: where a call's time goes, summed per operator type.

    python benchmarks/ort_profile.py exports/tiny/denoiser_step.onnx [--runs 20] [--threads 1] [--top 12]

Runs the graph ``--runs`` times on random inputs of its own shapes (dynamic axes: batch 1 and the sizes in
the export folder's ``manifest.json`` next to the graph) with ONNX Runtime's profiler on, and prints the
mean time per call of each operator type (kernel time as the profiler records it), its share, and the node
count: the view used to find the non-convolution work of the denoiser (issue 15, ``benchmarks/README.md``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vps.bench.floor import _concrete  # noqa: E402
from vps.runtime.manifest import load_manifest  # noqa: E402


def input_feeds(graph: Path) -> dict[str, np.ndarray]:
    """Random float32 inputs at the shapes the manifest beside ``graph`` gives it (batch 1)."""
    manifest = load_manifest(graph.parent, verify=False)
    spec = next(g for g in manifest.graphs if Path(g.file).stem == graph.stem)
    rng = np.random.default_rng(0)
    hw = manifest.program.input_size
    feeds = {t.name: rng.standard_normal(_concrete(t.shape, hw)).astype(np.float32) for t in spec.inputs}
    for name in ("gamma", "coef"):
        if name in feeds:
            feeds[name] = np.abs(feeds[name]) % 1.0
    return feeds


def profile(graph: Path, runs: int, threads: int) -> dict[str, tuple[float, int]]:
    """Operator type -> (mean microseconds per call, nodes of that type that ran)."""
    import onnxruntime as ort

    with tempfile.TemporaryDirectory() as tmp:
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.enable_profiling = True
        opts.profile_file_prefix = str(Path(tmp) / "prof")
        session = ort.InferenceSession(str(graph), opts, providers=["CPUExecutionProvider"])
        feeds = input_feeds(graph)
        for _ in range(runs):  # the first call (allocations) is in the mean: run enough of them
            session.run(None, feeds)
        events = json.loads(Path(session.end_profiling()).read_text())
    totals: dict[str, float] = defaultdict(float)
    nodes: dict[str, set[str]] = defaultdict(set)
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            op = e.get("args", {}).get("op_name", "?")
            totals[op] += float(e["dur"])
            nodes[op].add(e["name"])
    return {op: (us / runs, len(nodes[op])) for op, us in totals.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("graph", type=Path, help="an ONNX graph inside an export folder")
    p.add_argument("--runs", type=int, default=20, help="profiled calls (default 20)")
    p.add_argument("--threads", type=int, default=1, help="intra-op threads (default 1)")
    p.add_argument("--top", type=int, default=12, help="operator types to print (default 12)")
    args = p.parse_args(argv)
    if not args.graph.is_file():
        print(f"ort_profile: error: {args.graph}: no such graph", file=sys.stderr)
        return 2
    stats = profile(args.graph, args.runs, args.threads)
    total = sum(us for us, _ in stats.values())
    print(f"{args.graph}: {total / 1e3:.2f} ms of kernel time per call ({args.runs} calls, "
          f"{args.threads} thread)")
    print(f"{'op':<24}{'ms/call':>9}{'share':>8}{'nodes':>7}")
    for op, (us, n) in sorted(stats.items(), key=lambda kv: -kv[1][0])[:args.top]:
        print(f"{op:<24}{us / 1e3:>9.2f}{us / total:>8.1%}{n:>7}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
