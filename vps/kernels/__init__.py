"""GPU glue kernels (Triton) with reference twins; see each module's docstring."""

from vps.kernels.pair_histogram import pair_histogram

__all__ = ["pair_histogram"]
