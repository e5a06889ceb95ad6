"""GPU glue kernels (Triton) with reference twins (:mod:`vps.kernels.reference`).

Public functions (each runs Triton on CUDA tensors, its reference on CPU tensors and NumPy arrays, and
the Triton interpreter on CPU tensors when ``TRITON_INTERPRET=1``; NumPy in, NumPy out):

* :func:`expected_bits`: ``[B, 512, h, w]`` logits -> ``[B, 16, h, w]`` analog bits (softmax expectation).
* :func:`decode_panoptic`: logits or analog bits -> ``[B, H, W]`` int32 panoptic ids, nearest resize.
* :func:`pair_histogram`: dense ``[num_a, num_b]`` counts of id pairs; :func:`mask_iou` -> IoUs.

Neither torch nor triton is imported by ``import vps.kernels`` beyond what is installed (see
:mod:`vps.kernels._dispatch`); the benchmark is ``benchmarks/kernels.py``.
"""

from vps.kernels.decode_panoptic import decode_panoptic
from vps.kernels.expected_bits import expected_bits
from vps.kernels.iou import mask_iou
from vps.kernels.pair_histogram import pair_histogram

__all__ = ["decode_panoptic", "expected_bits", "mask_iou", "pair_histogram"]
