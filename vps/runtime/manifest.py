"""``manifest.json``: everything the runtime needs to run an exported model, without training code.

The exporter (``vps-export``) writes one manifest next to its graph files; the runtime reads it with
:func:`load_manifest` and refuses a folder it cannot trust. A manifest records:

* the schema version (:data:`SCHEMA_VERSION`; unknown versions are refused, never guessed),
* the model preset, the class metadata (:class:`~vps.data.meta.DatasetMeta`) and the analog-bit layout
  (:class:`~vps.bits.BitLayout`),
* the network input size ``(H, W)``, its normalisation (``mean``/``std`` in ``[0, 1]`` pixel units, channel
  order the network expects) and how frames of another size are fitted (``stretch`` or ``letterbox``),
* the mask size ``(h, w)`` the denoiser works at,
* the exact sampler schedule (:class:`SamplerSchedule`): the (t_now, t_next) pairs and their gammas as
  floats, for the cold start and for the warm start,
* one :class:`GraphSpec` per graph file (engine kind, precision, tensor specs, shape profile, sha256),
* the opset and the tool versions (plus the GPU compute capability that TensorRT engines were built for),
* the sha256 of every other listed file (:attr:`Manifest.files`).

``write_manifest`` computes every sha256 itself; ``load_manifest(verify=True)`` recomputes them. Files in the
folder that the manifest does not list are ignored.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from vps.bits import BitLayout
from vps.data.codecs import atomic_write_bytes
from vps.data.meta import DatasetMeta
from vps.errors import DataError
from vps.runtime.frames import RESIZE_MODES

MANIFEST_NAME = "manifest.json"
SCHEMA_VERSION = 1
KNOWN_SCHEMA_VERSIONS = frozenset({1})
ENGINES = ("onnx", "trt")
PRECISIONS = ("fp32", "fp16", "int8")
DTYPES = ("float32", "float16", "bfloat16", "int64", "int32", "int8", "uint8", "bool")

Dim = int | str  # a fixed size, or the name of a dynamic axis ("batch")


class ManifestError(DataError):
    """A manifest folder cannot be trusted: missing/tampered file, unknown schema or malformed JSON.

    A ``ValueError`` (through :class:`~vps.errors.DataError`) whose message names the offending file.
    """


def _check_keys(cls: type, d: Any, where: str) -> dict[str, Any]:
    """``d`` as a dict holding only field names of dataclass ``cls`` (unknown keys are errors)."""
    if not isinstance(d, dict):
        raise ValueError(f"{where}: expected an object, got {type(d).__name__}")
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(d) - names)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}")
    return d


def _pairs(values: Any) -> tuple[tuple[float, float], ...]:
    return tuple((float(a), float(b)) for a, b in values)


def _hw(d: dict[str, Any], key: str) -> tuple[int, int]:
    values = d[key]
    if not isinstance(values, list) or len(values) != 2:
        raise ValueError(f"{key} must be a list of two ints [H, W], got {values!r}")
    return int(values[0]), int(values[1])


def _floats(values: Any) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


@dataclass(frozen=True)
class TensorSpec:
    """One graph input or output: name, shape (ints, or axis names for dynamic axes) and numpy dtype."""

    name: str
    shape: tuple[Dim, ...]
    dtype: str = "float32"

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise ValueError(f"tensor {self.name!r}: dtype {self.dtype!r} not one of {DTYPES}")

    @property
    def dynamic_axes(self) -> dict[int, str]:
        """``{axis: name}`` of the axes whose size is only known at run time."""
        return {i: d for i, d in enumerate(self.shape) if isinstance(d, str)}

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "shape": list(self.shape), "dtype": self.dtype}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TensorSpec:
        d = _check_keys(cls, d, "tensor")
        shape = tuple(s if isinstance(s, str) else int(s) for s in d["shape"])
        return cls(name=str(d["name"]), shape=shape, dtype=str(d.get("dtype", "float32")))


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

    def to_dict(self) -> dict[str, Any]:
        return {"min": list(self.min), "opt": list(self.opt), "max": list(self.max)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ShapeProfile:
        d = _check_keys(cls, d, "profile")
        return cls(*(tuple(int(v) for v in d[k]) for k in ("min", "opt", "max")))


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

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "file": self.file, "engine": self.engine, "precision": self.precision,
            "inputs": [t.to_dict() for t in self.inputs], "outputs": [t.to_dict() for t in self.outputs],
            "profiles": {k: p.to_dict() for k, p in self.profiles.items()}, "sha256": self.sha256,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GraphSpec:
        d = _check_keys(cls, d, "graph")
        return cls(
            name=str(d["name"]), file=str(d["file"]), engine=str(d["engine"]), precision=str(d["precision"]),
            inputs=tuple(TensorSpec.from_dict(t) for t in d["inputs"]),
            outputs=tuple(TensorSpec.from_dict(t) for t in d["outputs"]),
            profiles={str(k): ShapeProfile.from_dict(p) for k, p in d.get("profiles", {}).items()},
            sha256=str(d.get("sha256", "")),
        )


@dataclass(frozen=True)
class SamplerSchedule:
    """The exact denoising schedule the graphs were exported for (floats, not a recipe to recompute).

    ``steps[i] = (t_now, t_next)`` with ``gamma_now[i]``/``gamma_next[i]`` the signal levels at those times;
    ``td`` is the time-difference used to build the pairs. The warm start (frames after the first) begins
    at ``warm_start_time`` (signal level ``warm_start_gamma``) and runs ``warm_steps`` instead.
    """

    sampler: str  # e.g. "ddim"
    schedule: str  # e.g. "cosine"
    td: float
    steps: tuple[tuple[float, float], ...]
    gamma_now: tuple[float, ...]
    gamma_next: tuple[float, ...]
    warm_start_time: float
    warm_start_gamma: float
    warm_steps: tuple[tuple[float, float], ...]
    warm_gamma_now: tuple[float, ...]
    warm_gamma_next: tuple[float, ...]

    def __post_init__(self) -> None:
        for prefix, steps, g_now, g_next in (("", self.steps, self.gamma_now, self.gamma_next),
                                             ("warm_", self.warm_steps, self.warm_gamma_now,
                                              self.warm_gamma_next)):
            if not steps:
                raise ValueError(f"sampler schedule: {prefix}steps is empty")
            if not (len(steps) == len(g_now) == len(g_next)):
                raise ValueError(f"sampler schedule: {prefix}steps, {prefix}gamma_now and {prefix}gamma_next "
                                 f"must have one entry per step ({len(steps)}, {len(g_now)}, {len(g_next)})")
            values = [v for pair in steps for v in pair] + list(g_now) + list(g_next)
            if any(not 0.0 <= v <= 1.0 for v in values):
                raise ValueError(f"sampler schedule: {prefix}times and gammas must lie in [0, 1]")
        if not 0.0 <= self.warm_start_time <= 1.0 or not 0.0 <= self.warm_start_gamma <= 1.0:
            raise ValueError("sampler schedule: warm_start_time and warm_start_gamma must lie in [0, 1]")

    @property
    def num_steps(self) -> int:
        return len(self.steps)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            d[f.name] = [list(v) if isinstance(v, tuple) else v for v in value] if isinstance(value, tuple) \
                else value
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SamplerSchedule:
        d = _check_keys(cls, d, "sampler")
        return cls(
            sampler=str(d["sampler"]), schedule=str(d["schedule"]), td=float(d["td"]),
            steps=_pairs(d["steps"]), gamma_now=_floats(d["gamma_now"]), gamma_next=_floats(d["gamma_next"]),
            warm_start_time=float(d["warm_start_time"]), warm_start_gamma=float(d["warm_start_gamma"]),
            warm_steps=_pairs(d["warm_steps"]), warm_gamma_now=_floats(d["warm_gamma_now"]),
            warm_gamma_next=_floats(d["warm_gamma_next"]),
        )


@dataclass(frozen=True)
class Manifest:
    """Description of one export folder (see the module docstring for what each group of fields means)."""

    preset: str
    meta: DatasetMeta
    layout: BitLayout
    input_size: tuple[int, int]  # (H, W) of the network input
    mean: tuple[float, float, float]  # per channel, in [0, 1] pixel units, in `channel_order`
    std: tuple[float, float, float]
    resize_mode: str  # stretch | letterbox: how a frame of another size is fitted to input_size
    mask_size: tuple[int, int]  # (h, w) of the analog-bit masks
    sampler: SamplerSchedule
    graphs: tuple[GraphSpec, ...]
    opset: int
    versions: dict[str, str]  # tool -> version: torch, onnx, onnxruntime, tensorrt, vps
    channel_order: str = "rgb"  # channel order the network input expects
    compute_capability: str | None = None  # e.g. "8.7"; required when a graph is a TensorRT engine
    files: dict[str, str] = field(default_factory=dict)  # other listed files -> sha256 (filled on write)
    min_instance_area: int | None = None  # post-processing threshold (mask pixels) of the checkpoint
    min_part_area: int | None = None  # post-processing: detached instance parts split off (vps.components)
    checkpoint: str | None = None  # the training checkpoint exported (for the torch backend / baselines)
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        if self.schema_version not in KNOWN_SCHEMA_VERSIONS:
            raise ValueError(f"unknown manifest schema version {self.schema_version!r}; "
                             f"this runtime reads {sorted(KNOWN_SCHEMA_VERSIONS)}")
        for name, hw in (("input_size", self.input_size), ("mask_size", self.mask_size)):
            if len(hw) != 2 or min(hw) <= 0:
                raise ValueError(f"{name} must be two positive ints (H, W), got {hw}")
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            raise ValueError(f"mean/std must hold 3 values with std > 0, got {self.mean} {self.std}")
        if self.resize_mode not in RESIZE_MODES:
            raise ValueError(f"resize_mode {self.resize_mode!r} not one of {RESIZE_MODES}")
        if self.channel_order not in ("rgb", "bgr"):
            raise ValueError(f"channel_order must be 'rgb' or 'bgr', got {self.channel_order!r}")
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

    def file_hashes(self) -> dict[str, str]:
        """Every listed file (graphs first) -> its recorded sha256."""
        return {**{g.file: g.sha256 for g in self.graphs}, **self.files}

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version, "preset": self.preset, "meta": self.meta.to_dict(),
            "layout": self.layout.to_dict(), "input_size": list(self.input_size), "mean": list(self.mean),
            "std": list(self.std), "channel_order": self.channel_order, "resize_mode": self.resize_mode,
            "mask_size": list(self.mask_size), "sampler": self.sampler.to_dict(),
            "graphs": [g.to_dict() for g in self.graphs], "opset": self.opset,
            "versions": dict(self.versions),
            "compute_capability": self.compute_capability, "files": dict(self.files),
            "min_instance_area": self.min_instance_area, "min_part_area": self.min_part_area,
            "checkpoint": self.checkpoint,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Manifest:
        """Parse a manifest dict; ``ValueError``/``KeyError``/``TypeError`` on anything malformed."""
        d = _check_keys(cls, d, "manifest")
        version = d.get("schema_version")  # checked first: other fields may mean something else
        if type(version) is not int or version not in KNOWN_SCHEMA_VERSIONS:
            raise ValueError(f"unknown manifest schema version {version!r}; "
                             f"this runtime reads {sorted(KNOWN_SCHEMA_VERSIONS)}")
        return cls(
            schema_version=int(version), preset=str(d["preset"]), meta=DatasetMeta.from_dict(d["meta"]),
            layout=BitLayout.from_dict(d["layout"]), input_size=_hw(d, "input_size"), mean=_floats(d["mean"]),  # type: ignore[arg-type]
            std=_floats(d["std"]), channel_order=str(d.get("channel_order", "rgb")),  # type: ignore[arg-type]
            resize_mode=str(d["resize_mode"]), mask_size=_hw(d, "mask_size"),
            sampler=SamplerSchedule.from_dict(d["sampler"]),
            graphs=tuple(GraphSpec.from_dict(g) for g in d["graphs"]), opset=int(d["opset"]),
            versions={str(k): str(v) for k, v in d.get("versions", {}).items()},
            compute_capability=None if d.get("compute_capability") is None else str(d["compute_capability"]),
            files={str(k): str(v) for k, v in d.get("files", {}).items()},
            min_instance_area=None if d.get("min_instance_area") is None else int(d["min_instance_area"]),
            min_part_area=None if d.get("min_part_area") is None else int(d["min_part_area"]),
            checkpoint=None if d.get("checkpoint") is None else str(d["checkpoint"]),
        )


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
    except KeyError as e:
        raise ManifestError(path, f"missing field {e}") from None
    except (ValueError, TypeError) as e:
        raise ManifestError(path, str(e)) from None
    if verify:
        verify_files(folder, manifest)
    return manifest
