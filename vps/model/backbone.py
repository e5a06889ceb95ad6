"""ResNet-18/50 feature extractor cut at stride 16, with torchvision state-dict key names.

The module tree mirrors ``torchvision.models.resnet`` (``conv1``, ``bn1``, ``layer1.0.conv1`` ...,
``layer3.5.downsample.1``) so a torchvision-format checkpoint loads by name with
:func:`load_torchvision_weights` (``layer4`` and ``fc`` in the file are skipped: the model stops at stride 16,
as in Pix2Seq-D). ``width`` scales every stage (64 = torchvision) so a tiny preset can use the same code.
torchvision itself is never imported.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from vps.errors import DataError

# name -> (block type, blocks per stage for layer1..layer3)
RESNET_SPECS: dict[str, tuple[str, tuple[int, int, int]]] = {
    "resnet18": ("basic", (2, 2, 2)),
    "resnet34": ("basic", (3, 4, 6)),
    "resnet50": ("bottleneck", (3, 4, 6)),
    "resnet101": ("bottleneck", (3, 4, 23)),
}


def _conv3x3(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)


def _downsample(cin: int, cout: int, stride: int) -> nn.Sequential | None:
    if stride == 1 and cin == cout:
        return None
    return nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))


class BasicBlock(nn.Module):
    """Two 3x3 convs with identity shortcut (torchvision ``BasicBlock`` names)."""

    expansion = 1

    def __init__(self, cin: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = _conv3x3(cin, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = _conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _downsample(cin, planes, stride)

    def forward(self, x: Tensor) -> Tensor:
        idt = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(y)) + idt)


class Bottleneck(nn.Module):
    """1x1 - 3x3 (strided, torchvision v1.5) - 1x1 bottleneck (torchvision ``Bottleneck`` names)."""

    expansion = 4

    def __init__(self, cin: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        cout = planes * self.expansion
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = _conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _downsample(cin, cout, stride)

    def forward(self, x: Tensor) -> Tensor:
        idt = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        return self.relu(self.bn3(self.conv3(y)) + idt)


class ResNetStride16(nn.Module):
    """ResNet stem + ``layer1..layer3``; returns features at strides 2, 4, 8 and 16.

    ``forward(images [B, 3, H, W]) -> [f2, f4, f8, f16]`` with channels ``out_channels``.
    """

    def __init__(self, name: str = "resnet18", width: int = 64) -> None:
        super().__init__()
        if name not in RESNET_SPECS:
            raise ValueError(f"unknown backbone {name!r}; known: {sorted(RESNET_SPECS)}")
        if width < 4:
            raise ValueError(f"backbone width must be >= 4, got {width}")
        kind, depths = RESNET_SPECS[name]
        block = BasicBlock if kind == "basic" else Bottleneck
        self.name = name
        self.conv1 = nn.Conv2d(3, width, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        cin = width
        stages = []
        for i, n in enumerate(depths):
            planes = width * 2**i
            blocks = []
            for j in range(n):
                blocks.append(block(cin, planes, stride=2 if (i > 0 and j == 0) else 1))
                cin = planes * block.expansion
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = stages
        self.out_channels = (width, width * block.expansion, 2 * width * block.expansion,
                             4 * width * block.expansion)
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        for m in self.modules():  # zero-init the last BN of each residual branch (stabler from scratch)
            if isinstance(m, Bottleneck):
                nn.init.zeros_(m.bn3.weight)
            elif isinstance(m, BasicBlock):
                nn.init.zeros_(m.bn2.weight)

    def forward(self, x: Tensor) -> list[Tensor]:
        f2 = self.relu(self.bn1(self.conv1(x)))  # [B, w, H/2, W/2]
        f4 = self.layer1(self.maxpool(f2))  # [B, c1, H/4, W/4]
        f8 = self.layer2(f4)  # [B, c2, H/8, W/8]
        f16 = self.layer3(f8)  # [B, c3, H/16, W/16]
        return [f2, f4, f8, f16]


def find_backbone(model: nn.Module) -> ResNetStride16:
    """The :class:`ResNetStride16` inside ``model`` (``model`` itself, a ``Pix2SeqD`` or an encoder)."""
    for m in model.modules():
        if isinstance(m, ResNetStride16):
            return m
    raise ValueError(f"{type(model).__name__} holds no ResNet backbone")


def load_torchvision_weights(model: nn.Module, path: str | Path) -> list[str]:
    """Load a torchvision-format ResNet state dict (a ``.pth`` file) into the backbone of ``model``.

    ``model`` is the backbone itself or any module holding one (``Pix2SeqD``, ``ImageEncoder``).

    Keys the backbone lacks (``layer4.*``, ``fc.*``) are skipped and returned. Every backbone key must be
    present in the file with the same shape; otherwise a :class:`vps.errors.DataError` names the file and
    the first offending key. A checkpoint wrapped as ``{"state_dict": ...}`` or with a ``module.`` or
    ``backbone.`` prefix is accepted.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "backbone weights file not found")
    try:
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unpickling failure is a bad file
        raise DataError(path, f"cannot read a torch state dict: {e}") from None
    if isinstance(sd, dict) and isinstance(sd.get("state_dict"), dict):
        sd = sd["state_dict"]
    if not isinstance(sd, dict):
        raise DataError(path, f"expected a state dict (mapping), got {type(sd).__name__}")
    for prefix in ("module.", "backbone."):
        if sd and all(k.startswith(prefix) for k in sd):
            sd = {k[len(prefix):]: v for k, v in sd.items()}
    backbone = find_backbone(model)
    own = backbone.state_dict()
    for key, ref in own.items():
        if key not in sd:
            raise DataError(path, f"missing key {key!r} (expected shape {tuple(ref.shape)}) "
                                  f"for {backbone.name}")
        val = sd[key]
        if not isinstance(val, Tensor) or tuple(val.shape) != tuple(ref.shape):
            got = tuple(val.shape) if isinstance(val, Tensor) else type(val).__name__
            raise DataError(path, f"shape mismatch at key {key!r}: file has {got}, model expects "
                                  f"{tuple(ref.shape)} ({backbone.name}, width {backbone.out_channels[0]})")
    backbone.load_state_dict({k: sd[k].to(own[k].dtype) for k in own}, strict=True)
    return sorted(set(sd) - set(own))
