"""Export contracts: one class per sub-network saying exactly what its graph takes and returns.

Like the per-model classes of NVIDIA's TensorRT diffusion demo, each contract knows its input/output names,
their shapes with named dynamic axes, a sample input for tracing, the ``torch.export`` dynamic shapes and
the min/opt/max shape profile TensorRT needs:

* :class:`EncoderContract` ``image [B, 3, H, W] -> feats [B, C, H/s, W/s]`` (once per frame);
* :class:`ContextContract` ``cond [B, 32, H/s, W/s], feats -> ctx_i [B, c_i, H/(s 2^i), W/(s 2^i)]``
  (once per frame: the denoiser's per-frame half, so the ``steps`` denoiser calls do not redo it);
* :class:`DenoiserStepContract` ``x_t [B, 16, H/s, W/s], ctx_0..ctx_{L-1}, gamma [B], coef [B, 2]``
  ``-> x_next [B, 16, H/s, W/s]`` (every step but the last: the noise level and the step plan's DDIM
  coefficients are inputs; the bit expectation and the DDIM move run inside the graph);
* :class:`DenoiserFinalContract` ``x_t, ctx_0..ctx_{L-1}, gamma -> ids int32 [B, H/s, W/s]`` (the last step:
  argmax per byte inside the graph). Both read only the values the model predicts (:mod:`vps.model.fused`).

Dynamic axes: the batch ``B`` and the input size ``H x W`` (any multiple of :attr:`ModelGeometry.multiple`,
which keeps every U-Net level's size an exact fraction of the input). Spatial axes are written
``height``, ``height/2``, ... in the manifest. Names come from :mod:`vps.runtime.backends.base`.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

from vps.runtime.backends.base import (
    COEF,
    COND,
    CONTEXT,
    DENOISER_FINAL,
    DENOISER_STEP,
    ENCODER,
    FEATS,
    GAMMA,
    HAS_PREV,
    IDS,
    IMAGE,
    X_NEXT,
    X_T,
    ctx_names,
)
from vps.runtime.manifest import ShapeProfile, TensorSpec

BATCH = "batch"
MAX_BATCH = 1024
MAX_SIDE = 8192  # largest input height/width the dynamic axes allow


@dataclass(frozen=True)
class Sym:
    """A spatial axis: the input ``height`` or ``width`` divided by ``div``."""

    axis: str
    div: int = 1

    @property
    def label(self) -> str:
        return self.axis if self.div == 1 else f"{self.axis}/{self.div}"


Shape = tuple[int | str | Sym, ...]


class SizeRules(ABC):
    """Input-size rules shared by every family's geometry: sides are positive multiples of ``multiple``
    (at most :data:`MAX_SIDE`) and masks are the input divided by ``mask_stride``."""

    image_size: tuple[int, int]
    mask_stride: int

    @property
    @abstractmethod
    def multiple(self) -> int:
        """What both input sides must be a multiple of (the family's total downsampling)."""

    def check_size(self, hw: tuple[int, int]) -> tuple[int, int]:
        """``hw`` if both sides are positive multiples of :attr:`multiple`, else ``ValueError``."""
        h, w = (int(v) for v in hw)
        m = self.multiple
        if h <= 0 or w <= 0 or h % m or w % m or max(h, w) > MAX_SIDE:
            raise ValueError(f"input size {h}x{w}: both sides must be positive multiples of {m} "
                             f"(and at most {MAX_SIDE}) for this model")
        return h, w

    def mask_size(self, hw: tuple[int, int]) -> tuple[int, int]:
        h, w = self.check_size(hw)
        return h // self.mask_stride, w // self.mask_stride


@dataclass(frozen=True)
class ModelGeometry(SizeRules):
    """The sizes a Pix2SeqD network implies (enough to describe its graphs without torch)."""

    image_size: tuple[int, int]
    mask_stride: int
    feat_dim: int
    ctx_channels: tuple[int, ...]  # channels of each U-Net level
    num_bits: int = 16
    cond_frames: int = 2

    @classmethod
    def from_model(cls, model: Any) -> ModelGeometry:
        """Geometry of a :class:`vps.model.Pix2SeqD`."""
        return cls(tuple(model.image_size), int(model.mask_stride), int(model.encoder.out_dim),
                   tuple(int(c) for c in model.denoiser.channels), int(model.layout.num_bits))

    @property
    def levels(self) -> int:
        return len(self.ctx_channels)

    @property
    def multiple(self) -> int:
        """Input sides must be multiples of this (stride-16 backbone, U-Net levels at the mask stride)."""
        return math.lcm(16, self.mask_stride * 2 ** (self.levels - 1))


class GraphContract(ABC):
    """Base: the graph's tensors as symbolic shapes; everything else derives from them."""

    name: ClassVar[str]
    output_dtypes: ClassVar[dict[str, str]] = {}  # outputs that are not float32

    def __init__(self, geometry: Any) -> None:
        self.geometry = geometry  # the family's geometry (ModelGeometry, KNetGeometry): its SizeRules

    @abstractmethod
    def inputs(self) -> tuple[tuple[str, Shape], ...]:
        ...

    @abstractmethod
    def outputs(self) -> tuple[tuple[str, Shape], ...]:
        ...

    @abstractmethod
    def wrapper(self, model: Any) -> Any:
        """A ``torch.nn.Module`` whose ``forward`` takes the inputs positionally and returns the outputs."""

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(n for n, _ in self.inputs())

    @property
    def output_names(self) -> tuple[str, ...]:
        return tuple(n for n, _ in self.outputs())

    # ---- concrete and symbolic shapes --------------------------------------------------------------
    @staticmethod
    def concrete(shape: Shape, batch: int, hw: tuple[int, int]) -> tuple[int, ...]:
        """``shape`` at batch size ``batch`` and input size ``hw``."""
        out = []
        for d in shape:
            if d == BATCH:
                out.append(batch)
            elif isinstance(d, Sym):
                out.append(hw[0 if d.axis == "height" else 1] // d.div)
            else:
                out.append(int(d))
        return tuple(out)

    def input_shapes(self, batch: int, hw: tuple[int, int]) -> dict[str, tuple[int, ...]]:
        hw = self.geometry.check_size(hw)
        return {n: self.concrete(s, batch, hw) for n, s in self.inputs()}

    def tensor_specs(self) -> tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...]]:
        """(inputs, outputs) as manifest :class:`TensorSpec` (dynamic axes named; float32 unless the contract
        says otherwise, e.g. the final step's int32 ids)."""
        def spec(name: str, shape: Shape) -> TensorSpec:
            dims = tuple(d.label if isinstance(d, Sym) else d for d in shape)
            return TensorSpec(name, dims, self.output_dtypes.get(name, "float32"))

        return tuple(spec(*t) for t in self.inputs()), tuple(spec(*t) for t in self.outputs())

    def profiles(self, batch_sizes: tuple[int, int, int], hw: tuple[int, int]) -> dict[str, ShapeProfile]:
        """TensorRT optimisation profile of every input: batch min/opt/max, the input size fixed at ``hw``."""
        bmin, bopt, bmax = batch_sizes
        hw = self.geometry.check_size(hw)
        return {n: ShapeProfile(self.concrete(s, bmin, hw), self.concrete(s, bopt, hw),
                                self.concrete(s, bmax, hw)) for n, s in self.inputs()}

    # ---- torch.export ------------------------------------------------------------------------------
    def trace_size(self) -> tuple[int, int]:
        """An input size to trace at: the model's, doubled if a side would make some level size 1.

        (``torch.export`` specialises axes whose sample size is 0 or 1.)
        """
        m = self.geometry.multiple
        h, w = self.geometry.check_size(self.geometry.image_size)
        return (h if h // m >= 2 else 2 * m), (w if w // m >= 2 else 2 * m)

    def sample_inputs(self, batch: int = 2, hw: tuple[int, int] | None = None,
                      seed: int = 0) -> tuple[Any, ...]:
        """Random float32 tensors of the input shapes (batch 2 by default: batch 1 would be specialised);
        uniform in [0, 1) for noise levels, coefficients and flags, standard normal otherwise."""
        import torch

        gen = torch.Generator().manual_seed(seed)
        shapes = self.input_shapes(batch, hw or self.trace_size())
        return tuple(torch.rand(shapes[n], generator=gen) if n in (GAMMA, COEF, HAS_PREV)
                     else torch.randn(shapes[n], generator=gen) for n in self.input_names)

    def dynamic_shapes(self) -> tuple[Any, ...]:
        """``torch.export`` dynamic shapes, positional (the wrappers take ``*args`` after the first input)."""
        from torch.export import Dim

        m = self.geometry.multiple
        batch = Dim(BATCH, min=1, max=MAX_BATCH)
        kh, kw = Dim("kh", min=1, max=MAX_SIDE // m), Dim("kw", min=1, max=MAX_SIDE // m)

        def axes(shape: Shape) -> dict[int, Any]:
            out: dict[int, Any] = {}
            for i, d in enumerate(shape):
                if d == BATCH:
                    out[i] = batch
                elif isinstance(d, Sym):
                    out[i] = (m // d.div) * (kh if d.axis == "height" else kw)
            return out

        specs = [axes(s) for _, s in self.inputs()]
        return (specs[0], tuple(specs[1:])) if len(specs) > 1 else (specs[0],)


class EncoderContract(GraphContract):
    name = ENCODER

    def inputs(self) -> tuple[tuple[str, Shape], ...]:
        return ((IMAGE, (BATCH, 3, Sym("height"), Sym("width"))),)

    def outputs(self) -> tuple[tuple[str, Shape], ...]:
        s = self.geometry.mask_stride
        return ((FEATS, (BATCH, self.geometry.feat_dim, Sym("height", s), Sym("width", s))),)

    def wrapper(self, model: Any) -> Any:
        return _graph_module(model, ENCODER)


class ContextContract(GraphContract):
    name = CONTEXT

    def inputs(self) -> tuple[tuple[str, Shape], ...]:
        g, s = self.geometry, self.geometry.mask_stride
        hs, ws = Sym("height", s), Sym("width", s)
        return ((COND, (BATCH, g.cond_frames * g.num_bits, hs, ws)), (FEATS, (BATCH, g.feat_dim, hs, ws)))

    def outputs(self) -> tuple[tuple[str, Shape], ...]:
        g, s = self.geometry, self.geometry.mask_stride
        return tuple((n, (BATCH, c, Sym("height", s * 2**i), Sym("width", s * 2**i)))
                     for i, (n, c) in enumerate(zip(ctx_names(g.levels), g.ctx_channels, strict=True)))

    def wrapper(self, model: Any) -> Any:
        return _graph_module(model, CONTEXT)


class DenoiserStepContract(GraphContract):
    name = DENOISER_STEP

    def inputs(self) -> tuple[tuple[str, Shape], ...]:
        s = self.geometry.mask_stride
        x = ((X_T, (BATCH, self.geometry.num_bits, Sym("height", s), Sym("width", s))),)
        return x + ContextContract(self.geometry).outputs() + ((GAMMA, (BATCH,)), (COEF, (BATCH, 2)))

    def outputs(self) -> tuple[tuple[str, Shape], ...]:
        s = self.geometry.mask_stride
        return ((X_NEXT, (BATCH, self.geometry.num_bits, Sym("height", s), Sym("width", s))),)

    def wrapper(self, model: Any) -> Any:
        from vps.model.fused import DenoiserStep

        return DenoiserStep(model).eval()


class DenoiserFinalContract(GraphContract):
    name = DENOISER_FINAL
    output_dtypes: ClassVar[dict[str, str]] = {IDS: "int32"}

    def inputs(self) -> tuple[tuple[str, Shape], ...]:
        return DenoiserStepContract(self.geometry).inputs()[:-1]  # no DDIM move after the last step

    def outputs(self) -> tuple[tuple[str, Shape], ...]:
        s = self.geometry.mask_stride
        return ((IDS, (BATCH, Sym("height", s), Sym("width", s))),)

    def wrapper(self, model: Any) -> Any:
        from vps.model.fused import DenoiserFinal

        return DenoiserFinal(model).eval()


CONTRACTS: tuple[type[GraphContract], ...] = (EncoderContract, ContextContract, DenoiserStepContract,
                                              DenoiserFinalContract)


def contracts_for(geometry: ModelGeometry) -> tuple[GraphContract, ...]:
    """The four contracts, in pipeline order (encoder, context, denoiser_step, denoiser_final)."""
    return tuple(c(geometry) for c in CONTRACTS)


def _graph_module(model: Any, which: str) -> Any:
    """``nn.Module`` running the encoder or the context of ``model`` on positional tensors."""
    from torch import nn

    class Encoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, image: Any) -> Any:
            return self.model.encode(image)

    class Context(Encoder):
        def forward(self, cond: Any, *rest: Any) -> Any:  # rest = (feats,)
            return tuple(self.model.context(cond, rest[0]))

    return {ENCODER: Encoder, CONTEXT: Context}[which]().eval()
