"""Typed experiment configuration, loaded from YAML into dataclasses.

One YAML file (``configs/*.yaml``) holds sections ``model``, ``diffusion``, ``data`` and ``train``; each maps
onto a dataclass below. Unknown keys are errors (a typo must not be silently ignored), missing keys take
the dataclass default. ``load_config(path)`` is the one way to read a config.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


@dataclass
class ModelConfig:
    """The network shared by the model families: which family, its backbone and input (see ``vps.model``);
    the rest of this section is Pix2Seq-D's, :class:`KNetConfig` holds Video K-Net's."""

    family: str = "pix2seq_d"  # model family: pix2seq_d | video_knet (vps.model.checkpoint.build_model)
    backbone: str = "resnet18"  # resnet18 | resnet50 | any name vps.model.backbone knows
    backbone_width: int = 64  # stem width; 64 is the torchvision ResNet, smaller for the tiny preset
    backbone_weights: str | None = None  # torchvision-format state-dict file, random init otherwise
    image_size: tuple[int, int] = (384, 1248)  # (H, W) network input
    mask_stride: int = 2  # mask resolution = image_size / mask_stride
    encoder_dim: int = 256
    encoder_layers: int = 4
    encoder_heads: int = 8
    denoiser_channels: tuple[int, ...] = (64, 128, 256)
    denoiser_layers: int = 2  # transformer layers at the U-Net bottleneck
    denoiser_heads: int = 8
    dropout: float = 0.0
    denoiser_res_blocks: int = 1  # residual blocks per U-Net level (encoder and decoder side)
    num_class_logits: int = 256  # class values the head predicts (<= 256; the rest get -1e4 logits)
    feature_dim: int = 0  # channels of the encoder output (feature-pyramid merge); 0 = encoder_dim
    denoiser_transformer_dim: int = 0  # width of the bottleneck transformer; 0 = denoiser_channels[-1]


@dataclass
class DiffusionConfig:
    """Bit diffusion: analog-bit layout, noise schedule, loss and default sampler."""

    bit_scale: float = 0.1
    class_bits: int = 8
    instance_bits: int = 8
    schedule: str = "cosine"
    loss_size_power: float = 0.2  # pixel weight ~ instance_area ** -p, normalised
    cond_drop_prob: float = 0.2  # probability to zero each previous-mask conditioning
    sampler: str = "ddim"
    steps: int = 4
    td: float = 1.0  # time-difference trick (spacing "td" only)
    spacing: str = "td"  # timestep spacing of the sampler: td | trailing | leading (vps.model.samplers)
    warm_start_time: float = 0.5  # noise level the warm start begins at
    warm_start_steps: int = 2
    min_instance_area: int = 16  # post-process: smaller instances removed (mask pixels)
    min_part_area: int = 16  # post-process: detached instance parts this big become instances (0 = off)
    ignore_label: int = 255  # void class id in targets
    void_weight: float = 0.0  # loss weight of void pixels (0: not trained, as void is not evaluated)


@dataclass
class KNetConfig:
    """Video K-Net (family ``video_knet``, :mod:`vps.model.knet`): kernel heads, losses, panoptic fusion and
    association. Li et al., "Video K-Net", CVPR 2022; Zhang et al., "K-Net", NeurIPS 2021."""

    num_proposals: int = 100  # N thing kernels (the stuff kernels are one per stuff class)
    kernel_dim: int = 256  # E: channels of the semantic feature map and of every kernel
    feature_stride: int = 4  # stride of the FPN's semantic feature map (4, or 8)
    stages: int = 3  # kernel update stages
    heads: int = 8  # kernel self-attention / temporal-link heads
    ffn_dim: int = 2048  # kernel FFN hidden width
    embed_dim: int = 256  # tracking embedding per thing kernel
    # losses (the paper's weights) and Hungarian matching costs (focal 2, dice 4, mask BCE 1)
    cls_weight: float = 2.0
    dice_weight: float = 4.0
    mask_weight: float = 1.0
    track_weight: float = 1.0  # quasi-dense multi-positive contrastive loss on matched thing kernels
    focal_alpha: float = 0.25
    focal_gamma: float = 2.0
    ref_max_offset: int = 2  # the reference frame lies 1..ref_max_offset frames before the key frame
    # panoptic fusion (runtime, recorded in the manifest)
    score_threshold: float = 0.3  # thing kernels below this class score are dropped
    mask_threshold: float = 0.5  # sigmoid mask probability that makes a pixel part of a kernel's mask
    overlap_threshold: float = 0.6  # a thing keeps its place only if this share of its mask is still free
    # association (runtime): bi-softmax similarity of tracking embeddings against a memory of recent tracks
    match_threshold: float = 0.5
    memory_frames: int = 5  # a track unseen for this many frames is forgotten
    memory_momentum: float = 0.8  # memory embedding <- m * memory + (1 - m) * new


@dataclass
class DataConfig:
    """Where training/validation clips come from and how they are augmented."""

    dataset: str = "kitti_step"  # kitti_step | cityscapes | synth
    root: str = ""
    train_split: str = "train"
    val_split: str = "val"
    clip_len: int = 3
    scale_range: tuple[float, float] = (0.75, 1.25)
    flip_prob: float = 0.5
    photometric: bool = True
    num_workers: int = 0
    synth_sequences: int = 4  # dataset == synth: generated on the fly into root
    synth_frames: int = 20
    synth_seed: int = 0
    synth_val_sequences: int = 2  # dataset == synth: val split, generated with synth_val_seed
    synth_val_seed: int = 1000
    augment: bool = True  # ClipAugment (scale/crop/flip/photometric) on training clips
    shuffle_track_ids: bool = True  # random injective track-id map per clip (video training)
    single_frame_prob: float = 0.0  # probability to zero a sample's whole conditioning (image training)
    track_id_order: str = "random"  # random (paper: random injective map) | spatial (order of appearance)
    eval_sequences: int = 2  # periodic evaluation: first N sequences of val_split
    eval_frames: int = 0  # periodic evaluation: at most N frames per sequence (0 = all)


@dataclass
class TrainConfig:
    """Optimisation and bookkeeping."""

    batch_size: int = 8
    max_steps: int = 100000
    lr: float = 1e-4
    weight_decay: float = 0.05
    warmup_steps: int = 1000
    grad_clip: float = 1.0
    ema_decay: float = 0.999
    precision: str = "fp32"  # fp32 | bf16 | fp16 (mixed precision on GPU only)
    seed: int = 0
    log_every: int = 20
    eval_every: int = 1000
    ckpt_every: int = 500
    eval_steps: int = 4  # sampling steps used by periodic evaluation
    eval_warm_start: bool = False  # periodic evaluation with the warm start
    min_lr_ratio: float = 0.01  # cosine decays to lr * min_lr_ratio at max_steps
    keep_every: int = 0  # also keep step_0001000.pt-style copies every N steps (0 = only last.pt)
    threads: int = 0  # torch intra-op CPU threads per process (0 = torch's default)
    init_from: str = ""  # start from this checkpoint's EMA weights (e.g. Cityscapes pre-training)
    # student stage (vps.train.student): "" = diffusion training | e2e | self_align | distill
    student: str = ""
    student_warm_prob: float = 0.5  # share of samples (with a t-1 mask) that start warm, not from noise
    student_steps: int = 1  # distill: the student's denoiser calls
    teacher_steps: int = 2  # distill: the teacher's denoiser calls (progressive: 2 x student_steps)
    teacher: str = ""  # distill: teacher checkpoint (default: init_from)


@dataclass
class Config:
    """A whole experiment: what ``vps-train --config`` reads and what checkpoints store."""

    name: str = "experiment"
    model: ModelConfig = field(default_factory=ModelConfig)
    diffusion: DiffusionConfig = field(default_factory=DiffusionConfig)
    knet: KNetConfig = field(default_factory=KNetConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _coerce(tp: Any, value: Any, where: str) -> Any:
    """Convert a YAML/JSON value to the annotated dataclass field type.

    Handles nested dataclasses, ``X | None``, unions of plain types (``int | str``: the value must be one of
    them), ``tuple[X, ...]`` / fixed tuples (from lists), ``dict[K, V]``, ``Any`` (kept as is), and refuses
    a value of the wrong plain type with a message naming the key path (``where``).
    """
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, where)
    if origin in (typing.Union, types.UnionType):
        return _coerce_union(typing.get_args(tp), value, where)
    if origin is tuple:
        return _coerce_tuple(typing.get_args(tp), value, where)
    if origin is dict:
        if not isinstance(value, dict):
            raise ValueError(f"{where}: expected a mapping, got {value!r}")
        kt, vt = typing.get_args(tp) or (Any, Any)
        return {_coerce(kt, k, f"{where}.{k}"): _coerce(vt, v, f"{where}.{k}") for k, v in value.items()}
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if tp in (int, str, bool) and (not isinstance(value, tp) or (tp is int and isinstance(value, bool))):
        raise ValueError(f"{where}: expected {tp.__name__}, got {value!r}")
    return value


def _coerce_union(args: tuple[Any, ...], value: Any, where: str) -> Any:
    """``X | None`` and unions of plain types: ``None`` where allowed, else the first type that fits."""
    if value is None and type(None) in args:
        return None
    options = [a for a in args if a is not type(None)]
    if len(options) == 1:
        return _coerce(options[0], value, where)
    for option in options:
        try:
            return _coerce(option, value, where)
        except ValueError:
            continue
    names = " or ".join(getattr(o, "__name__", str(o)) for o in options)
    raise ValueError(f"{where}: expected {names}, got {value!r}")


def _coerce_tuple(args: tuple[Any, ...], value: Any, where: str) -> tuple[Any, ...]:
    if not isinstance(value, list | tuple):
        raise ValueError(f"{where}: expected a list, got {value!r}")
    item_types = [args[0]] * len(value) if len(args) == 2 and args[1] is Ellipsis else list(args)
    if len(item_types) != len(value):
        raise ValueError(f"{where}: expected {len(item_types)} items, got {len(value)}")
    pairs = enumerate(zip(item_types, value, strict=True))
    return tuple(_coerce(t, v, f"{where}[{i}]") for i, (t, v) in pairs)


def to_plain(obj: Any) -> Any:
    """A dataclass (or nested containers of them) as JSON/YAML-ready dicts and lists: what
    :func:`from_dict` reads back."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {k: to_plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_plain(v) for v in obj]
    return obj


def from_dict(cls: type, data: dict[str, Any] | None, where: str = "config") -> Any:
    """Build dataclass ``cls`` from a plain dict, rejecting unknown keys and wrong types with the key's path.

    The one typed loader of the toolkit: configs (YAML) and export manifests (JSON) are read through it.
    Missing keys take the field default; a missing key without default is an error naming it.
    """
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; known: {sorted(fields)}")
    missing = sorted(n for n, f in fields.items() if n not in data and f.init and
                     f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
    if missing:
        raise ValueError(f"{where}: missing key(s) {missing}")
    values = {k: _coerce(hints[k], v, f"{where}.{k}") for k, v in data.items()}
    try:
        return cls(**values)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{where}: {e}") from None


def load_config(path: str | Path) -> Config:
    """Read a YAML experiment config; errors name the file and the offending key."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise ValueError(f"{path}: invalid YAML: {e}") from None
    try:
        return from_dict(Config, raw, where=str(path))
    except (TypeError, ValueError) as e:
        raise ValueError(str(e)) from None


def apply_overrides(config: Config, overrides: list[str]) -> Config:
    """``["train.lr=3e-4", "model.image_size=[64,128]"]`` -> a new validated Config (values are YAML)."""
    d = config.to_dict()
    for item in overrides:
        key, sep, raw = item.partition("=")
        parts = key.strip().split(".")
        if not sep or len(parts) < 2:
            raise ValueError(f"--set expects section.key=value, got {item!r}")
        node = d
        for p in parts[:-1]:
            if not isinstance(node.get(p), dict):
                raise ValueError(f"--set {item!r}: unknown section {p!r}")
            node = node[p]
        if parts[-1] not in node:
            raise ValueError(f"--set {item!r}: unknown key {parts[-1]!r}; known: {sorted(node)}")
        value = yaml.safe_load(raw)
        if isinstance(node[parts[-1]], float) and isinstance(value, str):  # YAML 1.1 reads 3e-4 as a string
            try:
                value = float(value)
            except ValueError:
                raise ValueError(f"--set {item!r}: expected a number") from None
        node[parts[-1]] = value
    return from_dict(Config, _lists(d), where="--set")


def _lists(obj: object) -> object:
    if isinstance(obj, dict):
        return {k: _lists(v) for k, v in obj.items()}
    if isinstance(obj, tuple):
        return [_lists(v) for v in obj]
    return obj
