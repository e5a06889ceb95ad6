"""The frame program: what one frame of a model family runs, as data shared by model, export and runtime.

A :class:`FrameProgram` is everything the runtime's frame engine (:class:`vps.runtime.Segmenter`) needs
to know about a model beyond its graphs: the model family (which graphs, in which order, what state is
carried between frames: :mod:`vps.runtime.families`), how a camera frame becomes the network input, the
mask size, the class metadata and analog-bit layout, the post-processing thresholds, and the exact
denoising plans.

A :class:`StepPlan` is one frame's denoiser calls, precomputed by the model's sampler
(:meth:`vps.model.samplers.DDIMSampler.plan`): the signal level ``gamma`` fed to each call and the DDIM
move ``x <- a * x0 + b * x`` after it, plus the signal level of the start sample (``None``: pure noise).
``steps`` means one thing everywhere: the number of denoiser calls of a frame. The runtime does no schedule
algebra; what the exporter verified is what the runtime runs.

The same objects come from a checkpoint (:func:`vps.model.program.frame_program`, for vps-predict, training
evaluation and the benchmark's baseline) and from an export folder (``manifest.json``, read with the typed
loader :func:`vps.config.from_dict`). Torch-free.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from vps.bits import BitLayout
from vps.data.meta import DatasetMeta

RESIZE_MODES = ("stretch", "letterbox")
CHANNEL_ORDERS = ("rgb", "bgr")


@dataclass(frozen=True)
class StepPlan:
    """One frame's denoiser calls: ``gammas[i]`` per call, ``coefficients[i] = (a, b)`` for the move after it.

    ``times[i] = (t_now, t_next)`` are recorded for reading only. The move after the last call is never
    applied (its prediction is the result), but is kept so every list has one entry per call.
    """

    times: tuple[tuple[float, float], ...]
    gammas: tuple[float, ...]
    coefficients: tuple[tuple[float, float], ...]
    start_gamma: float | None = None  # signal level of the start sample; None = pure noise (cold start)

    def __post_init__(self) -> None:
        if not self.gammas:
            raise ValueError("step plan: no denoiser calls")
        if not len(self.times) == len(self.gammas) == len(self.coefficients):
            raise ValueError(f"step plan: times, gammas and coefficients need one entry per call "
                             f"({len(self.times)}, {len(self.gammas)}, {len(self.coefficients)})")
        values = [v for pair in self.times for v in pair] + list(self.gammas)
        if self.start_gamma is not None:
            values.append(self.start_gamma)
        if any(not 0.0 <= v <= 1.0 for v in values):
            raise ValueError("step plan: times and gammas must lie in [0, 1]")

    @property
    def steps(self) -> int:
        """Number of denoiser calls."""
        return len(self.gammas)


@dataclass(frozen=True)
class SamplerPlan:
    """The cold plan (first frame of a sequence, from noise) and the warm plan (later frames, from the
    previous prediction noised to ``warm_start_time``), with the recipe they were computed from."""

    sampler: str  # e.g. "ddim"
    schedule: str  # noise schedule, e.g. "cosine"
    td: float  # time difference used to build the time pairs
    warm_start_time: float
    cold: StepPlan
    warm: StepPlan
    # timestep spacing the plans were built with (vps.model.samplers.SPACINGS); manifests written before
    # the option existed used the td trick
    spacing: str = "td"

    def __post_init__(self) -> None:
        if self.cold.start_gamma is not None:
            raise ValueError("sampler plan: the cold plan starts from pure noise (start_gamma null)")
        if self.warm.start_gamma is None:
            raise ValueError("sampler plan: the warm plan needs start_gamma")


@dataclass(frozen=True)
class FrameProgram:
    """What the frame engine runs for one model (see the module docstring)."""

    family: str  # model family: a key of vps.runtime.families.FAMILIES
    preset: str  # the training preset's name
    meta: DatasetMeta
    layout: BitLayout
    input_size: tuple[int, int]  # (H, W) of the network input
    mean: tuple[float, float, float]  # per channel, in [0, 1] pixel units, in `channel_order`
    std: tuple[float, float, float]
    channel_order: str  # channel order the network input expects: rgb | bgr
    resize_mode: str  # stretch | letterbox: how a frame of another size is fitted to input_size
    mask_size: tuple[int, int]  # (h, w) of the predicted masks
    sampler: SamplerPlan
    min_instance_area: int  # post-processing: smaller instances lose their id (mask pixels)
    min_part_area: int  # post-processing: detached instance parts this big become instances (0 = off)

    def __post_init__(self) -> None:
        for name, hw in (("input_size", self.input_size), ("mask_size", self.mask_size)):
            if len(hw) != 2 or min(hw) <= 0:
                raise ValueError(f"{name} must be two positive ints (H, W), got {hw}")
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            raise ValueError(f"mean/std must hold 3 values with std > 0, got {self.mean} {self.std}")
        if self.resize_mode not in RESIZE_MODES:
            raise ValueError(f"resize_mode {self.resize_mode!r} not one of {RESIZE_MODES}")
        if self.channel_order not in CHANNEL_ORDERS:
            raise ValueError(f"channel_order {self.channel_order!r} not one of {CHANNEL_ORDERS}")
        if self.min_instance_area < 0 or self.min_part_area < 0:
            raise ValueError(f"min_instance_area and min_part_area must be >= 0, got "
                             f"{self.min_instance_area} and {self.min_part_area}")

    def with_postprocess(self, min_instance_area: int | None = None,
                         min_part_area: int | None = None) -> FrameProgram:
        """This program with other post-processing thresholds (``None`` keeps the program's)."""
        changes = {k: int(v) for k, v in (("min_instance_area", min_instance_area),
                                          ("min_part_area", min_part_area)) if v is not None}
        return replace(self, **changes) if changes else self
