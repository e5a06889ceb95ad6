"""The student stage: start samples, a distillation step moves the student to the teacher, exact resume."""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from tests.model.test_model import SMALL, _batch
from tests.train.stand_in import run_trainer, straight_and_resumed, write_kitti_folder
from vps.config import Config, DiffusionConfig
from vps.model import Pix2SeqD
from vps.train.checkpoint import load_checkpoint
from vps.train.student import StudentLoss, check_student_config


def _config(method: str, **train: object) -> Config:
    cfg = Config(name="unit", model=copy.deepcopy(SMALL), diffusion=DiffusionConfig())
    cfg.train.student = method
    for k, v in train.items():
        setattr(cfg.train, k, v)
    return cfg


def _model(seed: int) -> Pix2SeqD:
    torch.manual_seed(seed)
    return Pix2SeqD.from_config(SMALL, DiffusionConfig())


def _cond_with_prev(model: Pix2SeqD, target: torch.Tensor) -> torch.Tensor:
    from vps.bits import panoptic_to_bits

    bits = panoptic_to_bits(target, model.layout)  # [B, 16, h, w]
    return torch.cat([bits, torch.zeros_like(bits)], 1)


def test_start_samples_are_noise_or_the_noised_previous_mask() -> None:
    model = _model(0)
    images, target, cond = _batch(model, B=8)
    cond = _cond_with_prev(model, target)
    cond[:2] = 0  # no t-1 mask: must start cold
    loss = StudentLoss(model, _config("e2e", student_warm_prob=1.0))
    g = torch.Generator().manual_seed(0)
    x, warm = loss.start(cond[:, :16], cond, g)
    assert warm.tolist() == [False, False] + [True] * 6
    gam = model.schedule.gamma(0.5)
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(x[:2], noise[:2])
    torch.testing.assert_close(x[2:], cond[2:, :16] * gam ** 0.5 + noise[2:] * (1 - gam) ** 0.5)


def test_config_checks() -> None:
    with pytest.raises(ValueError, match="train.student"):
        check_student_config(_config("magic"))
    with pytest.raises(ValueError, match="student_steps"):
        check_student_config(_config("distill", teacher="t.pt", student_steps=2, teacher_steps=2))
    with pytest.raises(ValueError, match="teacher"):
        check_student_config(_config("distill"))


@pytest.mark.parametrize("method", ["e2e", "self_align"])
def test_task_loss_methods_give_a_finite_loss_with_gradients(method: str) -> None:
    model = _model(0)
    images, target, _ = _batch(model, B=2)
    loss = StudentLoss(model, _config(method))(images, target, _cond_with_prev(model, target),
                                               torch.Generator().manual_seed(0))
    loss.backward()
    assert torch.isfinite(loss) and loss.item() > 0
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.denoiser.parameters())


def test_a_distillation_step_lowers_the_loss_against_the_teacher() -> None:
    teacher, student = _model(1).eval(), _model(2)
    images, target, _ = _batch(student, B=2)
    cond = _cond_with_prev(student, target)
    loss_fn = StudentLoss(student, _config("distill", teacher="unused.pt", student_warm_prob=0.5), teacher)

    def fixed() -> torch.Tensor:
        return loss_fn(images, target, cond, torch.Generator().manual_seed(0))

    with torch.no_grad():
        before = float(fixed())
    opt = torch.optim.AdamW(student.parameters(), lr=3e-3)
    for _ in range(3):
        opt.zero_grad()
        fixed().backward()
        opt.step()
    with torch.no_grad():
        after = float(fixed())
    assert after < before
    assert all(p.grad is None for p in teacher.parameters())  # the teacher stays frozen


@pytest.fixture(scope="module")
def kitti_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_kitti_folder(tmp_path_factory.mktemp("kitti"), frames=4)


def _train_config(root: Path, **train: object) -> Config:
    cfg = Config(name="unit", model=replace(SMALL), diffusion=DiffusionConfig())
    cfg.data.root, cfg.data.dataset, cfg.data.scale_range = str(root), "kitti_step", (1.0, 1.0)
    t = cfg.train
    t.batch_size, t.max_steps, t.warmup_steps, t.lr, t.ema_decay = 2, 4, 1, 1e-3, 0.9
    t.eval_every, t.ckpt_every, t.log_every = 0, 2, 1
    for k, v in train.items():
        setattr(t, k, v)
    return cfg


def test_student_stage_resumes_bit_identically(kitti_root: Path, tmp_path: Path) -> None:
    run_trainer(_train_config(kitti_root, max_steps=1), tmp_path / "teacher")
    teacher = str(tmp_path / "teacher" / "last.pt")
    cfg = _train_config(kitti_root, student="distill", init_from=teacher, student_warm_prob=0.5)
    straight, _ = straight_and_resumed(cfg, tmp_path, stop=2)
    assert straight.step == 4
    assert not any(k.startswith("teacher") for k in load_checkpoint(tmp_path / "a" / "last.pt").model)
