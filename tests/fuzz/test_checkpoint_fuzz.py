"""Fuzz: checkpoint loading of damaged files and foreign payloads gives one DataError line naming the file,
always with ``weights_only`` (never PyTorch's advice to load untrusted pickles)."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from vps.errors import DataError  # noqa: E402
from vps.model.checkpoint import FORMAT, VERSION, load_checkpoint  # noqa: E402


def _valid_bytes() -> bytes:
    buf = io.BytesIO()
    torch.save({"format": FORMAT, "version": VERSION, "step": 3, "config": {}, "meta": {}, "layout": {},
                "ema_weights": {"w": torch.arange(64, dtype=torch.float32)}}, buf)
    return buf.getvalue()


VALID = _valid_bytes()
REASONS = ("checkpoint file is empty", "truncated", "damaged", "not a vps checkpoint",
           "not a PyTorch checkpoint", "checkpoint version", "checkpoint lacks", "checkpoint step",
           "checkpoint field", "checkpoint ema_weights")

json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8)


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["truncate", "flip", "random", "payload"]))
    if kind == "random":
        return draw(st.binary(max_size=600))
    if kind == "truncate":
        return VALID[: draw(st.integers(0, len(VALID) - 1))]
    if kind == "flip":
        data = bytearray(VALID)
        pos = draw(st.integers(0, len(data) - 1))
        blob = draw(st.binary(min_size=1, max_size=8))
        data[pos:pos + len(blob)] = blob
        return bytes(data)
    payload = {"format": FORMAT, "version": VERSION, "step": 0, "config": {}, "meta": {}, "layout": {},
               "ema_weights": {}}
    key = draw(st.sampled_from(sorted(payload)))
    payload[key] = draw(json_like)
    buf = io.BytesIO()
    torch.save(payload, buf)
    return buf.getvalue()


@given(damaged())
def test_damaged_checkpoints_raise_one_line_data_errors(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ckpt.pt"
        path.write_bytes(data)
        try:
            ckpt = load_checkpoint(path)
        except DataError as e:
            text = str(e)
            assert text.startswith(f"{path}: ") and "\n" not in text and len(text) < 400
            assert "weights_only` set to `False`" not in text and "trust" not in text
            assert text[len(str(path)) + 2:].startswith(REASONS), text  # ours, complete, never torch's
        else:
            assert isinstance(ckpt.step, int) and isinstance(ckpt.ema_weights, dict)
