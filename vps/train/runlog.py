"""Rank-0 run logs: a CSV file (always) and TensorBoard scalars (when ``tensorboard`` imports)."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

CSV_FIELDS = ("step", "loss", "lr", "grad_norm", "time_s", "steps_per_s", "STQ", "AQ", "SQ")


class CsvLog:
    """Append-only CSV with a fixed header; on resume rows after the checkpoint's step are dropped,
    so the log of a resumed run equals the log of an uninterrupted one."""

    def __init__(self, path: str | Path, resume_step: int | None = None) -> None:
        self.path = Path(path)
        rows: list[dict[str, str]] = []
        if resume_step is not None and self.path.is_file():
            with self.path.open(newline="") as f:
                rows = [r for r in csv.DictReader(f) if r.get("step", "").isdigit()
                        and int(r["step"]) <= resume_step]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("w", newline="")
        self._writer = csv.DictWriter(self._file, fieldnames=CSV_FIELDS, extrasaction="ignore")
        self._writer.writeheader()
        for r in rows:
            self._writer.writerow(r)
        self._file.flush()

    def write(self, row: dict[str, Any]) -> None:
        self._writer.writerow({k: _fmt(v) for k, v in row.items()})
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def _fmt(v: Any) -> Any:
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.6g}"
    return v


class TensorBoard:
    """Thin optional wrapper around ``torch.utils.tensorboard.SummaryWriter`` (no-op if unavailable)."""

    def __init__(self, log_dir: str | Path) -> None:
        self.writer: Any = None
        try:
            from torch.utils.tensorboard import SummaryWriter
        except Exception:  # tensorboard is an optional extra
            return
        self.writer = SummaryWriter(log_dir=str(log_dir))

    @property
    def enabled(self) -> bool:
        return self.writer is not None

    def scalars(self, step: int, values: dict[str, float], prefix: str = "") -> None:
        if self.writer is None:
            return
        for k, v in values.items():
            if isinstance(v, int | float) and math.isfinite(v):
                self.writer.add_scalar(f"{prefix}{k}", v, step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
