"""``manifest.json``: everything the runtime needs to run an exported model, without training code.

The exporter (``vps-export``) writes one manifest next to its graph files; the runtime reads it with
:func:`load_manifest` and refuses a folder it cannot trust. A manifest records:

* the schema version (:data:`SCHEMA_VERSION`; older and unknown versions are refused with the fix),
* the :class:`~vps.program.FrameProgram`: the model family, the preset, the class metadata, the analog-bit
  layout, how frames become the network input, the mask size, the post-processing thresholds and the
  exact cold and warm step plans (gammas and DDIM coefficients per denoiser call),
* one :class:`GraphSpec` per graph file (engine kind, precision, tensor specs, shape profile, sha256),
* the opset and the tool versions (plus the GPU compute capability that TensorRT engines were built for),
* the sha256 of every other listed file (:attr:`Manifest.files`) and the checkpoint that was exported.

It is written and read through the toolkit's one typed loader (:func:`vps.config.from_dict` /
:func:`vps.config.to_plain`), so an unknown key or a value of the wrong type is refused with a message
naming the key. ``write_manifest`` computes every sha256 itself; ``load_manifest(verify=True)``
recomputes them. Files in the folder that the manifest does not list are ignored.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from vps.config import from_dict, to_plain
from vps.data.codecs import atomic_write_bytes
from vps.errors import DataError
from vps.program import FrameProgram

MANIFEST_NAME = "manifest.json"
STAGING_MARKER = ".vps-export-staging"  # in an export's staging folder until it is renamed into place
STAGING_NAME = re.compile(r"^\..+\.[A-Za-z0-9_]+\.(tmp|old)$")  # vps-export's staging/backup folder names
SCHEMA_VERSION = 2
ENGINES = ("onnx", "trt")
PRECISIONS = ("fp32", "fp16", "int8")
DTYPES = ("float32", "float16", "bfloat16", "int64", "int32", "int8", "uint8", "bool")

Dim = int | str  # a fixed size, or the name of a dynamic axis ("batch")


class ManifestError(DataError):
    """A manifest folder cannot be trusted: missing/tampered file, unknown schema or malformed JSON.

    A ``ValueError`` (through :class:`~vps.errors.DataError`) whose message names the offending file.
    """


@dataclass(frozen=True)
class TensorSpec:
    """One graph input or output: name, shape (ints, or axis names for dynamic axes) and numpy dtype."""

    name: str
    shape: tuple[int | str, ...]
    dtype: str = "float32"

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise ValueError(f"tensor {self.name!r}: dtype {self.dtype!r} not one of {DTYPES}")

    @property
    def dynamic_axes(self) -> dict[int, str]:
        """``{axis: name}`` of the axes whose size is only known at run time."""
        return {i: d for i, d in enumerate(self.shape) if isinstance(d, str)}


@dataclass(frozen=True)
class ShapeProfile:
    """min/opt/max shapes of one input (TensorRT optimisation profile; informative for ONNX)."""

    min: tuple[int, ...]
    opt: tuple[int, ...]
    max: tuple[int, ...]

    def __post_init__(self) -> None:
        if not (len(self.min) == len(self.opt) == len(self.max)):
            raise ValueError("shape profile: min/opt/max must have the same rank")
        if any(not (a <= b <= c) for a, b, c in zip(self.min, self.opt, self.max, strict=True)):
            raise ValueError(f"shape profile: need min <= opt <= max, got {self.min} {self.opt} {self.max}")


@dataclass(frozen=True)
class GraphSpec:
    """One exported graph file (e.g. ``encoder``, ``denoiser``) and how to feed it."""

    name: str
    file: str  # relative to the manifest folder
    engine: str  # onnx | trt
    precision: str  # fp32 | fp16 | int8
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    profiles: dict[str, ShapeProfile] = field(default_factory=dict)  # input name -> min/opt/max
    sha256: str = ""  # filled by write_manifest

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ValueError(f"graph {self.name!r}: engine {self.engine!r} not one of {ENGINES}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"graph {self.name!r}: precision {self.precision!r} not one of {PRECISIONS}")
        if Path(self.file).is_absolute() or ".." in Path(self.file).parts:
            raise ValueError(f"graph {self.name!r}: file {self.file!r} must lie inside the manifest folder")
        names = [t.name for t in self.inputs + self.outputs]
        if len(set(names)) != len(names):
            raise ValueError(f"graph {self.name!r}: duplicate tensor names {names}")
        unknown = sorted(set(self.profiles) - {t.name for t in self.inputs})
        if unknown:
            raise ValueError(f"graph {self.name!r}: profiles for unknown inputs {unknown}")


@dataclass(frozen=True)
class Manifest:
    """Description of one export folder (see the module docstring for what each group of fields means)."""

    program: FrameProgram
    graphs: tuple[GraphSpec, ...]
    opset: int
    versions: dict[str, str]  # tool -> version: torch, onnx, onnxruntime, tensorrt, vps
    compute_capability: str | None = None  # e.g. "8.7"; required when a graph is a TensorRT engine
    files: dict[str, str] = field(default_factory=dict)  # other listed files -> sha256 (filled on write)
    checkpoint: str | None = None  # the training checkpoint exported (for the torch backend / baselines)
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        if self.schema_version != SCHEMA_VERSION:
            raise ValueError(_schema_message(self.schema_version))
        names = [g.name for g in self.graphs]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate graph names {names}")
        listed = [g.file for g in self.graphs] + list(self.files)
        if len(set(listed)) != len(listed) or MANIFEST_NAME in listed:
            raise ValueError(f"listed files must be unique and not {MANIFEST_NAME}: {listed}")
        if any(g.engine == "trt" for g in self.graphs) and (
                not self.compute_capability or "tensorrt" not in self.versions):
            raise ValueError("TensorRT engines need compute_capability and versions['tensorrt']")

    def graph(self, name: str) -> GraphSpec:
        """The graph called ``name`` (``KeyError`` listing the known names otherwise)."""
        for g in self.graphs:
            if g.name == name:
                return g
        raise KeyError(f"manifest has no graph {name!r}; graphs: {[g.name for g in self.graphs]}")

    @property
    def engine(self) -> str:
        """``onnx`` or ``trt``: what the graph files are (all graphs of a folder are the same kind)."""
        return self.graphs[0].engine

    @property
    def precision(self) -> str:
        return self.graphs[0].precision

    def file_hashes(self) -> dict[str, str]:
        """Every listed file (graphs first) -> its recorded sha256."""
        return {**{g.file: g.sha256 for g in self.graphs}, **self.files}

    def to_dict(self) -> dict[str, Any]:
        return to_plain(self)

    @classmethod
    def from_dict(cls, d: Any, where: str = "manifest") -> Manifest:
        """Parse a manifest dict (``ValueError`` naming the key on anything malformed)."""
        version = d.get("schema_version") if isinstance(d, dict) else None  # first: fields may differ
        if type(version) is not int or version != SCHEMA_VERSION:
            raise ValueError(_schema_message(version))
        return from_dict(cls, d, where)


def _schema_message(version: Any) -> str:
    if type(version) is int and 0 < version < SCHEMA_VERSION:
        return (f"manifest schema version {version} was written by an older vps-export; this runtime reads "
                f"version {SCHEMA_VERSION}: re-export the checkpoint with vps-export")
    return f"unknown manifest schema version {version!r}; this runtime reads version {SCHEMA_VERSION}"


def is_staging(folder: str | Path) -> bool:
    """Whether ``folder`` is an unfinished export (the staging marker inside, or a staging folder's name):
    complete-looking but never verified, so the runtime refuses it (:mod:`vps.export.staging` writes it)."""
    folder = Path(folder)
    return (folder / STAGING_MARKER).exists() or bool(STAGING_NAME.match(folder.name))


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks (engines can be hundreds of MB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _hash_listed(folder: Path, names: list[str]) -> dict[str, str]:
    missing = [n for n in names if not (folder / n).is_file()]
    if missing:
        raise ManifestError(folder / missing[0], f"listed in {MANIFEST_NAME} but missing "
                                                 f"({len(missing)} missing: {missing})")
    return {n: sha256_file(folder / n) for n in names}


def write_manifest(folder: str | Path, manifest: Manifest) -> Manifest:
    """Hash every listed file in ``folder`` and write ``folder/manifest.json`` atomically.

    Returns the manifest with the sha256 fields filled in (the one written). Raises :class:`ManifestError`
    if a listed file does not exist.
    """
    folder = Path(folder)
    hashes = _hash_listed(folder, list(manifest.file_hashes()))
    graphs = tuple(replace(g, sha256=hashes[g.file]) for g in manifest.graphs)
    done = replace(manifest, graphs=graphs, files={n: hashes[n] for n in manifest.files})
    text = json.dumps(done.to_dict(), indent=2) + "\n"
    atomic_write_bytes(folder / MANIFEST_NAME, text.encode("utf-8"))
    return done


def verify_files(folder: str | Path, manifest: Manifest) -> None:
    """Raise :class:`ManifestError` naming the first listed file that is missing or whose sha256 differs."""
    folder = Path(folder)
    expected = manifest.file_hashes()
    actual = _hash_listed(folder, list(expected))
    for name, digest in expected.items():
        if actual[name] != digest:
            raise ManifestError(folder / name, f"sha256 {actual[name][:12]}... differs from {MANIFEST_NAME} "
                                               f"({digest[:12]}...): file changed or tampered")


def load_manifest(folder: str | Path, verify: bool = True) -> Manifest:
    """Read ``folder/manifest.json``; with ``verify`` also check that every listed file is intact.

    Raises :class:`ManifestError` (a ``ValueError``) naming the file for: a missing folder or manifest,
    malformed JSON or fields, an unknown schema version, a missing listed file, a sha256 mismatch.
    Files in the folder that the manifest does not list are ignored.
    """
    path = Path(folder) / MANIFEST_NAME
    if not path.is_file():
        raise ManifestError(path, "not found (is this an export folder?)")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ManifestError(path, f"malformed JSON: {e}") from None
    try:
        manifest = Manifest.from_dict(raw)
    except (ValueError, TypeError) as e:
        raise ManifestError(path, str(e)) from None
    if verify:
        verify_files(folder, manifest)
    return manifest
