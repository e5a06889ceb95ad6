"""The model-family seam of the frame engine: what a family's frame program is, and the registry.

The frame engine (:class:`vps.runtime.Segmenter`) owns everything common to every model: preparing the
camera frame, post-processing the decoded ids, the stream state, tracking and the frame-resolution result.
A model family owns what differs: which graphs a frame runs, in which order, and what it carries from one
frame to the next (Pix2Seq-D: the bits of the two previous predictions and the warm-start sample,
:mod:`vps.runtime.pix2seq_d`; Video K-Net: the previous frame's kernels and a memory of recent tracks,
:mod:`vps.runtime.video_knet`). The manifest's ``program.family`` names the family.

A family calls its graphs through :class:`GraphCalls`, never the backend directly, so stage timing and the
engine's hooks (export verification's teacher forcing, int8 calibration's recording) see every call
without wrapping the backend. Torch-free.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from vps.program import FrameProgram
from vps.runtime.backends.base import Backend
from vps.runtime.timing import StageTimer

# A hook sees every graph call after it ran: (graph name, its inputs in call order, its outputs).
GraphHook = Callable[[str, tuple[Any, ...], Any], None]


class GraphCalls:
    """Runs a backend's graphs for a family: laps the stage timer and tells the hooks after each call."""

    def __init__(self, backend: Backend, timer: StageTimer, hooks: list[GraphHook] | None = None) -> None:
        self.backend, self.timer = backend, timer
        self.hooks: list[GraphHook] = [] if hooks is None else hooks

    def __call__(self, graph: str, *inputs: Any, stage: str | None = None) -> list[Any]:
        """``backend.run(graph, *inputs)`` (outputs in the graph's order); the timer laps ``stage`` (default:
        the graph name), then every hook sees the call."""
        out = self.backend.run(graph, *inputs)
        self.timer.lap(stage or graph)
        for hook in self.hooks:
            hook(graph, inputs, out)
        return out


class FrameModel(ABC):
    """One model family's frame program (see the module docstring).

    ``carry`` is the family's own state object (:meth:`new_carry`), held by the engine in
    :attr:`vps.runtime.state.StreamState.carry` and replaced at every new sequence.
    """

    family: ClassVar[str]
    graphs: ClassVar[tuple[str, ...]]  # the graphs a frame runs, in order

    def __init__(self, program: FrameProgram, calls: GraphCalls, seed: int = 0,
                 warm_start: bool = True) -> None:
        self.program, self.calls, self.seed, self.warm_start = program, calls, int(seed), bool(warm_start)

    @abstractmethod
    def new_carry(self) -> Any:
        """The state of a new sequence (nothing seen yet); also restarts any seeded randomness."""

    @abstractmethod
    def warm(self, carry: Any) -> bool:
        """Whether the next frame runs the warm-start plan."""

    @abstractmethod
    def infer(self, x: np.ndarray, carry: Any) -> Any:
        """Decoded ids ``int32 [1, h, w]`` (backend arrays) of one input ``float32 [1, 3, H, W]``."""

    @abstractmethod
    def observe(self, ids: np.ndarray, carry: Any) -> None:
        """Carry this frame's cleaned ids ``int32 [h, w]`` (host) to the next frame."""


FAMILIES: dict[str, str] = {  # name -> "module:class"
    "pix2seq_d": "vps.runtime.pix2seq_d:Pix2SeqDFrame",
    "video_knet": "vps.runtime.video_knet:VideoKNetFrame",
}


def family_class(name: str) -> type[FrameModel]:
    """The :class:`FrameModel` of a manifest's ``program.family`` (``ValueError`` for an unknown one)."""
    target = FAMILIES.get(name)
    if target is None:
        raise ValueError(f"unknown model family {name!r}; this runtime runs {sorted(FAMILIES)}")
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)
