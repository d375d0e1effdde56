"""The timing helper the benchmark scripts share (imported as ``timing``: the
scripts run as ``python benchmarks/<name>.py``, which puts this folder first on
the path)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_time(fn: Callable[[], object], repeats: int = 5, warm_up: bool = False) -> float:
    """Median wall time of ``repeats`` calls of ``fn`` (after one untimed call
    when ``warm_up``: allocations, caches, BLAS threads, compiled kernels)."""
    if warm_up:
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
