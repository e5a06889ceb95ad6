"""Peak memory: host resident set size from ``/proc`` and device memory from PyTorch's CUDA allocator.

* Host: ``VmHWM`` ("high water mark" of the resident set) in ``/proc/self/status``, the kernel's own peak
  RSS of the process; ``resource.getrusage`` is the fallback where ``/proc`` is missing. The peak can be
  reset (Linux >= 4.0: write ``5`` to ``/proc/self/clear_refs``), so each pipeline's blocks get their own
  peak. It is the whole process's RSS: every loaded model and the Python interpreter count.
* Device: ``torch.cuda.max_memory_allocated`` / ``max_memory_reserved`` (tensors PyTorch allocated, which
  includes TensorRT buffers held as torch tensors; ONNX Runtime's own CUDA arena is not seen), plus the
  device-wide used memory from ``cudaMemGetInfo`` (every allocator and process). ``None`` without CUDA.

Nothing here imports torch: it is consulted only if already imported by the pipelines.
"""

from __future__ import annotations

import resource
import sys
from pathlib import Path
from typing import Any

PROC_STATUS = Path("/proc/self/status")
CLEAR_REFS = Path("/proc/self/clear_refs")


def read_status_kb(path: Path = PROC_STATUS) -> dict[str, int]:
    """The ``kB`` fields of a ``/proc/<pid>/status`` file (e.g. ``VmRSS``, ``VmHWM``) as ints (kB)."""
    out: dict[str, int] = {}
    try:
        text = path.read_text()
    except OSError:
        return out
    for line in text.splitlines():
        key, _, value = line.partition(":")
        parts = value.split()
        if len(parts) == 2 and parts[1] == "kB" and parts[0].isdigit():
            out[key.strip()] = int(parts[0])
    return out


def current_rss_bytes() -> int | None:
    """Resident set size of this process now (bytes), or ``None`` where ``/proc`` is missing."""
    kb = read_status_kb().get("VmRSS")
    return None if kb is None else kb * 1024


def peak_rss_bytes() -> int:
    """Peak resident set size of this process (bytes) since start or the last :func:`reset_peak_rss`."""
    kb = read_status_kb().get("VmHWM")
    if kb is not None:
        return kb * 1024
    ru = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(ru if sys.platform == "darwin" else ru * 1024)  # macOS reports bytes, Linux kB


def reset_peak_rss() -> bool:
    """Reset the kernel's peak RSS to the current RSS; ``False`` where the kernel does not allow it."""
    try:
        CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def _cuda() -> Any | None:
    """The ``torch`` module if it is imported and CUDA is initialised, else ``None``."""
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available() or not torch.cuda.is_initialized():
        return None
    return torch


def reset_peak_device() -> None:
    """Reset PyTorch's peak-allocation counters (no-op without CUDA)."""
    torch = _cuda()
    if torch is not None:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()


def device_memory() -> dict[str, int | str] | None:
    """Peak device memory since :func:`reset_peak_device` (bytes) and the device name; ``None`` off GPU."""
    torch = _cuda()
    if torch is None:
        return None
    torch.cuda.synchronize()
    free, total = torch.cuda.mem_get_info()
    return {"device": torch.cuda.get_device_name(),
            "peak_allocated_bytes": int(torch.cuda.max_memory_allocated()),
            "peak_reserved_bytes": int(torch.cuda.max_memory_reserved()),
            "device_used_bytes": int(total - free), "device_total_bytes": int(total)}


class PeakTracker:
    """Peak host RSS (and device memory) per named phase, for phases that alternate.

    ``with tracker.phase("deployed"): ...`` resets the peaks on entry (where possible) and folds the
    peak on exit into that name's maximum, so two pipelines run in alternating blocks get separate peaks
    (each still includes whatever the other holds in memory).
    """

    def __init__(self) -> None:
        self.host: dict[str, int] = {}
        self.device: dict[str, dict[str, int | str]] = {}
        self.resettable = True

    def start(self) -> None:
        self.resettable = reset_peak_rss() and self.resettable
        reset_peak_device()

    def stop(self, name: str) -> None:
        self.host[name] = max(self.host.get(name, 0), peak_rss_bytes())
        dev = device_memory()
        if dev is not None:
            old = self.device.get(name)
            if old is not None:
                for k in ("peak_allocated_bytes", "peak_reserved_bytes", "device_used_bytes"):
                    dev[k] = max(int(dev[k]), int(old[k]))
            self.device[name] = dev

    def phase(self, name: str) -> _Phase:
        return _Phase(self, name)


class _Phase:
    def __init__(self, tracker: PeakTracker, name: str) -> None:
        self.tracker, self.name = tracker, name

    def __enter__(self) -> None:
        self.tracker.start()

    def __exit__(self, *exc: object) -> None:
        self.tracker.stop(self.name)
