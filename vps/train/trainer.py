"""The training loop: AdamW + warm-up/cosine LR, clipping, AMP, EMA, DDP, periodic STQ, resumable.

Determinism (what makes ``--resume`` bit-exact on CPU): the data stream is a pure function of
``(seed, step, rank)`` (:class:`vps.train.data.StepBatchSampler`), the diffusion noise of each step comes from
a generator reseeded from ``(seed, rank, step)``, the LR is a pure function of the step, evaluation runs on a
forked RNG, and the checkpoint stores model, EMA, optimiser, grad scaler and the global RNG states.
``--max-steps`` only stops the run early; the LR schedule always spans ``train.max_steps``.
"""

from __future__ import annotations

import contextlib
import math
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from vps.config import Config
from vps.errors import DataError
from vps.train import data as tdata
from vps.train import knet
from vps.train.checkpoint import (
    Checkpoint,
    build_model,
    capture_rng,
    check_compatible,
    load_checkpoint,
    load_state_strict,
    restore_rng,
    save_checkpoint,
)
from vps.train.dist import DistInfo, all_reduce_mean, barrier, broadcast_flag
from vps.train.ema import EMA
from vps.train.evaluate import eval_sequences, evaluate_video
from vps.train.runlog import CsvLog, TensorBoard
from vps.train.schedule import lr_at, set_lr
from vps.train.student import StudentLoss, check_student_config, load_teacher

AMP_DTYPES: dict[str, torch.dtype | None] = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass
class RunOptions:
    """Command-line level options of one ``vps-train`` invocation."""

    out_dir: Path
    resume: bool = False
    stop_step: int | None = None  # --max-steps: stop at this step (the schedule is unchanged)
    progress: bool = True


class LossModule(nn.Module):
    """Routes the (DDP) forward call to ``model.training_loss`` so DDP's gradient hooks see it.

    ``inputs`` are the family's loss inputs (:meth:`Trainer.loss_inputs`): Pix2Seq-D's ``(images, target,
    cond)``, Video K-Net's ``(images, targets)``.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.logs: dict[str, float] = {}

    def forward(self, *inputs: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        loss, logs = self.model.training_loss(*inputs, generator=generator)
        self.logs = logs
        return loss


def step_seed(seed: int, rank: int, step: int) -> int:
    """Seed of the diffusion-noise generator for one (rank, step)."""
    return int(np.random.SeedSequence([seed, rank, step, 0xD1FF]).generate_state(1, np.uint64)[0] >> 1)


def default_normalize(images: torch.Tensor) -> torch.Tensor:
    """uint8 [B, H, W, 3] -> normalised float [B, 3, H, W] (the model's own preprocessing)."""
    from vps.model.preprocess import normalize_images

    return normalize_images(images)


class Trainer:
    """One training run in ``opts.out_dir`` (``last.pt``, ``log.csv``, ``tb/``, ``config.yaml``)."""

    def __init__(
        self, config: Config, opts: RunOptions, info: DistInfo | None = None,
        model_factory: Callable[[Config], nn.Module] = build_model,
        normalize: Callable[[torch.Tensor], torch.Tensor] = default_normalize,
    ) -> None:
        self.config, self.opts, self.info = config, opts, info or DistInfo()
        self.model_factory, self.normalize = model_factory, normalize
        self.out = Path(opts.out_dir)
        self.device = self.info.device
        tc = config.train
        if tc.precision not in AMP_DTYPES:
            raise ValueError(f"train.precision must be one of {sorted(AMP_DTYPES)}, got {tc.precision!r}")
        order = config.data.track_id_order
        if order not in ("random", "spatial"):
            raise ValueError(f"data.track_id_order must be random or spatial, got {order!r}")
        tdata.dataset_meta(config)  # unknown data.dataset: fail before any work
        check_student_config(config)  # unknown train.student: fail before any work
        knet.check_family_config(config)
        self.amp_dtype = AMP_DTYPES[tc.precision] if self.device.type == "cuda" else None
        self.stop = min(tc.max_steps, opts.stop_step) if opts.stop_step is not None else tc.max_steps
        self.step, self.elapsed = 0, 0.0
        self.metrics: dict[str, float] = {}
        self._stop_requested = False
        self._old_handlers: dict[int, Any] = {}

    # ------------------------------------------------------------------------------------------- setup
    def setup(self) -> None:
        """Build model, EMA, optimiser, data; then restore ``last.pt`` when resuming."""
        cfg, info = self.config, self.info
        if cfg.train.threads > 0:
            torch.set_num_threads(cfg.train.threads)
        tdata.seed_everything(cfg.train.seed)
        self.meta = tdata.dataset_meta(cfg)
        self.model = self.model_factory(cfg).to(self.device)
        self.layout = self.model.layout
        self.image_size = tuple(self.model.image_size)
        self.mask_size = tuple(self.model.mask_size)
        self.ema = EMA(self.model, cfg.train.ema_decay)
        self.optimizer = self._make_optimizer()
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)
        self.generator = torch.Generator(device=self.device)
        ckpt_path = self.out / "last.pt"
        if ckpt_path.exists() and not self.opts.resume:
            raise DataError(ckpt_path, "output folder already holds a checkpoint; pass --resume to continue "
                                       "it or choose another --out")
        ckpt = load_checkpoint(ckpt_path) if self.opts.resume and ckpt_path.exists() else None
        if ckpt is not None:
            self._restore(ckpt, ckpt_path)
        elif cfg.train.init_from:
            self._init_from(Path(cfg.train.init_from))
        self._setup_data()
        wrapped = self._loss_module()
        if info.distributed:
            ids = [self.device.index] if self.device.type == "cuda" else None
            wrapped = DistributedDataParallel(wrapped, device_ids=ids)  # type: ignore[assignment]
        self.wrapped = wrapped
        if info.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
            (self.out / "config.yaml").write_text(yaml.safe_dump(_plain(cfg.to_dict()), sort_keys=False))
            self.csv = CsvLog(self.out / "log.csv", resume_step=self.step if ckpt is not None else None)
            self.tb = TensorBoard(self.out / "tb")

    def _loss_module(self) -> nn.Module:
        """The model's own loss (:class:`LossModule`: the diffusion loss, Video K-Net's loss), or the student
        stage's (``train.student``, :mod:`vps.train.student`)."""
        cfg = self.config
        if not cfg.train.student:
            return LossModule(self.model)
        def load_ema(model: nn.Module, path: Path) -> None:
            ckpt = load_checkpoint(path)
            check_compatible(ckpt, cfg, path)
            load_state_strict(model, ckpt.ema_weights, path, "teacher EMA weights")

        teacher = load_teacher(cfg, self.model, load_ema) if cfg.train.student == "distill" else None
        return StudentLoss(self.model, cfg, teacher)

    def _make_optimizer(self) -> torch.optim.Optimizer:
        """AdamW; no weight decay on biases and norm weights (1-D tensors)."""
        decay = [p for p in self.model.parameters() if p.requires_grad and p.ndim > 1]
        no_decay = [p for p in self.model.parameters() if p.requires_grad and p.ndim <= 1]
        groups = [{"params": decay, "weight_decay": self.config.train.weight_decay},
                  {"params": no_decay, "weight_decay": 0.0}]
        return torch.optim.AdamW(groups, lr=self.config.train.lr, betas=(0.9, 0.999))

    def _setup_data(self) -> None:
        cfg, info = self.config, self.info
        root = tdata.data_root(cfg, self.out)
        if cfg.data.dataset == "synth":
            if info.is_main:
                tdata.prepare_synth(cfg, root, self.image_size, progress=self.opts.progress)
            barrier(info)
        clips = tdata.build_clips(cfg, root, cfg.data.train_split, True, self.image_size)
        self.loader, self.sampler = tdata.build_train_loader(
            clips, cfg, self.layout, self.image_size, self.mask_size, info.rank, info.world_size, self.step,
            pin_memory=self.device.type == "cuda")
        self.val_root = root

    def _init_from(self, path: Path) -> None:
        """Start from another run's EMA weights (same architecture), with a fresh optimiser and step 0."""
        init = load_checkpoint(path)
        check_compatible(init, self.config, path)
        load_state_strict(self.model, init.ema_weights, path, "EMA weights")
        self.ema = EMA(self.model, self.config.train.ema_decay)

    def _restore(self, ckpt: Checkpoint, path: Path) -> None:
        check_compatible(ckpt, self.config, path)
        if ckpt.slim or ckpt.model is None or ckpt.optimizer is None:
            raise DataError(path, "slim (inference-only) checkpoint cannot be resumed")
        load_state_strict(self.model, ckpt.model, path, "model weights")
        self.ema.load_state_dict({"shadow": ckpt.ema_weights, "decay": self.config.train.ema_decay,
                                  "warmup": True, "num_updates": ckpt.ema_updates})
        try:
            self.optimizer.load_state_dict(ckpt.optimizer)
        except (ValueError, KeyError) as e:
            raise DataError(path, f"optimizer state does not match the model: {e}") from None
        if ckpt.scaler:
            self.scaler.load_state_dict(ckpt.scaler)
        if ckpt.rng is not None:
            restore_rng(ckpt.rng, {"noise": self.generator})
        self.step = ckpt.step
        self.elapsed = float(ckpt.metrics.get("elapsed_s", 0.0))
        self.metrics = dict(ckpt.metrics)

    # ---------------------------------------------------------------------------------------- training
    def loss_inputs(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        """The loss module's tensor inputs of a collated batch, on the device: Pix2Seq-D's ``(images
        [B, 3, H, W], target [B, h, w], cond [B, 2 * num_bits, h, w])``, Video K-Net's
        :func:`vps.train.knet.pair_inputs`."""
        dev = self.device
        if self.config.model.family == knet.FAMILY:
            return knet.pair_inputs(batch, self.normalize, dev)
        images = self.normalize(batch["images"].to(dev, non_blocking=True))  # [B, 3, H, W]
        target = batch["target"].to(dev, non_blocking=True)  # [B, h, w] int64
        cond = batch["cond"].to(dev, non_blocking=True)  # [B, 2 * num_bits, h, w]
        return images, target, cond

    def train_step(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, float]:
        """One optimiser step on ``batch``; returns (detached loss, grad norm before clipping)."""
        cfg, dev = self.config.train, self.device
        set_lr(self.optimizer, lr_at(self.step, cfg.lr, cfg.warmup_steps, cfg.max_steps, cfg.min_lr_ratio))
        inputs = self.loss_inputs(batch)
        self.generator.manual_seed(step_seed(cfg.seed, self.info.rank, self.step))
        amp = (torch.autocast(dev.type, dtype=self.amp_dtype) if self.amp_dtype is not None
               else contextlib.nullcontext())
        with amp:
            loss = self.wrapped(*inputs, generator=self.generator)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.unscale_(self.optimizer)
        params = [p for g in self.optimizer.param_groups for p in g["params"]]
        gnorm = torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip if cfg.grad_clip > 0 else math.inf)
        self.scaler.step(self.optimizer)  # skipped by the scaler when gradients are not finite
        self.scaler.update()
        self.ema.update(self.model)
        self.step += 1
        return loss.detach(), float(gnorm)

    def fit(self) -> dict[str, float]:
        """Train from the current step to the stop step; returns the last metrics."""
        if not hasattr(self, "model"):
            self.setup()
        info, cfg = self.info, self.config.train
        self._install_signal_handlers()
        bar = tqdm(total=self.stop, initial=self.step, disable=not (info.is_main and self.opts.progress),
                   desc="train", unit="step", dynamic_ncols=True)
        batches = iter(self.loader)
        loss_sum, n_sum, t_last, s_last = 0.0, 0, time.perf_counter(), self.step
        t_start, elapsed0 = time.perf_counter(), self.elapsed
        while self.step < self.stop:
            loss, gnorm = self.train_step(next(batches))
            loss_sum, n_sum = loss_sum + float(loss), n_sum + 1
            self.elapsed = elapsed0 + time.perf_counter() - t_start
            bar.update(1)
            if self.step % cfg.log_every == 0 or self.step == self.stop:
                mean = all_reduce_mean(loss_sum / n_sum, info)
                now = time.perf_counter()
                rate = (self.step - s_last) / max(now - t_last, 1e-9)
                self._log({"loss": mean, "lr": self.optimizer.param_groups[0]["lr"], "grad_norm": gnorm,
                           "time_s": self.elapsed, "steps_per_s": rate})
                bar.set_postfix(loss=f"{mean:.4f}", lr=f"{self.optimizer.param_groups[0]['lr']:.2e}")
                loss_sum, n_sum, t_last, s_last = 0.0, 0, now, self.step
            if cfg.eval_every > 0 and (self.step % cfg.eval_every == 0 or self.step == cfg.max_steps):
                self.evaluate()
            stop_now = broadcast_flag(self._stop_requested, info)
            if self.step % cfg.ckpt_every == 0 or self.step == self.stop or stop_now:
                self.save()
            if stop_now:
                break
        bar.close()
        self.close()
        return self.metrics

    # ----------------------------------------------------------------------------- eval, logs, ckpts
    def evaluate(self) -> dict[str, float]:
        """STQ of the EMA weights on the first ``data.eval_sequences`` val sequences (rank 0 only)."""
        if self.info.is_main:
            cfg, rng_state = self.config, capture_rng()  # evaluation must not perturb the training RNG
            model = self.model_factory(cfg).to(self.device)
            self.ema.copy_to(model)
            model.eval()
            dataset = tdata.build_clips(cfg, self.val_root, cfg.data.val_split, False, self.image_size)
            seqs = eval_sequences(dataset, cfg.data.eval_sequences)
            res = evaluate_video(model, cfg, dataset, self.meta, cfg.train.eval_steps,
                                 cfg.train.eval_warm_start, seqs, cfg.data.eval_frames)
            self.metrics.update({k: res[k] for k in ("STQ", "AQ", "SQ")})
            self._log({"time_s": self.elapsed, **{k: res[k] for k in ("STQ", "AQ", "SQ")}})
            if self.opts.progress:
                tqdm.write(f"step {self.step}: STQ {res['STQ']:.4f} AQ {res['AQ']:.4f} SQ {res['SQ']:.4f} "
                           f"({res['frames']} frames, {res['fps']:.1f} fps)")
            restore_rng(rng_state)
        barrier(self.info)
        return self.metrics

    def _log(self, values: dict[str, float]) -> None:
        if not self.info.is_main:
            return
        self.csv.write({"step": self.step, **values})
        self.tb.scalars(self.step, values, prefix="train/")
        logs = getattr(self.wrapped, "module", self.wrapped).logs
        if "loss" in values:
            self.tb.scalars(self.step, logs, prefix="loss/")

    def checkpoint(self) -> Checkpoint:
        """The current state as a :class:`Checkpoint` (rank 0's view)."""
        return Checkpoint(
            step=self.step, config=self.config.to_dict(), meta=self.meta.to_dict(),
            layout=self.layout.to_dict(), ema_weights=self.ema.state_dict()["shadow"],  # type: ignore[arg-type]
            ema_updates=self.ema.num_updates, model=self.model.state_dict(),
            optimizer=self.optimizer.state_dict(), scaler=self.scaler.state_dict(),
            rng=capture_rng({"noise": self.generator}), sampler=self.sampler.state_dict(self.step),
            metrics={**self.metrics, "elapsed_s": self.elapsed},
        )

    def save(self) -> None:
        """Rank 0 writes ``last.pt`` (and ``step_{step:07d}.pt`` every ``keep_every``) atomically."""
        if self.info.is_main:
            ckpt = self.checkpoint()
            save_checkpoint(ckpt, self.out / "last.pt")
            keep = self.config.train.keep_every
            if keep > 0 and self.step % keep == 0:
                save_checkpoint(ckpt, self.out / f"step_{self.step:07d}.pt")
        barrier(self.info)

    def weight_checksum(self) -> float:
        """Sum of all parameters in float64 (equal on every rank when DDP keeps replicas in sync)."""
        with torch.no_grad():
            return float(sum(p.detach().double().sum() for p in self.model.parameters()))

    def close(self) -> None:
        for sig, old in self._old_handlers.items():
            signal.signal(sig, old)
        self._old_handlers = {}
        if self.info.is_main:
            self.csv.close()
            self.tb.close()

    def _install_signal_handlers(self) -> None:
        """SIGTERM/SIGINT: finish the current step, write ``last.pt`` and stop (a second signal kills)."""

        def handler(signum: int, _frame: Any) -> None:
            if self._stop_requested:
                raise KeyboardInterrupt
            self._stop_requested = True

        try:
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._old_handlers[sig] = signal.signal(sig, handler)
        except ValueError:  # not the main thread (e.g. in-process tests run from a worker thread)
            pass


def _plain(obj: Any) -> Any:
    """Tuples -> lists so ``yaml.safe_dump`` writes a config ``load_config`` reads back."""
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    return obj
