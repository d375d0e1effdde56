"""Generated graphs and command lines through every command, in one process under
a memory limit, each command under a time limit (run by tests/test_fuzz.py).

    python tests/fuzz_verdicts.py SEED COUNT WORKDIR

Prints one JSON line per case: the case, and per command its exit code and the
first line of its diagnostic. The test asserts exit codes in {0, 2} (never an
internal error), the same verdict from show / import / run / export, and no
time-outs. The memory limit (RLIMIT_AS) makes a file that asks for absurd
allocations fail fast instead of taking the machine down.
"""

from __future__ import annotations

import contextlib
import io
import json
import resource
import signal
import sys
from pathlib import Path

import h5py
import numpy as np

MEMORY_LIMIT = 3 << 30
TIME_LIMIT_S = 20

KINDS = ["Linear", "Affine", "Scale", "LIF", "IF", "LI", "CubaLIF", "CubaLI", "I",
         "Threshold", "Delay", "Flatten"]  # fmt: skip
NAMES = ["fc", "lif", "a.b", "café", "神经", "x\x1b[1m", "n-1", "0", "w_rec", "sub.lif"]


def _ds(g, name, value) -> None:
    if isinstance(value, str):
        g.create_dataset(name, data=value, dtype=h5py.string_dtype())
    else:
        g.create_dataset(name, data=value)


def _params(kind: str, n: int, rng: np.random.Generator) -> dict:
    def arr(v=1.0, shape=(n,)):
        a = np.full(shape, v)
        roll = rng.integers(12)
        if roll == 0:
            return np.float64(v)  # 0-d
        if roll == 1:
            return a.astype(np.int8)
        if roll == 2:
            return a.astype(np.bool_)
        if roll == 3:
            return a * 1e300
        return a

    tau = lambda: np.abs(arr(0.01)) + (0 if rng.integers(20) else 1e-320)  # noqa: E731
    if kind in ("Linear", "Affine"):
        m = int(rng.choice([n, n, n + 1, 1]))
        p = {"weight": arr(0.5, (m, n))}
        if kind == "Affine":
            p["bias"] = arr(0.1, (m,))
        return p
    if kind == "Scale":
        return {"scale": arr(2.0)}
    if kind == "Threshold":
        return {"threshold": arr(0.5)}
    if kind == "Delay":
        return {"delay": np.abs(arr(1e-3)) * float(rng.choice([1, 1, 1e6, 1e305]))}
    if kind == "Flatten":
        return {"start_dim": np.int64(rng.integers(-2, 2)), "end_dim": np.int64(-1)}
    p = {"r": arr(1.0)}
    if kind in ("LIF", "LI"):
        p.update(tau=tau(), v_leak=arr(0.0))
    if kind in ("CubaLIF", "CubaLI"):
        p.update(tau_syn=tau(), tau_mem=tau(), v_leak=arr(0.0))
    if kind in ("LIF", "IF", "CubaLIF"):
        p["v_threshold"] = arr(1.0)
    return p


def make_graph(path: Path, rng: np.random.Generator) -> str:
    n = int(rng.choice([1, 3, 4, 0 if rng.integers(30) == 0 else 4]))
    length = int(rng.integers(1, 5))
    kinds = [str(rng.choice(KINDS)) for _ in range(length)]
    names = []
    for i in range(length):
        base = str(rng.choice(NAMES)) if rng.integers(4) == 0 else f"n{i}"
        names.append(base if base not in names else f"{base}{i}")
    nodes = {"input": ("Input", {"shape": np.array([n] if rng.integers(8) else [1])})}
    for k, name in zip(kinds, names):
        nodes[name] = (k, _params(k, n, rng))
    nodes["output"] = ("Output", {"shape": np.array([n])})
    chain = ["input", *names, "output"]
    edges = list(zip(chain[:-1], chain[1:]))
    extra = int(rng.integers(6))
    if extra == 0 and length > 1:
        edges.append((names[-1], names[0]))  # a recurrent edge
    elif extra == 1:
        edges.append(("output", names[0]))  # out of an Output
    elif extra == 2:
        nodes["loop"] = ("LIF", _params("LIF", n, rng))
        edges += [("loop", "loop")]  # a cycle no Input reaches
    elif extra == 3:
        edges.append((names[0], "nowhere"))
    meta = None
    if rng.integers(6) == 0:
        meta = {"dt": rng.choice([1e-3, -1.0, 0.0]) if rng.integers(3) else "1e-3"}
    write_graph(path, nodes, edges, meta)
    return f"{' -> '.join(f'{k}' for k in kinds)} n={n} extra={extra}"


def write_graph(path: Path, nodes: dict, edges: list, meta: dict | None = None) -> None:
    """A NIR 1.0.8 file of ``{name: (type, {field: value})}`` and edges."""
    with h5py.File(path, "w") as f:
        _ds(f, "version", "1.0.8")
        top = f.create_group("node")
        _ds(top, "type", "NIRGraph")
        g = top.create_group("nodes")
        for name, (kind, params) in nodes.items():
            ng = g.create_group(name)
            _ds(ng, "type", kind)
            for k, v in params.items():
                _ds(ng, k, v)
        top.create_dataset(
            "edges", data=np.array(edges, dtype=object).astype(h5py.string_dtype())
        )
        if meta is not None:
            mg = top.create_group("metadata")
            for k, v in meta.items():
                _ds(mg, k, v)


MISUSE = [
    ["run", "{m}", "--input", "random:p=2"], ["run", "{m}", "--input", "random:T=0"],
    ["run", "{m}", "--steps", "0", "--input", "random:T=3"], ["run", "{m}", "--dt", "-1"],
    ["run", "{m}", "--dt", "nan", "--input", "random:T=3"], ["run", "{m}", "--batch", "-3"],
    ["run", "{m}", "--input", "{w}/missing.npz"], ["run", "{m}", "--record", "nothing.v"],
    ["run", "{m}", "--input", "random:T=3", "--integrator", "rk4"],
    ["compile", "{m}", "--target", "nowhere"], ["compile", "{m}", "--target", "xylo",
                                                 "--calib-rate", "7"],
    ["compile", "{m}", "--target", "speck", "--calib-steps", "0"],
    ["compile", "{m}", "--target", "xylo", "--variant", "audio9"],
    ["opt", "{m}", "-p", "discretize{dt=-1}"], ["opt", "{m}", "-p", "fuse{x=1}"],
    ["opt", "{m}", "-p", "nonsense"], ["show", "{w}"], ["import", "{w}/missing.nir"],
    ["export", "{m}", "-o", "{w}"],
]  # fmt: skip

VERDICT_COMMANDS = {
    "show": ["show", "{m}"],
    "import": ["import", "{m}", "-o", "{w}/o.mlir"],
    "run": ["run", "{m}", "--dt", "1e-3", "--input", "random:T=4", "-o", "{w}/o.npz"],
    "export": ["export", "{m}", "-o", "{w}/o.nir"],
}


class _Timeout(Exception):
    pass


def _run(args: list[str]) -> tuple[int | str, str]:
    from nirc.cli import main

    out, err = io.StringIO(), io.StringIO()
    signal.alarm(TIME_LIMIT_S)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code: int | str = main(args)
    except _Timeout:
        code = "timeout"
    except BaseException as e:  # noqa: BLE001 - what escapes main is the finding
        code = f"raised {type(e).__name__}: {e}"
    finally:
        signal.alarm(0)
    lines = [ln for ln in err.getvalue().splitlines() if ln.startswith(("error", "internal"))]
    return code, lines[0] if lines else ""


def main(seed: int, count: int, work: Path) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    def on_alarm(signum, frame):
        raise _Timeout

    signal.signal(signal.SIGALRM, on_alarm)
    rng = np.random.default_rng(seed)
    for k in range(count):
        model = work / f"g{k}.nir"
        what = make_graph(model, rng)
        def fill(args: list[str], model: Path = model) -> list[str]:
            return [a.replace("{m}", str(model)).replace("{w}", str(work)) for a in args]

        results = {c: _run(fill(args)) for c, args in VERDICT_COMMANDS.items()}
        misuse = MISUSE[k % len(MISUSE)]
        results["misuse " + " ".join(misuse[:1] + misuse[2:])] = _run(fill(misuse))
        print(json.dumps({"case": what, "results": results}), flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]))
