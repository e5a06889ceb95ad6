"""Latency benchmarks a deployment engineer can trust (``vps-bench``).

The deployed pipeline (exported graphs through :class:`vps.runtime.segmenter.Segmenter`: reduced steps,
warm start, kernels) and the naive PyTorch pipeline a researcher would run (the same frame engine
configured as torch eager fp32, 100 DDIM steps from noise every frame: :mod:`vps.bench.deployed`) stream
the same clip in alternating blocks of frames, so machine noise hits both alike; per-stage latency
percentiles, FPS, peak memory and the STQ of each against the clip's ground truth are reported together.
Several export folders of any model family run side by side the same way (:mod:`~vps.bench.compare`).

Modules: :mod:`~vps.bench.stats` (percentiles), :mod:`~vps.bench.memory` (peak host / device memory),
:mod:`~vps.bench.deployed` (both pipelines), :mod:`~vps.bench.inputs` (clips), :mod:`~vps.bench.runner`
(interleaving, STQ), :mod:`~vps.bench.report` (table, JSON), :mod:`~vps.bench.plot` (PNG),
:mod:`~vps.bench.compare` (several exports: checks, tables, markdown), :mod:`~vps.bench.cli`.
"""

from vps.bench.stats import LatencyStats, StageSeries, summarize

__all__ = ["LatencyStats", "StageSeries", "summarize"]
