"""Stage clocks for the benchmark's own pipelines (the naive baseline): laps per frame, in milliseconds.

* CPU: :class:`vps.runtime.timing.StageTimer` (the runtime's lap timer on ``time.perf_counter``, a
  monotonic clock), so the baseline and the deployed pipeline are timed by the same code.
* CUDA: :class:`CudaEventClock` records a CUDA event at every stage boundary and synchronises once at the
  end of the frame, so the stages are measured on the device's timeline without a sync per stage (a sync
  per stage would serialise launches and inflate the total).

Both give ``{stage: ms, ..., "total": ms}`` per frame, where the stages add up to the total (a lap ends
where the next begins, so work between stages is counted in the following stage).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from vps.runtime.timing import TOTAL, StageTimer


class StageClock(Protocol):
    def begin_frame(self) -> None: ...

    def stage(self, name: str) -> Any: ...

    def end_frame(self) -> dict[str, float]: ...


class LapClock:
    """Host clock: the runtime's :class:`StageTimer` behind the :class:`StageClock` interface."""

    def __init__(self) -> None:
        self.timer = StageTimer()

    def begin_frame(self) -> None:
        self.timer.start()

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        yield
        self.timer.lap(name)

    def end_frame(self) -> dict[str, float]:
        return self.timer.total()


class CudaEventClock:
    """Device clock: one ``torch.cuda.Event`` per stage boundary, one synchronisation per frame."""

    def __init__(self, device: Any) -> None:
        import torch

        self.torch = torch
        self.device = device
        self.marks: list[tuple[str, Any]] = []

    def _event(self) -> Any:
        ev = self.torch.cuda.Event(enable_timing=True)
        ev.record(self.torch.cuda.current_stream(self.device))
        return ev

    def begin_frame(self) -> None:
        self.marks = [("", self._event())]

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        yield
        self.marks.append((name, self._event()))

    def end_frame(self) -> dict[str, float]:
        end = self._event()
        end.synchronize()
        out: dict[str, float] = {}
        for (_, a), (name, b) in zip(self.marks, self.marks[1:], strict=False):
            out[name] = out.get(name, 0.0) + float(a.elapsed_time(b))
        out[TOTAL] = float(self.marks[0][1].elapsed_time(end))
        return out


def make_clock(device: Any) -> StageClock:
    """:class:`CudaEventClock` for a CUDA device, :class:`LapClock` otherwise."""
    if getattr(device, "type", str(device)) == "cuda":
        return CudaEventClock(device)
    return LapClock()
