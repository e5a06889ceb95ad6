"""Per-frame stage timers and run-level latency statistics (torch-free, allocation-light).

:class:`StageTimer` measures one frame as a sequence of *laps*: ``start()``, then ``lap(name)`` at the end
of every stage (the time since the previous lap is that stage's), then ``total()``. Stage names used by
the :class:`~vps.runtime.segmenter.Segmenter`: ``preprocess``, ``encoder``, ``context``, ``denoise_0`` ..
``denoise_{n-1}`` (each includes the DDIM update that prepares its input), ``decode`` (ids, clean-up and
the bits fed back to the model), ``tracking`` (track table and the maps at frame resolution), ``total``.

On GPU backends the work is asynchronous: without a ``sync`` callable a lap measures how long the host
took to *launch* the stage, and the wait shows up in the first stage that reads a result back (``decode``).
Pass the backend's synchronize as ``sync`` for exact per-stage device times (it costs throughput).

:class:`StageStats` accumulates many frames for the summary line of ``vps-run`` (median and p90 per stage
over a bounded window of recent frames, so a stream of any length keeps constant memory).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping

import numpy as np

TOTAL = "total"


class StageTimer:
    """Lap timer for one frame's stages, in milliseconds (``time.perf_counter``)."""

    def __init__(self, sync: Callable[[], None] | None = None) -> None:
        self.sync = sync
        self._start = 0.0
        self._last = 0.0
        self.laps: dict[str, float] = {}

    def start(self) -> None:
        """Begin a frame (forgets the previous frame's laps)."""
        if self.sync is not None:
            self.sync()
        self.laps = {}
        self._start = self._last = time.perf_counter()

    def lap(self, name: str) -> float:
        """End stage ``name`` now; returns its duration in ms (a repeated name accumulates)."""
        if self.sync is not None:
            self.sync()
        now = time.perf_counter()
        ms = (now - self._last) * 1e3
        self.laps[name] = self.laps.get(name, 0.0) + ms
        self._last = now
        return ms

    def total(self) -> dict[str, float]:
        """The laps plus ``total`` (start to now), as a new dict."""
        out = dict(self.laps)
        out[TOTAL] = (time.perf_counter() - self._start) * 1e3
        return out


class StageStats:
    """Per-stage latency samples of the last ``window`` frames; medians for the run summary."""

    def __init__(self, window: int = 100_000) -> None:
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        self.window = window
        self.frames = 0
        self._samples: dict[str, deque[float]] = {}

    def add(self, timings: Mapping[str, float]) -> None:
        """Record one frame's ``{stage: ms}``."""
        self.frames += 1
        for name, ms in timings.items():
            self._samples.setdefault(name, deque(maxlen=self.window)).append(float(ms))

    @property
    def stages(self) -> list[str]:
        """Stage names in first-seen order (``total`` last)."""
        names = [n for n in self._samples if n != TOTAL]
        return names + ([TOTAL] if TOTAL in self._samples else [])

    def quantile(self, name: str, q: float) -> float:
        return float(np.quantile(np.fromiter(self._samples[name], np.float64), q))

    def medians(self) -> dict[str, float]:
        """``{stage: median ms}`` over the window."""
        return {n: self.quantile(n, 0.5) for n in self.stages}

    def summary(self) -> dict[str, dict[str, float]]:
        """``{stage: {"median": ms, "p90": ms, "frames": n}}`` (for JSON reports)."""
        return {n: {"median": self.quantile(n, 0.5), "p90": self.quantile(n, 0.9),
                    "frames": float(len(self._samples[n]))} for n in self.stages}

    def format_line(self, skip: Iterable[str] = ()) -> str:
        """One line ``median ms per frame: preprocess 1.2 | encoder 8.0 | ... | total 40.1``."""
        skip = set(skip)
        parts = [f"{n} {ms:.1f}" for n, ms in self.medians().items() if n not in skip]
        return f"median ms per frame over {min(self.frames, self.window)} frames: " + " | ".join(parts)
