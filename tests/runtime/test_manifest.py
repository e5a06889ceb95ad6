"""manifest.json: round trip, and refusal of tampered, missing, unknown-schema and malformed folders."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from vps.bits import BitLayout
from vps.data.meta import KITTI_STEP
from vps.runtime.manifest import (
    MANIFEST_NAME,
    GraphSpec,
    Manifest,
    ManifestError,
    SamplerSchedule,
    ShapeProfile,
    TensorSpec,
    load_manifest,
    sha256_file,
    write_manifest,
)

SCHEDULE = SamplerSchedule(
    sampler="ddim", schedule="cosine", td=1.0,
    steps=((1.0, 0.75), (0.75, 0.5), (0.5, 0.25), (0.25, 0.0)),
    gamma_now=(0.0, 0.1464466094067262, 0.5000000000000001, 0.8535533905932737),
    gamma_next=(0.1464466094067262, 0.5000000000000001, 0.8535533905932737, 1.0),
    warm_start_time=0.5, warm_start_gamma=0.5000000000000001,
    warm_steps=((0.5, 0.25), (0.25, 0.0)), warm_gamma_now=(0.5000000000000001, 0.8535533905932737),
    warm_gamma_next=(0.8535533905932737, 1.0),
)


def _manifest() -> Manifest:
    encoder = GraphSpec(
        name="encoder", file="encoder.onnx", engine="onnx", precision="fp32",
        inputs=(TensorSpec("image", ("batch", 3, 96, 320)),),
        outputs=(TensorSpec("features", ("batch", 256, 12, 40)),),
        profiles={"image": ShapeProfile((1, 3, 96, 320), (1, 3, 96, 320), (2, 3, 96, 320))},
    )
    denoiser = GraphSpec(
        name="denoiser", file="denoiser.onnx", engine="onnx", precision="fp16",
        inputs=(TensorSpec("features", (1, 256, 12, 40)), TensorSpec("x_t", (1, 16, 48, 160)),
                TensorSpec("prev", (1, 32, 48, 160)), TensorSpec("gamma", (1,))),
        outputs=(TensorSpec("logits", (1, 512, 48, 160), "float16"),),
    )
    return Manifest(
        preset="tiny", meta=KITTI_STEP, layout=BitLayout(), input_size=(96, 320),
        mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225), resize_mode="letterbox", mask_size=(48, 160),
        sampler=SCHEDULE, graphs=(encoder, denoiser), opset=17,
        versions={"torch": "2.13.0", "onnx": "1.17.0", "onnxruntime": "1.20.0"},
        files={"parity.json": ""}, min_instance_area=4, min_part_area=16,
    )


@pytest.fixture()
def export_dir(tmp_path: Path) -> Path:
    (tmp_path / "encoder.onnx").write_bytes(b"encoder-bytes" * 100)
    (tmp_path / "denoiser.onnx").write_bytes(b"denoiser-bytes" * 100)
    (tmp_path / "parity.json").write_text("{}")
    write_manifest(tmp_path, _manifest())
    return tmp_path


def test_round_trip_and_hashes(export_dir: Path) -> None:
    loaded = load_manifest(export_dir)
    assert loaded == write_manifest(export_dir, _manifest())  # idempotent
    assert loaded.graph("denoiser").sha256 == sha256_file(export_dir / "denoiser.onnx")
    assert loaded.files["parity.json"] == sha256_file(export_dir / "parity.json")
    assert loaded.sampler == SCHEDULE  # floats survive JSON exactly
    assert loaded.meta == KITTI_STEP and loaded.layout == BitLayout()
    assert (loaded.min_instance_area, loaded.min_part_area) == (4, 16)
    assert loaded.graph("encoder").inputs[0].dynamic_axes == {0: "batch"}
    assert Manifest.from_dict(json.loads(json.dumps(loaded.to_dict()))) == loaded
    assert not [p.name for p in export_dir.iterdir() if p.name.endswith(".tmp")]  # atomic write left nothing
    with pytest.raises(KeyError, match="no graph"):
        loaded.graph("decoder")


def test_unlisted_extra_files_are_fine(export_dir: Path) -> None:
    (export_dir / "notes.txt").write_text("hello")
    (export_dir / "old_denoiser.onnx").write_bytes(b"x")
    assert load_manifest(export_dir).preset == "tiny"


def test_tampered_file_refused(export_dir: Path) -> None:
    data = bytearray((export_dir / "denoiser.onnx").read_bytes())
    data[5] ^= 1
    (export_dir / "denoiser.onnx").write_bytes(bytes(data))
    with pytest.raises(ManifestError, match=r"denoiser\.onnx.*tampered") as info:
        load_manifest(export_dir)
    assert info.value.path == export_dir / "denoiser.onnx"
    assert load_manifest(export_dir, verify=False).preset == "tiny"  # explicit opt-out still loads


def test_missing_file_refused(export_dir: Path) -> None:
    (export_dir / "parity.json").unlink()
    with pytest.raises(ManifestError, match=r"parity\.json.*missing"):
        load_manifest(export_dir)


def test_write_refuses_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"encoder\.onnx"):
        write_manifest(tmp_path, _manifest())
    assert not (tmp_path / MANIFEST_NAME).exists()


def _edit(folder: Path, **changes: object) -> None:
    raw = json.loads((folder / MANIFEST_NAME).read_text())
    raw.update(changes)
    (folder / MANIFEST_NAME).write_text(json.dumps(raw))


@pytest.mark.parametrize("version", [99, 0, "1", None, True])
def test_unknown_schema_refused(export_dir: Path, version: object) -> None:
    _edit(export_dir, schema_version=version)
    with pytest.raises(ManifestError, match=r"manifest\.json.*schema version"):
        load_manifest(export_dir)


def test_malformed_json_refused(export_dir: Path) -> None:
    (export_dir / MANIFEST_NAME).write_text('{"schema_version": 1, "preset": ')
    with pytest.raises(ManifestError, match=r"manifest\.json.*malformed JSON"):
        load_manifest(export_dir)


@pytest.mark.parametrize("changes, message", [
    ({"surprise": 1}, "unknown key"),
    ({"input_size": [96]}, "two ints"),
    ({"resize_mode": "crop"}, "resize_mode"),
    ({"graphs": [{"name": "encoder"}]}, "missing field"),
    ({"sampler": "ddim"}, "expected an object"),
])
def test_malformed_fields_refused(export_dir: Path, changes: dict[str, object], message: str) -> None:
    _edit(export_dir, **changes)
    with pytest.raises(ManifestError, match=message) as info:
        load_manifest(export_dir)
    assert info.value.path.name == MANIFEST_NAME


def test_missing_manifest_or_folder_refused(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="not found"):
        load_manifest(tmp_path)
    with pytest.raises(ManifestError, match="not found"):
        load_manifest(tmp_path / "nope")


def test_construction_validates() -> None:
    m = _manifest()
    trt = replace(m.graphs[1], engine="trt")
    with pytest.raises(ValueError, match="compute_capability"):
        replace(m, graphs=(m.graphs[0], trt))
    ok = replace(m, graphs=(m.graphs[0], trt), compute_capability="8.7",
                 versions={**m.versions, "tensorrt": "10.3"})
    assert ok.graph("denoiser").engine == "trt"
    with pytest.raises(ValueError, match="engine"):
        replace(m.graphs[0], engine="tflite")
    with pytest.raises(ValueError, match="precision"):
        replace(m.graphs[0], precision="int4")
    with pytest.raises(ValueError, match="inside the manifest folder"):
        replace(m.graphs[0], file="../encoder.onnx")
    with pytest.raises(ValueError, match="duplicate graph"):
        replace(m, graphs=(m.graphs[0], m.graphs[0]))
    with pytest.raises(ValueError, match="one entry per step"):
        replace(SCHEDULE, gamma_now=SCHEDULE.gamma_now[:2])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        replace(SCHEDULE, warm_start_time=1.5)
    with pytest.raises(ValueError, match="min <= opt <= max"):
        ShapeProfile((2,), (1,), (3,))
    with pytest.raises(ValueError, match="dtype"):
        TensorSpec("x", (1,), "complex64")
