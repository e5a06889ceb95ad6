"""Fixtures: a tiny random Pix2SeqD checkpoint and an export folder the runtime opens with the torch backend.

The folder holds a genuine manifest (built with the exporter's own functions) but placeholder graph files:
with ``backend="torch"`` the Segmenter runs the checkpoint and never opens them, which keeps the
end-to-end tests free of the ~20 s ONNX export (the export and ONNX Runtime paths have their own tests).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest
import torch

from vps.bits import BitLayout
from vps.config import Config, DataConfig, DiffusionConfig, ModelConfig
from vps.data.meta import KITTI_STEP

TINY = ModelConfig(backbone="resnet18", backbone_width=8, image_size=(32, 64), mask_stride=2, encoder_dim=32,
                   encoder_layers=1, encoder_heads=2, denoiser_channels=(16, 32), denoiser_layers=1,
                   denoiser_heads=2, num_class_logits=32)
PLACEHOLDER = b"placeholder graph: the torch backend runs the checkpoint\n"


def make_checkpoint(path: Path, seed: int = 0) -> Path:
    """A slim checkpoint of a randomly initialised tiny model (what ``load_for_inference`` reads)."""
    from vps.model import Pix2SeqD
    from vps.train.checkpoint import Checkpoint, save_checkpoint

    torch.manual_seed(seed)
    config = Config(name="tiny-bench-test", model=TINY, diffusion=DiffusionConfig(min_instance_area=2),
                    data=DataConfig(dataset="synth"))
    model = Pix2SeqD.from_config(config.model, config.diffusion)
    ckpt = Checkpoint(step=0, config=config.to_dict(), meta=KITTI_STEP.to_dict(), layout=asdict(BitLayout()),
                      ema_weights={k: v.detach().clone() for k, v in model.state_dict().items()}, slim=True)
    return save_checkpoint(ckpt, path)


def make_torch_artifacts(checkpoint: Path, out: Path, steps: int = 2, warm_steps: int = 2,
                         record_checkpoint: bool = False) -> Path:
    """An export folder for ``checkpoint`` (manifest for ``steps``/``warm_steps``; placeholder graphs).

    ``record_checkpoint``: the manifest names the checkpoint, as ``vps-export`` does, so the torch backend
    finds it without ``--checkpoint``.
    """
    from vps.export.artifacts import build_manifest, graph_spec
    from vps.export.families import model_contracts
    from vps.model.checkpoint import load_for_inference
    from vps.model.program import frame_program
    from vps.runtime.manifest import write_manifest

    model, config, meta = load_for_inference(checkpoint)
    geometry, contracts = model_contracts(model, config.model.family)  # any model family
    size = geometry.image_size
    out.mkdir(parents=True, exist_ok=True)
    for c in contracts:
        (out / f"{c.name}.onnx").write_bytes(PLACEHOLDER)
    program = frame_program(config, meta, model.layout, steps, warm_steps)
    graphs = [graph_spec(c, "onnx", "fp32", (1, 1, 1), size) for c in contracts]
    manifest = build_manifest(program, graphs, 18, {"vps": "test"},
                              checkpoint=str(checkpoint.resolve()) if record_checkpoint else None)
    write_manifest(out, manifest)
    return out


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_checkpoint(tmp_path_factory.mktemp("bench_ckpt") / "tiny.pt")


@pytest.fixture(scope="session")
def torch_artifacts(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_torch_artifacts(tiny_checkpoint, tmp_path_factory.mktemp("bench_art") / "tiny")


@pytest.fixture(autouse=True)
def one_torch_thread() -> object:
    """One intra-op thread (the CPUs are shared; oversubscription only slows the tests) and restore it."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
