"""VideoKNet: build_model dispatch, forward shapes and ranges, the has_prev gate of the temporal link."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from vps.config import Config
from vps.data.meta import CITYSCAPES, KITTI_STEP, meta_for_dataset
from vps.model import Pix2SeqD
from vps.model.checkpoint import build_model
from vps.model.knet import VideoKNet


def small_config(dataset: str = "synth") -> Config:
    """A very small Video K-Net config (32x64 input, masks 16x32, features 8x16)."""
    c = Config()
    c.model.family = "video_knet"
    c.model.backbone_width = 8
    c.model.image_size = (32, 64)
    c.model.mask_stride = 2
    c.data.dataset = dataset
    k = c.knet
    k.num_proposals, k.kernel_dim, k.heads, k.ffn_dim, k.embed_dim, k.stages = 4, 16, 2, 32, 8, 2
    return c


def test_build_model_dispatches_on_family() -> None:
    cfg = small_config()
    model = build_model(cfg)
    assert isinstance(model, VideoKNet)
    assert model.stuff_classes == KITTI_STEP.stuff_ids and model.num_classes == 19
    assert model.num_things == 4 and model.num_kernels == 4 + 17
    assert model.image_size == (32, 64) and model.mask_size == (16, 32)
    assert model.layout.label_divisor == 1000
    assert build_model(small_config("cityscapes")).num_kernels == 4 + len(CITYSCAPES.stuff_ids)
    cfg.model.family = "pix2seq_d"
    cfg.model.encoder_dim, cfg.model.encoder_heads, cfg.model.denoiser_channels = 32, 2, (16, 32)
    cfg.model.denoiser_heads = 2
    assert isinstance(build_model(cfg), Pix2SeqD)
    cfg.model.family = "maskformer"
    with pytest.raises(ValueError, match="model.family"):
        build_model(cfg)


def test_meta_for_dataset() -> None:
    assert meta_for_dataset("synth") is KITTI_STEP and meta_for_dataset("kitti_step") is KITTI_STEP
    assert meta_for_dataset("cityscapes") is CITYSCAPES
    with pytest.raises(ValueError, match="data.dataset"):
        meta_for_dataset("coco")


def test_forward_shapes_and_ranges() -> None:
    torch.manual_seed(0)
    model = build_model(small_config()).eval()
    B, K = 2, model.num_kernels
    with torch.no_grad():
        scores, masks, embeds, kernels = model(torch.randn(B, 3, 32, 64), torch.randn(B, K, 16),
                                               torch.tensor([0.0, 1.0]))
    assert scores.shape == (B, K, 19) and masks.shape == (B, K, 16, 32)
    assert embeds.shape == (B, 4, 8) and kernels.shape == (B, K, 16)
    assert float(scores.min()) > 0 and float(scores.max()) < 1
    assert float(masks.min()) >= 0 and float(masks.max()) <= 1
    torch.testing.assert_close(embeds.norm(dim=-1), torch.ones(B, 4))


def test_has_prev_zero_ignores_prev_kernels() -> None:
    torch.manual_seed(0)
    model = build_model(small_config()).eval()
    image, K = torch.randn(1, 3, 32, 64), model.num_kernels
    prev_a, prev_b = torch.randn(1, K, 16), 5 * torch.randn(1, K, 16)
    with torch.no_grad():
        first_a = model(image, prev_a, torch.zeros(1))
        first_b = model(image, prev_b, torch.zeros(1))
        linked_a = model(image, prev_a, torch.ones(1))
        linked_b = model(image, prev_b, torch.ones(1))
    for a, b in zip(first_a, first_b, strict=True):
        assert torch.equal(a, b)
    assert not torch.allclose(linked_a[3], linked_b[3])  # with has_prev = 1 the link matters


def _pair_batch(model: VideoKNet, B: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """Images [B, 2, 3, H, W] and targets [B, 2, h, w]: road/sky, a car that moves, a person."""
    g = torch.Generator().manual_seed(0)
    images = torch.randn(B, 2, 3, *model.image_size, generator=g)
    h, w = model.mask_size
    t = torch.zeros(B, 2, h, w, dtype=torch.int64)
    t[:, :, : h // 3] = 10_000  # sky
    t[:, 0, 6:12, 2:10] = 13_005
    t[:, 1, 6:12, 4:12] = 13_005  # the car moved
    t[:, :, 3:8, 20:26] = 11_002
    t[:, :, -1, :2] = 255_000  # void
    for b in range(B):  # images that show the segments
        images[b, :, 0] += 2 * (t[b] == 13_005).float().repeat_interleave(2, 1).repeat_interleave(2, 2)
    return images, t


def test_training_steps_lower_the_loss_and_reach_every_parameter() -> None:
    torch.manual_seed(0)
    model = build_model(small_config())
    images, targets = _pair_batch(model)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3)
    loss0, logs = model.training_loss(images, targets)
    assert {"loss", "loss_cls", "loss_mask", "loss_dice", "loss_track"} <= set(logs)
    loss0.backward()
    assert [n for n, p in model.named_parameters() if p.grad is None] == []  # DDP needs every gradient
    for _ in range(30):
        opt.zero_grad()
        loss, _ = model.training_loss(images, targets)
        loss.backward()
        opt.step()
    with torch.no_grad():
        assert float(model.training_loss(images, targets)[0]) < 0.7 * float(loss0)


def test_training_loss_checks_shapes() -> None:
    model = build_model(small_config())
    images, targets = _pair_batch(model)
    with pytest.raises(ValueError, match="targets"):
        model.training_loss(images, targets[:, :, :-1])
    with pytest.raises(ValueError, match="images"):
        model.training_loss(images[:, 0], targets)


@pytest.mark.slow
def test_exports_with_the_dynamo_exporter(tmp_path: Path) -> None:
    import numpy as np
    import onnxruntime as ort
    from torch.export import Dim

    from vps.export.onnx_export import DEFAULT_OPSET, _quiet

    torch.manual_seed(0)
    model = build_model(small_config()).eval()
    K = model.num_kernels
    args = (torch.randn(2, 3, 32, 64), torch.randn(2, K, 16), torch.ones(2))
    batch, kh, kw = Dim("batch", min=1, max=64), Dim("kh", min=1, max=64), Dim("kw", min=1, max=64)
    path = tmp_path / "knet_frame.onnx"
    with _quiet(), torch.no_grad():
        torch.onnx.export(model, args, str(path), dynamo=True, opset_version=DEFAULT_OPSET,
                          input_names=["image", "prev_kernels", "has_prev"],
                          output_names=["scores", "masks", "embeds", "kernels"],
                          dynamic_shapes=({0: batch, 2: 16 * kh, 3: 16 * kw}, {0: batch}, {0: batch}),
                          optimize=True, external_data=False)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    inputs = (torch.randn(3, 3, 48, 96), torch.randn(3, K, 16), torch.tensor([0.0, 1.0, 1.0]))  # other sizes
    got = session.run(None, {n: t.numpy() for n, t in zip(("image", "prev_kernels", "has_prev"), inputs,
                                                            strict=True)})
    with torch.no_grad():
        want = model(*inputs)
    assert got[1].shape == (3, K, 24, 48)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w.numpy(), atol=1e-4)


@pytest.mark.parametrize(("name", "mask", "kernels", "total_m"), [
    ("knet_tiny", (48, 160), 16 + 17, (0.4, 1.5)),
    ("knet_r50", (96, 312), 100 + 17, (15, 40)),
])
def test_presets_build(repo_root: Path, name: str, mask: tuple[int, int], kernels: int,
                       total_m: tuple[float, float]) -> None:
    from vps.config import load_config

    cfg = load_config(repo_root / "configs" / f"{name}.yaml")
    assert cfg.model.family == "video_knet" and cfg.train.eval_every > 0
    assert cfg.data.clip_len >= cfg.knet.ref_max_offset + 1
    model = build_model(cfg)
    assert model.mask_size == mask and model.num_kernels == kernels
    assert total_m[0] < model.num_parameters()["total"] / 1e6 < total_m[1]
