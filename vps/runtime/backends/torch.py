"""PyTorch backend: runs a model family's graphs on its module (imported lazily): a
:class:`vps.model.Pix2SeqD`'s sub-networks, or a Video K-Net's ``forward`` as its one graph ``knet_frame``.

With ``cuda_graph`` (default on CUDA when opened from a checkpoint) a model family's whole frame is
captured as CUDA graphs (:meth:`TorchBackend.frame_graphs`). The reference the exporter verifies artifacts
against, the naive baseline of ``vps-bench``, the engine of
``vps-predict`` and of training's periodic evaluation, and a fallback runtime on machines with torch. The
only runtime module that imports model code (:mod:`vps.model`, never :mod:`vps.train`). Arrays are tensors
on the module's device; ``amp_dtype`` (e.g. ``torch.bfloat16`` on a GPU) runs the networks under autocast
while inputs and outputs stay float32 (as the exported graphs' I/O).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from vps.program import FrameProgram
from vps.runtime.backends.base import check_float32

PRECISIONS = {"fp32": None, "fp16": torch.float16, "bf16": torch.bfloat16}


class TorchBackend:
    """A model's graphs (``run``) in eval mode, under ``inference_mode``."""

    name = "torch"

    def __init__(self, model: torch.nn.Module, amp_dtype: torch.dtype | None = None, cuda_graph: bool = False,
                 ops: Any = None) -> None:
        self.model = model.eval()
        self.device = next(model.parameters()).device
        self.amp_dtype = amp_dtype
        if cuda_graph and self.device.type != "cuda" and ops is None:
            raise ValueError("cuda_graph=True needs the torch backend on a CUDA device")
        self.cuda_graph, self._ops = bool(cuda_graph), ops

    def frame_graphs(self, setup: Any) -> Any:
        """With ``cuda_graph``: a :class:`~vps.runtime.backends.cuda_graph.GraphCache` for a family's whole
        frame (two warm-up runs: Triton compiles on the first); else None (eager)."""
        if not self.cuda_graph:
            return None
        from vps.runtime.backends.cuda_graph import GraphCache, TorchCudaOps

        ops = self._ops if self._ops is not None else TorchCudaOps(self.device)
        return GraphCache(setup, ops=ops, warmup=2, name="torch frame")

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str | None = None, precision: str | None = None,
                        cuda_graph: bool | None = None) -> TorchBackend:
        """The EMA weights of a training checkpoint (:func:`vps.model.checkpoint.load_for_inference`).

        ``device``: default CUDA if available; ``precision``: autocast ``fp16``/``bf16``/``fp32`` (default
        bf16 on CUDA, fp32 on the CPU); ``cuda_graph``: capture each frame's device work (default: on CUDA).
        """
        from vps.model.checkpoint import load_for_inference

        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        precision = precision or ("bf16" if device.startswith("cuda") else "fp32")
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {sorted(PRECISIONS)}, got {precision!r}")
        model, _, _ = load_for_inference(path, device)
        graphs = device.startswith("cuda") if cuda_graph is None else cuda_graph
        return cls(model, PRECISIONS[precision], graphs)

    def sync(self) -> None:
        """Wait for the device (stage timing); nothing to wait for on the CPU."""
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def _amp(self) -> Any:
        # cache off: PyTorch requires it for autocast regions that are captured into CUDA graphs
        return torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None,
                              cache_enabled=False)

    @torch.inference_mode()
    def run(self, graph: str, *inputs: Any) -> list[Any]:
        """The module's part named ``graph`` (the exported graphs' contract; :mod:`.base`) on tensors.

        The denoiser graphs are the padded 512-channel logits through :func:`vps.kernels.expected_bits` /
        :func:`vps.kernels.decode_panoptic` (Triton on CUDA, their references elsewhere): the twins of the
        exported graphs' in-graph head (:mod:`vps.model.fused`), so verification compares two implementations.
        """
        with self._amp():
            if graph == "knet_frame":  # Video K-Net: the module's forward is the frame's one graph
                return [o.float().contiguous() for o in self.model(*inputs)]  # scores, masks, embeds, kernels
            if graph == "encoder":
                return [self.model.encode(inputs[0]).float().contiguous()]  # [B, C, h, w]
            if graph == "context":
                return [c.float().contiguous() for c in self.model.context(*inputs)]
            if graph == "denoiser_step":
                x_t, ctx, gamma, coef = inputs
                x0 = self._expected_bits(self.model.denoise_step(x_t, list(ctx), gamma))  # [B, 16, h, w]
                return [x0 * coef[:, 0].view(-1, 1, 1, 1) + x_t * coef[:, 1].view(-1, 1, 1, 1)]
            if graph == "denoiser_final":
                x_t, ctx, gamma = inputs
                return [self._decode(self.model.denoise_step(x_t, list(ctx), gamma))]  # int32 [B, h, w]
        raise KeyError(f"the torch backend runs no graph {graph!r}")

    def _expected_bits(self, logits: torch.Tensor) -> torch.Tensor:
        from vps.kernels import expected_bits

        return expected_bits(logits.float(), self.model.layout.scale).float()

    def _decode(self, logits: torch.Tensor) -> torch.Tensor:
        from vps.kernels import decode_panoptic

        return decode_panoptic(logits, None, self.model.layout.label_divisor)

    def asarray(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(check_float32(array, "input")).to(self.device)

    def to_numpy(self, array: Any) -> np.ndarray:
        if isinstance(array, torch.Tensor):
            return np.ascontiguousarray(array.detach().cpu().numpy())
        return np.asarray(array)


def checkpoint_program(path: str | Path, steps: int | None = None, warm_steps: int | None = None,
                       warm_time: float | None = None) -> FrameProgram:
    """The :class:`~vps.program.FrameProgram` of a checkpoint (:func:`vps.model.program.frame_program`):
    ``steps`` cold denoiser calls (default: the config's ``diffusion.steps``), the config's warm start."""
    from vps.model.checkpoint import load_checkpoint
    from vps.model.program import frame_program

    ckpt = load_checkpoint(path)
    return frame_program(ckpt.typed_config(path), ckpt.typed_meta(), ckpt.bit_layout(), steps, warm_steps,
                         warm_time)
