"""What goes into an export folder's ``manifest.json``: sampler schedule, graph specs, versions, files.

The sampler schedule is computed here, once, with the training code's own :class:`DDIMSampler` and noise
schedule, and written as plain floats (times and gammas) so the runtime needs no schedule code and runs
exactly what was verified. The atomic export folder (:func:`staging_folder`) lives in :mod:`.staging`.
"""

from __future__ import annotations

from collections.abc import Sequence

from vps.bits import BitLayout
from vps.config import DiffusionConfig
from vps.data.meta import DatasetMeta
from vps.export.contracts import GraphContract, ModelGeometry
from vps.export.staging import staging_folder  # noqa: F401  (re-exported: the pipeline's atomic folder)
from vps.runtime.manifest import GraphSpec, Manifest, SamplerSchedule

GRAPH_SUFFIX = {"onnx": ".onnx", "trt": ".engine"}


def sampler_schedule(diffusion: DiffusionConfig, steps: int, warm_steps: int,
                     warm_time: float) -> SamplerSchedule:
    """The exact DDIM schedule (``td`` from the config) for ``steps`` cold and ``warm_steps`` warm steps."""
    from vps.model.diffusion import make_schedule
    from vps.model.samplers import DDIMSampler

    if steps < 1 or warm_steps < 1:
        raise ValueError(f"--steps ({steps}) and --warm-start-steps ({warm_steps}) must be >= 1")
    if not 0.0 < warm_time <= 1.0:
        raise ValueError(f"--warm-start-time must lie in (0, 1], got {warm_time}")
    schedule = make_schedule(diffusion.schedule)
    sampler = DDIMSampler(schedule, td=diffusion.td)
    cold = tuple(sampler.set_timesteps(steps, start_time=1.0))
    warm = tuple(sampler.set_timesteps(warm_steps, start_time=warm_time))

    def gammas(pairs: Sequence[tuple[float, float]], k: int) -> tuple[float, ...]:
        return tuple(float(schedule.gamma(p[k])) for p in pairs)

    return SamplerSchedule(
        sampler="ddim", schedule=diffusion.schedule, td=float(diffusion.td), steps=cold,
        gamma_now=gammas(cold, 0), gamma_next=gammas(cold, 1), warm_start_time=float(warm_time),
        warm_start_gamma=float(schedule.gamma(warm_time)), warm_steps=warm, warm_gamma_now=gammas(warm, 0),
        warm_gamma_next=gammas(warm, 1))


def graph_spec(contract: GraphContract, engine: str, precision: str, batch_sizes: tuple[int, int, int],
               input_size: tuple[int, int]) -> GraphSpec:
    """The manifest entry of one graph file (``{name}.onnx`` or ``{name}.engine``); sha256 filled on write."""
    inputs, outputs = contract.tensor_specs()
    return GraphSpec(name=contract.name, file=contract.name + GRAPH_SUFFIX[engine], engine=engine,
                     precision=precision, inputs=inputs, outputs=outputs,
                     profiles=contract.profiles(batch_sizes, input_size))


def build_manifest(preset: str, meta: DatasetMeta, layout: BitLayout, geometry: ModelGeometry,
                   input_size: tuple[int, int], schedule: SamplerSchedule, graphs: Sequence[GraphSpec],
                   opset: int, versions: dict[str, str], files: Sequence[str] = (),
                   compute_capability: str | None = None, min_instance_area: int | None = None,
                   checkpoint: str | None = None, min_part_area: int | None = None) -> Manifest:
    """A :class:`Manifest` (without hashes: :func:`vps.runtime.manifest.write_manifest` adds them)."""
    from vps.model.preprocess import IMAGENET_MEAN, IMAGENET_STD

    return Manifest(preset=preset, meta=meta, layout=layout, input_size=tuple(input_size),
                    mean=tuple(IMAGENET_MEAN), std=tuple(IMAGENET_STD), resize_mode="stretch",
                    mask_size=geometry.mask_size(input_size), sampler=schedule, graphs=tuple(graphs),
                    opset=opset, versions=dict(versions), channel_order="rgb",
                    compute_capability=compute_capability, files={f: "" for f in files},
                    min_instance_area=min_instance_area, min_part_area=min_part_area,
                    checkpoint=checkpoint)
