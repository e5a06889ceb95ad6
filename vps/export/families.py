"""What the exporter needs to know per model family: its geometry, its graphs' contracts and what int8 means.

The export pipeline, verification and the benchmark's same-model check are family-blind: they ask
:func:`export_family` (keyed by ``config.model.family`` / the manifest's ``program.family``) for:

* ``pix2seq_d``: :class:`~vps.export.contracts.ModelGeometry`, the four graphs (encoder, context,
  denoiser_step, denoiser_final); int8 quantizes the convolutions of the two denoiser graphs (called
  ``steps`` times per frame; the encoder and the context carry the conditioning and cost the most accuracy
  in int8);
* ``video_knet``: :class:`~vps.export.knet_contract.KNetGeometry`, the one graph ``knet_frame``; int8
  quantizes its convolutions (backbone, neck, initial kernels: where its time goes). Also quantizing the
  kernel head's weight matrix products cost too much agreement: on the random-weight tiny test model
  (1 clip x 3 synthetic frames, ONNX Runtime U8S8) the teacher-forced agreement of the fused ids was 95.1 %
  with convolutions only and 76.0 % with convolutions and weight MatMuls (95 % is int8's pass mark).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vps.export.contracts import GraphContract, ModelGeometry, contracts_for
from vps.export.knet_contract import KNetGeometry, knet_contracts
from vps.export.quantize import DEFAULT_OPS


@dataclass(frozen=True)
class ExportFamily:
    """One model family's export description (see the module docstring)."""

    name: str
    geometry: Callable[[Any], Any]  # model -> its geometry (sizes, SizeRules)
    contracts: Callable[[Any], tuple[GraphContract, ...]]  # geometry -> contracts in pipeline order
    int8_graphs: tuple[str, ...]  # graphs that get Q/DQ with --precision int8
    int8_ops: tuple[str, ...]  # operator types quantized in them


FAMILIES = {
    "pix2seq_d": ExportFamily("pix2seq_d", ModelGeometry.from_model, contracts_for,
                              ("denoiser_step", "denoiser_final"), DEFAULT_OPS),
    "video_knet": ExportFamily("video_knet", KNetGeometry.from_model, knet_contracts, ("knet_frame",),
                               DEFAULT_OPS),
}


def export_family(name: str) -> ExportFamily:
    """The :class:`ExportFamily` called ``name`` (``ValueError`` listing the known ones)."""
    if name not in FAMILIES:
        raise ValueError(f"vps-export knows no model family {name!r}; it exports {sorted(FAMILIES)}")
    return FAMILIES[name]


def model_contracts(model: Any, family: str) -> tuple[Any, tuple[GraphContract, ...]]:
    """``(geometry, contracts in pipeline order)`` of ``model``, a network of ``family``."""
    fam = export_family(family)
    geometry = fam.geometry(model)
    return geometry, fam.contracts(geometry)


def check_same_graphs(model: Any, family: str, manifest: Any, checkpoint: Any, artifacts: Any) -> None:
    """``ValueError`` unless ``model`` (of ``checkpoint``) has the family and the graphs (names, tensor specs)
    of ``manifest`` (of the export folder ``artifacts``)."""
    if manifest.program.family != family:
        raise ValueError(f"{checkpoint} is a {family} model, the artifacts in {artifacts} are "
                         f"{manifest.program.family}")
    _, contracts = model_contracts(model, family)
    names, have = [c.name for c in contracts], [g.name for g in manifest.graphs]
    if names != have:
        raise ValueError(f"{checkpoint}: graphs {names} differ from those of the artifacts in {artifacts} "
                         f"{have}")
    for c in contracts:
        if c.tensor_specs() != (manifest.graph(c.name).inputs, manifest.graph(c.name).outputs):
            raise ValueError(f"{checkpoint}: the checkpoint's {c.name} graph does not match the artifacts in "
                             f"{artifacts} (different model)")
