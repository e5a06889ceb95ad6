"""The one CUDA-graph mechanism without a GPU: keys, warm-up before capture, stream order, binding."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Hashable, Mapping
from typing import Any

import numpy as np
import pytest
import torch

from tests.runtime.fake_cuda import FakeCudaOps, FakeStream
from vps.runtime.backends.cuda_graph import GraphCache, Prepared, on_own_stream


class Doubler:
    """``setup`` for a graph computing ``y = 2 * x + ctx``: static buffers per key, body submitted as work."""

    def __init__(self, ops: FakeCudaOps) -> None:
        self.ops, self.setups, self.calls = ops, [], 0

    def __call__(self, key: Hashable, feeds: Mapping[str, Any]) -> Prepared:
        self.setups.append(key)
        inputs = {n: self.ops.empty(tuple(t.shape), torch.float32) for n, t in feeds.items()}
        out = self.ops.empty(tuple(feeds["x"].shape), torch.float32)

        def body(stream: int) -> Any:
            assert stream == self.ops.handle(self.ops.current)  # enqueued on the stream it is told
            self.calls += 1
            self.ops.submit(lambda: out.copy_(2 * inputs["x"] + inputs["ctx"]))
            return {"y": out}

        return Prepared(inputs, body)


def _cache(ops: FakeCudaOps, **kw: Any) -> tuple[GraphCache, Doubler]:
    setup = Doubler(ops)
    return GraphCache(setup, ops, per_frame=("ctx",), **kw), setup


def test_capture_once_per_key_then_replay_reads_the_static_buffers() -> None:
    ops = FakeCudaOps()
    cache, setup = _cache(ops, warmup=2)
    ctx = torch.ones(2, 3)
    for step in range(3):
        x = torch.full((2, 3), float(step))
        y = cache.run("2x3", {"x": x, "ctx": ctx})["y"]
        torch.testing.assert_close(y, 2 * x + ctx)
    assert setup.setups == ["2x3"] and setup.calls == 3  # 2 warm-ups + 1 captured call, then replays only
    x = torch.full((1, 3), 5.0)
    torch.testing.assert_close(cache.run("1x3", {"x": x, "ctx": torch.zeros(1, 3)})["y"], 2 * x)
    assert setup.setups == ["2x3", "1x3"] and len(cache) == 2
    assert [e[0] for e in ops.timeline].count("capture") == 2


def test_per_frame_inputs_are_bound_once_per_frame_not_per_step() -> None:
    ops = FakeCudaOps()
    cache, _ = _cache(ops)
    for frame in range(3):
        ctx = torch.full((2, 3), float(frame))  # a new context tensor per frame
        for step in range(4):
            x = torch.full((2, 3), float(step))
            torch.testing.assert_close(cache.run("k", {"x": x, "ctx": ctx})["y"], 2 * x + ctx)
    assert cache.copies == {"x": 12, "ctx": 3}
    ctx.add_(1.0)  # modified in place: torch's version counter changes, so it is bound again
    y = cache.run("k", {"x": torch.zeros(2, 3), "ctx": ctx})["y"]
    torch.testing.assert_close(y, ctx)
    assert cache.copies["ctx"] == 4


def test_work_is_ordered_on_the_own_stream_both_ways() -> None:
    ops = FakeCudaOps()
    own = FakeStream(0x99)
    cache, _ = _cache(ops, stream=own)
    cache.run("k", {"x": torch.zeros(1, 2), "ctx": torch.zeros(1, 2)})
    kinds = [(e[0], e[1]) for e in ops.timeline]
    assert kinds[0] == ("wait", own) and ops.timeline[0][2] is ops.default  # own waits for the caller first
    assert kinds[-1] == ("wait", ops.default) and ops.timeline[-1][2] is own  # the caller waits at the end
    assert all(e[1] is own for e in ops.timeline[1:-1])  # copies, capture, replay: all on the own stream


def test_bad_feeds_and_settings_are_one_line_errors() -> None:
    ops = FakeCudaOps()
    cache, _ = _cache(ops)
    cache.run("k", {"x": torch.zeros(1, 2), "ctx": torch.zeros(1, 2)})
    with pytest.raises(ValueError, match=r"graph.x: shape \(2, 2\) differs from the captured buffer's"):
        cache.run("k", {"x": torch.zeros(2, 2), "ctx": torch.zeros(1, 2)})
    with pytest.raises(ValueError, match=r"inputs \['z'\] have no static buffer"):
        cache.run("k", {"z": torch.zeros(1, 2)})
    with pytest.raises(ValueError, match="warmup must be >= 1"):
        GraphCache(Doubler(ops), ops, warmup=0)


def test_on_own_stream_restores_the_callers_stream() -> None:
    ops = FakeCudaOps()
    own = ops.new_stream()
    with on_own_stream(ops, own) as s:
        assert s is own and ops.current_stream() is own
    assert ops.current_stream() is ops.default


def test_module_imports_without_torch() -> None:
    code = ("import sys; sys.modules['torch'] = None\n"
            "import vps.runtime.backends.cuda_graph as m\n"
            "assert m.GraphCache and 'torch' not in [k for k, v in sys.modules.items() if v is not None]")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_frame_style_use_shared_buffers_host_feeds_and_two_warmups() -> None:
    """How FrameGraphs maps onto the cache: key = warm start or not, one set of input buffers for both
    keys, NumPy feeds copied in per frame, two eager warm-ups (Triton compiles on the first)."""
    ops = FakeCudaOps()
    shared = {"image": ops.empty((1, 4), torch.float32), "x_init": ops.empty((1, 4), torch.float32)}
    runs: dict[bool, int] = {False: 0, True: 0}

    def setup(warm: Hashable, feeds: Mapping[str, Any]) -> Prepared:
        out = ops.empty((1, 4), torch.float32)

        def body(stream: int) -> Any:
            runs[bool(warm)] += 1
            ops.submit(lambda: out.copy_(shared["image"] + (shared["x_init"] if warm else 0)))
            return out

        return Prepared(shared, body)

    cache = GraphCache(setup, ops, warmup=2)
    image, x_init = np.full((1, 4), 2.0, np.float32), np.full((1, 4), 0.5, np.float32)
    np.testing.assert_allclose(cache.run(False, {"image": image}).numpy(), image)
    np.testing.assert_allclose(cache.run(True, {"image": image, "x_init": x_init}).numpy(), image + x_init)
    np.testing.assert_allclose(cache.run(False, {"image": 2 * image}).numpy(), 2 * image)
    assert runs == {False: 3, True: 3} and len(cache) == 2  # 2 warm-ups + 1 capture each, then replays
