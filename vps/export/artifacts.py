"""What goes into an export folder's ``manifest.json``: the frame program, graph specs, versions, files.

The frame program (:func:`vps.model.program.frame_program`: the model family, input handling and the step
plans computed once by the training code's own sampler) is written as plain numbers, so the runtime needs
no schedule code and runs exactly what was verified. The atomic export folder (:func:`staging_folder`)
lives in :mod:`.staging`.
"""

from __future__ import annotations

from collections.abc import Sequence

from vps.export.contracts import GraphContract
from vps.export.staging import staging_folder  # noqa: F401  (re-exported: the pipeline's atomic folder)
from vps.program import FrameProgram
from vps.runtime.manifest import GraphSpec, Manifest

GRAPH_SUFFIX = {"onnx": ".onnx", "trt": ".engine"}


def graph_spec(contract: GraphContract, engine: str, precision: str, batch_sizes: tuple[int, int, int],
               input_size: tuple[int, int]) -> GraphSpec:
    """The manifest entry of one graph file (``{name}.onnx`` or ``{name}.engine``); sha256 filled on write."""
    inputs, outputs = contract.tensor_specs()
    return GraphSpec(name=contract.name, file=contract.name + GRAPH_SUFFIX[engine], engine=engine,
                     precision=precision, inputs=inputs, outputs=outputs,
                     profiles=contract.profiles(batch_sizes, input_size))


def build_manifest(program: FrameProgram, graphs: Sequence[GraphSpec], opset: int, versions: dict[str, str],
                   files: Sequence[str] = (), compute_capability: str | None = None,
                   checkpoint: str | None = None) -> Manifest:
    """A :class:`Manifest` (without hashes: :func:`vps.runtime.manifest.write_manifest` adds them)."""
    return Manifest(program=program, graphs=tuple(graphs), opset=opset, versions=dict(versions),
                    compute_capability=compute_capability, files={f: "" for f in files},
                    checkpoint=checkpoint)
