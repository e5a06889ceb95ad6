"""The naive baseline: its Python post-processing is the toolkit's; it is the toolkit's PyTorch pipeline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from vps.bench.baseline import NaiveBaseline, postprocess_python
from vps.model.postprocess import postprocess_panoptic
from vps.runtime.postprocess import postprocess_panoptic as postprocess_numpy

THINGS = (11, 13)


def random_maps(seed: int, shape: tuple[int, ...]) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    cls = torch.randint(0, 20, shape, generator=g)
    cls[..., :3, :] = torch.randint(250, 300, (1,), generator=g)  # classes past the byte range
    inst = torch.randint(0, 7, shape, generator=g)
    inst[..., -2:, :] = torch.randint(250, 999, shape[:-2] + (2, shape[-1]), generator=g)  # ids > 255
    return cls * 1000 + inst


@pytest.mark.parametrize("seed", range(6))
def test_python_loop_postprocess_equals_the_toolkit(seed: int) -> None:
    pan = random_maps(seed, (2, 24, 40))
    min_area = [0, 1, 5, 30, 100, 7][seed]
    things = THINGS if seed % 3 else (1, 2, 11, 13, 255)
    min_part = [0, 3, 0, 1, 0, 5][seed]
    out = postprocess_python(pan, things, min_area, 1000, min_part)
    assert out.dtype == torch.int32
    assert torch.equal(out, postprocess_panoptic(pan, things, min_area, 1000, min_part))
    assert np.array_equal(postprocess_python(pan[0], things, min_area, 1000, min_part).numpy(),
                          postprocess_numpy(pan[0].numpy(), things, min_area, 1000, min_part))


def test_blocky_instances_and_ties() -> None:
    pan = torch.zeros(1, 8, 8, dtype=torch.int64)
    pan[0, :4, :4] = 13_005  # instance 5: 16 car pixels ...
    pan[0, 4:, :4] = 11_005  # ... and 16 person pixels: tie -> smallest class (11)
    pan[0, :2, 6:] = 13_009  # a 4-pixel instance below min_area
    out = postprocess_python(pan, THINGS, min_area=5)
    assert torch.equal(out, postprocess_panoptic(pan, THINGS, 5))
    assert set(out[0, :, :4].unique().tolist()) == {11_005}
    assert set(out[0, :2, 6:].unique().tolist()) == {13_000}
    with pytest.raises(ValueError):
        postprocess_python(pan[0, 0], THINGS)


def test_baseline_is_the_toolkit_pytorch_pipeline_timed(tiny_checkpoint: Path) -> None:
    """Same seed: the baseline's maps equal VideoPredictor's (cold start, same steps), per stage timed."""
    from vps.data.synth import generate_sequence
    from vps.model.inference import VideoPredictor
    from vps.model.samplers import DDIMSampler
    from vps.train.checkpoint import load_for_inference

    images, _ = generate_sequence(3, 2, (32, 64), split="bench")
    base = NaiveBaseline.from_checkpoint(tiny_checkpoint, steps=3, seed=5)
    model, config, meta = load_for_inference(tiny_checkpoint)
    ref = VideoPredictor(model, DDIMSampler(model.schedule, config.diffusion.td), 3, warm_start=False,
                         min_area=config.diffusion.min_instance_area,
                         min_part_area=config.diffusion.min_part_area, generator_seed=5,
                         thing_ids=meta.thing_ids)
    for _ in range(2):  # reset restarts the stream and the noise
        base.reset()
        ref.reset()
        for img in images:
            out = base.step(img)
            assert out.shape == (32, 64) and out.dtype == np.int32
            np.testing.assert_array_equal(out, ref.step(img))
    t = base.last_timings
    assert list(t) == ["preprocess", "encoder", "context", "denoise_0", "denoise_1", "denoise_2", "decode",
                       "postprocess", "total"]
    assert all(v >= 0 for v in t.values())
    assert sum(v for k, v in t.items() if k != "total") <= t["total"] + 1e-6  # laps partition the frame
    with pytest.raises(ValueError):
        NaiveBaseline(model, meta, steps=0)
