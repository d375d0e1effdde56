"""benchmarks/interpreter.py's account of why two measurements of one run
differ (issue #18): the threads, the machine's own speed, this process's
work, or other processes' load."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _load_benchmark():
    """The script as a module of its own name, its folder on the path only
    while it imports its neighbours (the folder's io.py, tasks.py... would
    shadow other modules for the rest of the session)."""
    spec = importlib.util.spec_from_file_location("nirc_benchmark_interpreter",
                                                  BENCHMARKS / "interpreter.py")  # fmt: skip
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(BENCHMARKS))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCHMARKS))
    return module


bench = _load_benchmark()

STEPS, BATCH = 1000, 32


def timed(wall: float, cpu_us: float, ref: float, threads: int = 2):
    t = bench.Timed(True, BATCH)
    t.wall, t.cpu = [wall] * 3, [cpu_us * STEPS * BATCH * 1e-6] * 3
    t.threads, t.load, t.own, t.ref = [threads] * 3, [0.5] * 3, [0.2] * 3, [ref] * 3
    return t


def diagnose(a, b) -> str:
    return bench._diagnose(a, b, STEPS, BATCH)


def test_the_machine_slower_during_one_set_of_runs_is_named_as_such():
    said = diagnose(timed(0.25, 15.2, 1.00), timed(0.35, 21.6, 1.45))
    assert "machine's own speed moved" in said and "1.00 vs 1.45" in said
    assert "OpenBLAS" not in said


def test_more_cpu_time_at_the_same_machine_speed_is_this_processes_work():
    said = diagnose(timed(0.35, 21.6, 1.02), timed(0.25, 15.2, 1.00))
    assert "same machine speed" in said and "OpenBLAS" in said
    said = diagnose(timed(0.25, 15.2, 1.00), timed(0.35, 21.6, 1.02))
    assert "same machine speed" in said and "warm loop did more work" in said


def test_threads_then_load_then_nothing():
    assert "different threads" in diagnose(timed(0.25, 15, 1.0), timed(0.4, 15, 1.0, threads=1))
    assert "other processes" in diagnose(timed(0.25, 15, 1.0), timed(0.4, 15.5, 1.0))
    assert diagnose(timed(0.25, 15, 1.0), timed(0.27, 21, 1.5)) == "the same within 15%"


def test_the_probe_times_the_reference_loop():
    ns = bench.probe()
    assert 0.01 < ns < 100  # ns per 8 float64 additions, on any machine
