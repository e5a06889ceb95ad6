"""What goes into an export folder's ``manifest.json``: the frame program, graph specs, versions, files.

The frame program (:func:`vps.model.program.frame_program`: the model family, input handling and the step
plans computed once by the training code's own sampler) is written as plain numbers, so the runtime needs
no schedule code and runs exactly what was verified.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from vps.export.contracts import GraphContract
from vps.program import FrameProgram
from vps.runtime.manifest import MANIFEST_NAME, GraphSpec, Manifest

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


@contextmanager
def staging_folder(out: Path) -> Iterator[Path]:
    """A temp folder beside ``out``; on normal exit it atomically replaces ``out``, on error it is removed.

    ``out`` may not exist, be empty, or be a previous export folder (it holds ``manifest.json``); anything
    else is refused so an export never deletes unrelated files.
    """
    out = Path(out)
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MANIFEST_NAME).is_file())):
        raise ValueError(f"--out {out}: exists and is not an export folder (no {MANIFEST_NAME}); "
                         f"choose a new or empty folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
        out.replace(old / "previous")
    tmp.chmod(0o755)
    tmp.replace(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
