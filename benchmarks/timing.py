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


def cold_and_warm(snippet: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Run ``snippet`` (Python printing its figures, in seconds, on one line)
    in a fresh process twice with one new, empty kernel cache: the first run
    compiles the numba kernels, the second loads them."""
    import os
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NIRC_CACHE_DIR=cache)
        env.pop("NUMBA_CACHE_DIR", None)
        out = []
        for _ in range(2):
            run = subprocess.run([sys.executable, "-c", snippet], env=env, check=True,
                                 capture_output=True, text=True)  # fmt: skip
            out.append(tuple(float(x) for x in run.stdout.split()))
    return out[0], out[1]


def machine() -> str:
    """The CPU as the compiled kernels see it (LLVM's name for the host and
    its widest vectors): figures from machines with and without AVX-512 differ
    by 2x for float64 arithmetic (8 lanes to 4)."""
    import os

    try:
        from llvmlite import binding

        name = binding.get_host_cpu_name()
        features = binding.get_host_cpu_features()
        width = "AVX-512" if features.get("avx512f") else "AVX2" if features.get("avx2") else "no AVX2"
        return f"{os.cpu_count()} CPUs, {name} ({width})"
    except Exception:  # llvmlite comes with numba, the fast extra
        return f"{os.cpu_count()} CPUs"
