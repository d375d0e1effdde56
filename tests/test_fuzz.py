"""Fuzz the whole front end: mutated corpus files must give a result or a diagnostic.

Each variant goes through `nirc show` in-process (read, validate, infer shapes,
import to IR). The command must return 0 or 2 (a diagnostic), never raise, never
report an internal error (exit 3), and never take more than a few seconds.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import signal
from pathlib import Path

import h5py
import numpy as np
import pytest

from nirc.cli import main

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
SEEDS = range(240)
TIME_LIMIT_S = 10


def _sources() -> list[Path]:
    files = sorted((CORPUS / "nir-1.0.8").glob("*.nir")) + sorted((CORPUS / "public").glob("*.nir"))
    return files


def _datasets(f: h5py.File) -> list[str]:
    names: list[str] = []
    f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
    return names


def _mutate_structure(path: Path, rng: np.random.Generator) -> str:
    with h5py.File(path, "r+") as f:
        names = _datasets(f)
        name = names[rng.integers(len(names))]
        ds = f[name]
        data = ds[()]
        parent, leaf = name.rsplit("/", 1) if "/" in name else ("", name)
        grp = f[parent] if parent else f
        kind = int(rng.integers(9))
        del grp[leaf]
        if kind == 0:
            return f"dropped {name}"
        if kind == 1:
            grp.create_dataset(leaf, data="not an array", dtype=h5py.string_dtype())
            return f"string in {name}"
        if kind == 2 and isinstance(data, np.ndarray) and data.dtype.kind in "fiu":
            grp.create_dataset(
                leaf, data=data.astype(np.int8 if data.dtype.kind == "f" else np.float16)
            )
            return f"dtype of {name}"
        if kind == 3 and isinstance(data, np.ndarray) and data.size > 1:
            grp.create_dataset(leaf, data=data.reshape(-1)[:-1])
            return f"shape of {name}"
        if kind == 4 and isinstance(data, np.ndarray) and data.dtype.kind == "f":
            bad = data.copy()
            bad.reshape(-1)[rng.integers(bad.size)] = [np.nan, np.inf, -1.0, 0.0][rng.integers(4)]
            grp.create_dataset(leaf, data=bad)
            return f"value in {name}"
        if kind == 5:
            grp.create_dataset(leaf, data=np.zeros((3, 3, 3), dtype=np.float64))
            return f"rank of {name}"
        if kind == 6 and isinstance(data, np.ndarray):
            grp.create_dataset(leaf, data=np.asarray(data).reshape(1, *np.shape(data)))
            return f"extra axis on {name}"
        if kind == 7 and "edges" in leaf:
            grp.create_dataset(
                leaf, data=np.array([[b"a", b"b", b"c"]], dtype=object), dtype=h5py.string_dtype()
            )
            return f"3 columns in {name}"
        grp.create_dataset(leaf, data=np.int64(7))
        return f"scalar in {name}"


def _make_variant(seed: int, tmp: Path) -> tuple[Path, str]:
    rng = np.random.default_rng(seed)
    sources = _sources()
    src = sources[seed % len(sources)]
    dst = tmp / f"v{seed}.nir"
    shutil.copyfile(src, dst)
    dst.chmod(0o644)
    mode = seed % 3
    if mode == 0:
        raw = bytearray(dst.read_bytes())
        for _ in range(int(rng.integers(1, 24))):
            raw[int(rng.integers(len(raw)))] = int(rng.integers(256))
        dst.write_bytes(bytes(raw))
        return dst, f"{src.name}: flipped bytes"
    if mode == 1:
        raw = dst.read_bytes()
        dst.write_bytes(raw[: int(rng.integers(len(raw)))])
        return dst, f"{src.name}: truncated"
    return dst, f"{src.name}: " + _mutate_structure(dst, rng)


class _Timeout(Exception):
    pass


@pytest.fixture(scope="module")
def variants(tmp_path_factory):
    if not CORPUS.is_dir():
        pytest.skip(f"corpus not found at {CORPUS} (expected ../shared/corpus beside the project)")
    tmp = tmp_path_factory.mktemp("fuzz")
    return [_make_variant(seed, tmp) for seed in SEEDS]


def test_fuzzed_files_give_result_or_diagnostic(variants):
    assert len(variants) >= 200

    def on_alarm(signum, frame):
        raise _Timeout

    old = signal.signal(signal.SIGALRM, on_alarm)
    outcomes = {0: 0, 2: 0}
    try:
        for path, what in variants:
            out, err = io.StringIO(), io.StringIO()
            signal.alarm(TIME_LIMIT_S)
            try:
                with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                    code = main(["show", str(path)])
            except _Timeout:
                pytest.fail(f"{what}: took more than {TIME_LIMIT_S} s")
            finally:
                signal.alarm(0)
            assert code in (0, 2), f"{what}: exit {code}\n{err.getvalue()}"
            if code == 2:
                assert err.getvalue().startswith("error: "), f"{what}: {err.getvalue()!r}"
                assert "Traceback" not in err.getvalue()
            outcomes[code] += 1
    finally:
        signal.signal(signal.SIGALRM, old)
    # the mutations must actually break files, and some must survive
    assert outcomes[2] >= 50, outcomes


def _script_cases(script: str, seed: int, count: int, work: Path) -> list[dict]:
    """The JSON lines of one of the fuzz scripts beside this file, run in a
    process of its own (it sets a memory limit), one per case."""
    import json
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, str(Path(__file__).with_name(script)), str(seed), str(count), str(work)],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    cases = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(cases) == count
    return cases


def test_generated_graphs_one_verdict_and_no_internal_errors(tmp_path: Path) -> None:
    """Generated graphs (0-d, int and bool parameters, huge values, recurrent and
    undriven cycles, edges out of Outputs, odd names, bad dt metadata) through
    show / import / run / export, and command-line misuse, in one process under
    a memory limit (tests/fuzz_verdicts.py): exit 0 or 2 only, never a time-out,
    and one verdict per file from every reading command."""
    cases = _script_cases("fuzz_verdicts.py", 3, 150, tmp_path)
    verdicts: dict[int, int] = {}
    for c in cases:
        for command, (code, first) in c["results"].items():
            assert code in (0, 2), f"{c['case']}: {command} -> {code} {first}"
        reading = {k: tuple(v) for k, v in c["results"].items() if not k.startswith("misuse")}
        assert len(set(reading.values())) == 1, f"{c['case']}: {reading}"
        code = next(iter(reading.values()))[0]
        verdicts[code] = verdicts.get(code, 0) + 1
    assert verdicts.get(0, 0) >= 5 and verdicts.get(2, 0) >= 5, verdicts  # both kinds occur


def test_extreme_values_compile_or_get_a_diagnostic_on_every_target(tmp_path: Path) -> None:
    """Well-formed dense chains and small CNNs whose values span the float range
    (tests/fuzz_extremes.py) through `nirc compile` for the four chips, `nirc
    run --target` on what compiled and `nirc run`: exit 0 or 2 only, a diagnostic that names no IR verifier (a
    product past the float range is the file's doing, refused where it is
    formed), and both verdicts occur."""
    cases = _script_cases("fuzz_extremes.py", 5, 150, tmp_path)
    compiled: dict[str, int] = {}
    for c in cases:
        for command, (code, first) in c["results"].items():
            assert code in (0, 2), f"{c['case']}: {command} -> {code} {first}"
            assert code == 0 or first.startswith("error: "), f"{c['case']}: {command}: {first}"
            assert "does not verify" not in first, f"{c['case']}: {command}: {first}"
            compiled[command] = compiled.get(command, 0) + (code == 0)
    # some of every kind get through (this seed: run 107, SpiNNaker2 36, Xylo 15, Loihi 2 11,
    # Speck 5 of 150), and every chip runs what it compiled
    assert compiled["run"] >= 50 and compiled["spinnaker2"] >= 10, compiled
    assert min(compiled["speck"], compiled["loihi2"], compiled["xylo"]) >= 3, compiled
    for t in ("speck", "xylo", "loihi2", "spinnaker2"):
        assert compiled[f"run {t}"] == compiled[t], compiled
