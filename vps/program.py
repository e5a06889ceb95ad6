"""The frame program: what one frame of a model family runs, as data shared by model, export and runtime.

A :class:`FrameProgram` is everything the runtime's frame engine (:class:`vps.runtime.Segmenter`) needs
to know about a model beyond its graphs: the model family (which graphs, in which order, what state is
carried between frames: :mod:`vps.runtime.family`), how a camera frame becomes the network input, the
mask size, the class metadata and analog-bit layout, the post-processing thresholds, and the family's own
plan: the exact denoising plans of Pix2Seq-D (:class:`SamplerPlan`) or the kernels and the fusion and
association settings of Video K-Net (:class:`KernelPlan`). Each family has exactly its own plan
(:data:`FAMILY_PLANS`).

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
FAMILY_PLANS = {"pix2seq_d": "sampler", "video_knet": "kernels"}  # family -> the FrameProgram field it needs


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
class KernelPlan:
    """Video K-Net's kernels (sizes of the ``knet_frame`` graph's carried input) and the runtime's panoptic
    fusion and association settings (:mod:`vps.runtime.knet_fusion`, :mod:`vps.runtime.knet_tracks`).

    Kernel ``k < num_things`` is a thing kernel (proposal), kernel ``num_things + s`` the stuff kernel of
    class ``stuff_classes[s]``.
    """

    num_things: int  # N thing kernels (proposals)
    num_kernels: int  # K = N + S (one stuff kernel per stuff class)
    kernel_dim: int  # E: channels of a kernel (prev_kernels [1, K, E])
    embed_dim: int  # D: tracking embedding of a thing kernel
    stuff_classes: tuple[int, ...]  # class id of stuff kernel s, in kernel order
    score_threshold: float  # fusion: thing kernels whose best thing-class score is below are dropped
    mask_threshold: float  # fusion: mask probability above which a pixel belongs to a kernel's mask
    overlap_threshold: float  # fusion: share of a thing's mask that must still be free for it to be kept
    match_threshold: float  # association: bi-softmax similarity needed to continue a track
    memory_frames: int  # association: a track unseen for this many frames is forgotten
    memory_momentum: float  # association: memory embedding <- m * memory + (1 - m) * new
    # association: similarity logits are embedding dot products / temperature, the temperature the tracking
    # embeddings were trained with (vps.model.knet.losses.track_loss; L2-normalised embeddings)
    temperature: float = 0.1

    def __post_init__(self) -> None:
        if min(self.num_things, self.kernel_dim, self.embed_dim, self.memory_frames) < 1:
            raise ValueError("kernel plan: num_things, kernel_dim, embed_dim and memory_frames must be >= 1")
        if self.num_kernels != self.num_things + len(self.stuff_classes):
            raise ValueError(f"kernel plan: num_kernels ({self.num_kernels}) must be num_things "
                             f"({self.num_things}) + one per stuff class ({len(self.stuff_classes)})")
        if not self.stuff_classes or len(set(self.stuff_classes)) != len(self.stuff_classes):
            raise ValueError(f"kernel plan: stuff_classes must be distinct and non-empty, got "
                             f"{self.stuff_classes}")
        for name in ("score_threshold", "mask_threshold", "overlap_threshold", "match_threshold"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"kernel plan: {name} must lie in [0, 1], got {getattr(self, name)}")
        if not self.temperature > 0.0:
            raise ValueError(f"kernel plan: temperature must be > 0, got {self.temperature}")
        if not 0.0 <= self.memory_momentum < 1.0:
            raise ValueError(f"kernel plan: memory_momentum must lie in [0, 1), got {self.memory_momentum}")


@dataclass(frozen=True)
class FrameProgram:
    """What the frame engine runs for one model (see the module docstring)."""

    family: str  # model family: a key of vps.runtime.family.FAMILIES
    preset: str  # the training preset's name
    meta: DatasetMeta
    layout: BitLayout
    input_size: tuple[int, int]  # (H, W) of the network input
    mean: tuple[float, float, float]  # per channel, in [0, 1] pixel units, in `channel_order`
    std: tuple[float, float, float]
    channel_order: str  # channel order the network input expects: rgb | bgr
    resize_mode: str  # stretch | letterbox: how a frame of another size is fitted to input_size
    mask_size: tuple[int, int]  # (h, w) of the predicted masks
    sampler: SamplerPlan | None  # pix2seq_d: the denoising plans (None for other families)
    min_instance_area: int  # post-processing: smaller instances lose their id (mask pixels)
    min_part_area: int  # post-processing: detached instance parts this big become instances (0 = off)
    kernels: KernelPlan | None = None  # video_knet: kernels, fusion and association (None for others)

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
        self._check_plan()

    def _check_plan(self) -> None:
        """A known family has exactly its own plan (:data:`FAMILY_PLANS`); Video K-Net's stuff kernels are
        stuff classes of the metadata."""
        need = FAMILY_PLANS.get(self.family)
        if need is None:
            return  # the runtime's family registry refuses an unknown family with the list of known ones
        for name in set(FAMILY_PLANS.values()):
            have = getattr(self, name) is not None
            if have != (name == need):
                raise ValueError(f"family {self.family!r} needs {need} and no other plan, but {name} is "
                                 f"{'set' if have else 'missing'}")
        if self.kernels is not None:
            bad = sorted(set(self.kernels.stuff_classes) - set(self.meta.stuff_ids))
            if bad:
                raise ValueError(f"kernel plan: stuff_classes {bad} are not stuff classes of "
                                 f"{self.meta.name}")

    @property
    def step_counts(self) -> tuple[int, int] | None:
        """``(cold, warm)`` denoiser calls per frame, or ``None`` for a family without a step plan (Video
        K-Net: one graph call per frame)."""
        return None if self.sampler is None else (self.sampler.cold.steps, self.sampler.warm.steps)

    def with_postprocess(self, min_instance_area: int | None = None,
                         min_part_area: int | None = None) -> FrameProgram:
        """This program with other post-processing thresholds (``None`` keeps the program's)."""
        changes = {k: int(v) for k, v in (("min_instance_area", min_instance_area),
                                          ("min_part_area", min_part_area)) if v is not None}
        return replace(self, **changes) if changes else self
