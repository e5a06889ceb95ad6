"""manifest.json: round trip, and refusal of tampered, missing, unknown-schema and malformed folders."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from tests.runtime.programs import KERNELS, SAMPLER, make_knet_program, make_program
from vps.bits import BitLayout
from vps.data.meta import KITTI_STEP
from vps.runtime.manifest import (
    MANIFEST_NAME,
    GraphSpec,
    Manifest,
    ManifestError,
    ShapeProfile,
    TensorSpec,
    load_manifest,
    sha256_file,
    write_manifest,
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
    program = make_program((96, 320), preset="tiny", mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225),
                           resize_mode="letterbox", min_part_area=16)
    return Manifest(program=program, graphs=(encoder, denoiser), opset=17,
                    versions={"torch": "2.13.0", "onnx": "1.17.0", "onnxruntime": "1.20.0"},
                    files={"parity.json": ""})


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
    assert loaded.program.sampler == SAMPLER  # floats survive JSON exactly
    assert loaded.program.meta == KITTI_STEP and loaded.program.layout == BitLayout()
    assert (loaded.program.min_instance_area, loaded.program.min_part_area) == (4, 16)
    assert loaded.graph("encoder").inputs[0].dynamic_axes == {0: "batch"}
    assert Manifest.from_dict(json.loads(json.dumps(loaded.to_dict()))) == loaded
    assert not [p.name for p in export_dir.iterdir() if p.name.endswith(".tmp")]  # atomic write left nothing
    with pytest.raises(KeyError, match="no graph"):
        loaded.graph("decoder")


def test_kernel_plan_round_trip(tmp_path: Path) -> None:
    frame = GraphSpec(name="knet_frame", file="knet_frame.onnx", engine="onnx", precision="fp32",
                      inputs=(TensorSpec("image", ("batch", 3, "height", "width")),
                              TensorSpec("prev_kernels", ("batch", 21, 8)),
                              TensorSpec("has_prev", ("batch",))),
                      outputs=(TensorSpec("scores", ("batch", 21, 19)),))
    (tmp_path / "knet_frame.onnx").write_bytes(b"knet")
    written = write_manifest(tmp_path, Manifest(program=make_knet_program(), graphs=(frame,), opset=18,
                                                versions={}))
    raw = json.loads((tmp_path / MANIFEST_NAME).read_text())
    assert raw["program"]["sampler"] is None and raw["program"]["kernels"]["stuff_classes"][0] == 0
    loaded = load_manifest(tmp_path)
    assert loaded == written and loaded.program.kernels == KERNELS and loaded.program.family == "video_knet"
    _edit(tmp_path, program__kernels={**raw["program"]["kernels"], "num_kernels": "21"})
    with pytest.raises(ManifestError, match=r"manifest\.program\.kernels\.num_kernels: expected int"):
        load_manifest(tmp_path)
    _edit(tmp_path, program__kernels=None)
    with pytest.raises(ManifestError, match="family 'video_knet' needs kernels"):
        load_manifest(tmp_path)


def test_schema_2_manifest_without_kernels_still_loads(export_dir: Path) -> None:
    """Manifests written before the kernel plan existed have no ``kernels`` key: they load unchanged."""
    raw = json.loads((export_dir / MANIFEST_NAME).read_text())
    del raw["program"]["kernels"]
    (export_dir / MANIFEST_NAME).write_text(json.dumps(raw))
    loaded = load_manifest(export_dir)
    assert loaded.schema_version == 2 and loaded.program.kernels is None and loaded.program.sampler == SAMPLER
    assert loaded == write_manifest(export_dir, _manifest())


def test_unlisted_extra_files_are_fine(export_dir: Path) -> None:
    (export_dir / "notes.txt").write_text("hello")
    (export_dir / "old_denoiser.onnx").write_bytes(b"x")
    assert load_manifest(export_dir).program.preset == "tiny"


def test_tampered_file_refused(export_dir: Path) -> None:
    data = bytearray((export_dir / "denoiser.onnx").read_bytes())
    data[5] ^= 1
    (export_dir / "denoiser.onnx").write_bytes(bytes(data))
    with pytest.raises(ManifestError, match=r"denoiser\.onnx.*tampered") as info:
        load_manifest(export_dir)
    assert info.value.path == export_dir / "denoiser.onnx"
    assert load_manifest(export_dir, verify=False).program.preset == "tiny"  # explicit opt-out still loads


def test_missing_file_refused(export_dir: Path) -> None:
    (export_dir / "parity.json").unlink()
    with pytest.raises(ManifestError, match=r"parity\.json.*missing"):
        load_manifest(export_dir)


def test_write_refuses_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"encoder\.onnx"):
        write_manifest(tmp_path, _manifest())
    assert not (tmp_path / MANIFEST_NAME).exists()


def _edit(folder: Path, **changes: object) -> None:
    """Change top-level keys; ``program__key`` changes a key of the frame program."""
    raw = json.loads((folder / MANIFEST_NAME).read_text())
    for key, value in changes.items():
        node, _, sub = key.partition("__")
        if sub:
            raw[node][sub] = value
        else:
            raw[key] = value
    (folder / MANIFEST_NAME).write_text(json.dumps(raw))


@pytest.mark.parametrize("version", [99, 0, "1", None, True])
def test_unknown_schema_refused(export_dir: Path, version: object) -> None:
    _edit(export_dir, schema_version=version)
    with pytest.raises(ManifestError, match=r"manifest\.json.*schema version"):
        load_manifest(export_dir)


def test_older_schema_says_to_re_export(export_dir: Path) -> None:
    _edit(export_dir, schema_version=1)
    with pytest.raises(ManifestError, match="re-export the checkpoint with vps-export"):
        load_manifest(export_dir)


def test_malformed_json_refused(export_dir: Path) -> None:
    (export_dir / MANIFEST_NAME).write_text('{"schema_version": 1, "preset": ')
    with pytest.raises(ManifestError, match=r"manifest\.json.*malformed JSON"):
        load_manifest(export_dir)


@pytest.mark.parametrize("changes, message", [
    ({"surprise": 1}, r"manifest\.json: manifest: unknown key\(s\) \['surprise'\]"),
    ({"program__input_size": [96]}, r"manifest\.program\.input_size: expected 2 items"),
    ({"program__resize_mode": "crop"}, "resize_mode"),
    ({"program__mean": "abc"}, r"manifest\.program\.mean: expected a list, got 'abc'"),
    ({"program__mean": ["abc", 0.4, 0.4]}, r"manifest\.program\.mean\[0\]: expected a number, got 'abc'"),
    ({"program__min_part_area": 1.5}, r"manifest\.program\.min_part_area: expected int"),
    ({"program__family": "tflite_net"}, None),
    ({"graphs": [{"name": "encoder"}]}, r"manifest\.graphs\[0\]: missing key\(s\)"),
    ({"program__sampler": "ddim"}, r"manifest\.program\.sampler: expected a mapping"),
    ({"program__sampler": None}, r"family 'pix2seq_d' needs sampler and no other plan, but sampler is "),
    ({"opset": "17"}, r"manifest\.opset: expected int, got '17'"),
])
def test_malformed_fields_refused(export_dir: Path, changes: dict[str, object], message: str | None) -> None:
    _edit(export_dir, **changes)
    if message is None:  # well-formed, but a family this runtime does not run: refused when loaded
        from vps.runtime.family import family_class

        with pytest.raises(ValueError, match="unknown model family 'tflite_net'"):
            family_class(load_manifest(export_dir).program.family)
        return
    with pytest.raises(ManifestError, match=message) as info:
        load_manifest(export_dir)
    assert info.value.path.name == MANIFEST_NAME and "\n" not in str(info.value)


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
    with pytest.raises(ValueError, match="one entry per call"):
        replace(SAMPLER.cold, gammas=SAMPLER.cold.gammas[:1])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        replace(SAMPLER.cold, gammas=(0.5, 1.5))
    with pytest.raises(ValueError, match="start_gamma"):
        replace(SAMPLER, warm=SAMPLER.cold)
    with pytest.raises(ValueError, match="min <= opt <= max"):
        ShapeProfile((2,), (1,), (3,))
    with pytest.raises(ValueError, match="dtype"):
        TensorSpec("x", (1,), "complex64")
