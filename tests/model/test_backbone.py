"""torchvision-format ResNet state dicts load by name; bad files fail with the file and key named."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from vps.errors import DataError
from vps.model.backbone import ResNetStride16, load_torchvision_weights


def _bn(prefix: str, c: int) -> dict[str, torch.Size]:
    return {f"{prefix}.weight": torch.Size([c]), f"{prefix}.bias": torch.Size([c]),
            f"{prefix}.running_mean": torch.Size([c]), f"{prefix}.running_var": torch.Size([c]),
            f"{prefix}.num_batches_tracked": torch.Size([])}


def torchvision_resnet18_shapes() -> dict[str, torch.Size]:
    """Key names and shapes of ``torchvision.models.resnet18().state_dict()``, written out by hand."""
    shapes = {"conv1.weight": torch.Size([64, 3, 7, 7]), **_bn("bn1", 64)}
    cin = 64
    for stage, planes in enumerate((64, 128, 256, 512), start=1):
        for b in range(2):
            p = f"layer{stage}.{b}"
            shapes[f"{p}.conv1.weight"] = torch.Size([planes, cin, 3, 3])
            shapes.update(_bn(f"{p}.bn1", planes))
            shapes[f"{p}.conv2.weight"] = torch.Size([planes, planes, 3, 3])
            shapes.update(_bn(f"{p}.bn2", planes))
            if b == 0 and stage > 1:
                shapes[f"{p}.downsample.0.weight"] = torch.Size([planes, cin, 1, 1])
                shapes.update(_bn(f"{p}.downsample.1", planes))
            cin = planes
    shapes["fc.weight"], shapes["fc.bias"] = torch.Size([1000, 512]), torch.Size([1000])
    return shapes


def _fake_file(tmp_path: Path, shapes: dict[str, torch.Size], name: str = "r18.pth") -> tuple[Path, dict]:
    g = torch.Generator().manual_seed(0)
    sd = {k: (torch.tensor(7) if k.endswith("num_batches_tracked") else torch.randn(s, generator=g))
          for k, s in shapes.items()}
    path = tmp_path / name
    torch.save(sd, path)
    return path, sd


def test_loads_torchvision_resnet18(tmp_path: Path) -> None:
    path, sd = _fake_file(tmp_path, torchvision_resnet18_shapes())
    model = ResNetStride16("resnet18", 64)
    skipped = load_torchvision_weights(model, path)
    assert skipped and all(k.startswith(("layer4.", "fc.")) for k in skipped)
    own = model.state_dict()
    for key in ("conv1.weight", "layer3.1.bn2.running_var", "layer2.0.downsample.0.weight"):
        torch.testing.assert_close(own[key], sd[key])
    assert set(own) == {k for k in sd if not k.startswith(("layer4.", "fc."))}


def test_wrong_shape_names_file_and_key(tmp_path: Path) -> None:
    shapes = torchvision_resnet18_shapes()
    shapes["layer2.0.conv1.weight"] = torch.Size([128, 64, 1, 1])
    path, _ = _fake_file(tmp_path, shapes, "bad.pth")
    with pytest.raises(DataError, match=r"bad\.pth.*layer2\.0\.conv1\.weight"):
        load_torchvision_weights(ResNetStride16("resnet18", 64), path)


def test_width_mismatch_and_missing_key(tmp_path: Path) -> None:
    path, _ = _fake_file(tmp_path, torchvision_resnet18_shapes())
    with pytest.raises(DataError, match="shape mismatch at key 'conv1.weight'"):
        load_torchvision_weights(ResNetStride16("resnet18", 16), path)
    shapes = torchvision_resnet18_shapes()
    del shapes["layer1.1.bn1.bias"]
    path2, _ = _fake_file(tmp_path, shapes, "missing.pth")
    with pytest.raises(DataError, match="missing key 'layer1.1.bn1.bias'"):
        load_torchvision_weights(ResNetStride16("resnet18", 64), path2)
    with pytest.raises(DataError, match="not found"):
        load_torchvision_weights(ResNetStride16("resnet18", 64), tmp_path / "nope.pth")


def test_resnet50_stage_channels_and_strides() -> None:
    model = ResNetStride16("resnet50", 8)
    assert model.out_channels == (8, 32, 64, 128)
    keys = model.state_dict()
    assert "layer3.5.conv3.weight" in keys and "layer1.0.downsample.0.weight" in keys
    feats = model(torch.zeros(1, 3, 64, 96))
    assert [tuple(f.shape[1:]) for f in feats] == [(8, 32, 48), (32, 16, 24), (64, 8, 12), (128, 4, 6)]
    with pytest.raises(ValueError, match="unknown backbone"):
        ResNetStride16("resnet7")
