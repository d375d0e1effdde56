"""Well-formed graphs with extreme parameter values through `nirc compile` on every
target, `nirc run --target` where that compiled, and `nirc run`, in one process under a memory limit, each command under a
time limit (run by tests/test_fuzz.py).

    python tests/fuzz_extremes.py SEED COUNT WORKDIR

The graphs are dense chains (Linear / Affine into LIF, IF, CubaLIF, an LI or
CubaLI readout last, some with recurrent weights), two LIF layers shaped for
Xylo, and small CNNs (Conv2d into IF or LIF, sum pools, a flatten and a dense
output layer). Their values are
drawn across the float range: 0, 1e-300, 1e-30 ... 1e300, normal noise at
those scales, an occasional inf, int and uniform arrays. Each value is finite
or refused by validation, but products of them (dt*r/tau, weights times
gains, a bias over a scale) pass the float range, which is what once gave
internal errors, IR that its verifier refused, and reports JSON cannot hold.
Prints one JSON line per case: the case and, per command, its exit code and
the first line of its diagnostic.
"""

from __future__ import annotations

import json
import resource
import signal
import sys
from pathlib import Path

import fuzz_verdicts
import numpy as np
from fuzz_verdicts import MEMORY_LIMIT, _run, _Timeout, write_graph

SCALES = [1e-300, 1e-30, 1e-3, 1.0, 1e3, 1e30, 1e300]
TARGETS = ("speck", "xylo", "loihi2", "spinnaker2")


def values(rng: np.random.Generator, shape: tuple[int, ...], positive: bool = False) -> np.ndarray:
    kind = int(rng.integers(10))
    if kind == 0:
        a = np.full(shape, float(rng.choice([0.0, *SCALES])))
    elif kind == 1:
        a = np.full(shape, float(rng.choice([np.inf, 1.0, 0.5])))
    else:
        a = rng.normal(0.0, float(rng.choice(SCALES)), shape)
    return np.abs(a) if positive else a


def neuron(kind: str, shape: tuple[int, ...], rng: np.random.Generator) -> tuple[str, dict]:
    def f(positive: bool = False) -> np.ndarray:
        return values(rng, shape, positive)

    zeros = np.zeros(shape)
    p = {
        "LIF": lambda: {"tau": f(True), "r": f(), "v_leak": f(), "v_threshold": f(), "v_reset": zeros},
        "IF": lambda: {"r": f(), "v_threshold": f(), "v_reset": zeros},
        "CubaLIF": lambda: {"tau_syn": f(True), "tau_mem": f(True), "r": f(), "v_leak": f(),
                            "v_threshold": f(), "v_reset": zeros, "w_in": f()},
        "LI": lambda: {"tau": f(True), "r": f(), "v_leak": f()},
        "CubaLI": lambda: {"tau_syn": f(True), "tau_mem": f(True), "r": f(), "v_leak": f(),
                           "w_in": f()},
    }[kind]()  # fmt: skip
    return kind, p


def dense_chain(rng: np.random.Generator) -> tuple[dict, list, str]:
    n = int(rng.choice([1, 3, 16]))
    nodes: dict = {"input": ("Input", {"shape": np.array([n])})}
    edges, prev, desc = [], "input", []
    depth = int(rng.integers(1, 4))
    for i in range(depth):
        m = int(rng.choice([1, 2, 10, 40]))
        kinds = ["LIF", "IF", "CubaLIF"] + (["LI", "CubaLI"] if i == depth - 1 else [])
        kind = str(rng.choice(kinds))
        w = values(rng, (m, n))
        nodes[f"w{i}"] = ("Affine", {"weight": w, "bias": values(rng, (m,))}) if rng.integers(2) \
            else ("Linear", {"weight": w})  # fmt: skip
        nodes[f"n{i}"] = neuron(kind, (m,), rng)
        edges += [(prev, f"w{i}"), (f"w{i}", f"n{i}")]
        if rng.integers(5) == 0:
            nodes[f"r{i}"] = ("Linear", {"weight": values(rng, (m, m))})
            edges += [(f"n{i}", f"r{i}"), (f"r{i}", f"n{i}")]
        prev, n = f"n{i}", m
        desc.append(f"{nodes[f'w{i}'][0]}->{kind}[{m}]")
    nodes["output"] = ("Output", {"shape": np.array([n])})
    edges.append((prev, "output"))
    return nodes, edges, " ".join(desc)


def two_lif_layers(rng: np.random.Generator) -> tuple[dict, list, str]:
    """Xylo's shape: a hidden LIF or CubaLIF layer (maybe recurrent) and an
    output one, positive thresholds and time constants above dt mostly, so
    that the quantizer, not the mapping rules, meets the extreme values."""

    def layer(m: int) -> tuple[str, dict]:
        tau = np.full(m, float(rng.choice([2e-3, 1e-2, 1.0, 1e30]))) if rng.integers(2) \
            else values(rng, (m,), True) + 2e-3  # fmt: skip
        p = {"r": values(rng, (m,)), "v_leak": np.zeros(m) if rng.integers(3) else values(rng, (m,)),
             "v_threshold": values(rng, (m,), True), "v_reset": np.zeros(m)}  # fmt: skip
        if rng.integers(2):
            return "LIF", {"tau": tau, **p}
        return "CubaLIF", {"tau_mem": tau, "tau_syn": tau * float(rng.choice([0.5, 1, 2])),
                           "w_in": np.ones(m), **p}  # fmt: skip

    n, h, o = int(rng.choice([2, 16])), int(rng.choice([1, 8, 64])), int(rng.choice([1, 4]))
    kh, ko = layer(h), layer(o)
    nodes: dict = {
        "input": ("Input", {"shape": np.array([n])}), "w0": ("Linear", {"weight": values(rng, (h, n))}),
        "h": kh, "w1": ("Linear", {"weight": values(rng, (o, h))}), "o": ko,
        "output": ("Output", {"shape": np.array([o])}),
    }  # fmt: skip
    edges = [("input", "w0"), ("w0", "h"), ("h", "w1"), ("w1", "o"), ("o", "output")]
    if rng.integers(3) == 0:
        nodes["rec"] = ("Linear", {"weight": values(rng, (h, h))})
        edges += [("h", "rec"), ("rec", "h")]
    return nodes, edges, f"{kh[0]}[{h}]{'+rec' if 'rec' in nodes else ''} -> {ko[0]}[{o}]"


def small_cnn(rng: np.random.Generator) -> tuple[dict, list, str]:
    c, h = int(rng.choice([1, 2])), int(rng.choice([4, 8, 9]))
    nodes: dict = {"input": ("Input", {"shape": np.array([c, h, h])})}
    edges, prev, desc = [], "input", []
    for i in range(int(rng.integers(1, 3))):
        o, k, st = int(rng.choice([1, 2, 4])), int(rng.choice([1, 2, 3, 5])), int(rng.choice([1, 2]))
        pad, dil = int(rng.choice([0, 1, 2])), int(rng.choice([1, 1, 2]))
        oh = (h + 2 * pad - dil * (k - 1) - 1) // st + 1
        if oh < 1:
            break
        nodes[f"c{i}"] = ("Conv2d", {
            "weight": values(rng, (o, c, k, k)), "bias": values(rng, (o,)),
            "stride": np.array([st, st]), "padding": np.array([pad, pad]),
            "dilation": np.array([dil, dil]), "groups": np.int64(1),
            "input_shape": np.array([h, h]),
        })  # fmt: skip
        uniform = bool(rng.integers(2))  # chips with one value per layer or channel
        kind, p = neuron(str(rng.choice(["IF", "IF", "LIF"])), (1,) if uniform else (o, oh, oh), rng)
        nodes[f"n{i}"] = (kind, {key: np.broadcast_to(v, (o, oh, oh)).copy() for key, v in p.items()})
        edges += [(prev, f"c{i}"), (f"c{i}", f"n{i}")]
        prev, c, h = f"n{i}", o, oh
        desc.append(f"conv{o}x{k}s{st}p{pad}d{dil}->{kind}[{oh}]")
        if h >= 2 and rng.integers(3) == 0:
            nodes[f"p{i}"] = ("SumPool2d", {"kernel_size": np.array([2, 2]),
                                            "stride": np.array([2, 2]), "padding": np.array([0, 0])})  # fmt: skip
            edges.append((prev, f"p{i}"))
            prev, h = f"p{i}", h // 2
            desc.append("pool2")
    m = int(rng.choice([2, 10]))
    nodes["flat"] = ("Flatten", {"start_dim": np.int64(0), "end_dim": np.int64(-1)})
    nodes["fc"] = ("Linear", {"weight": values(rng, (m, c * h * h))})
    nodes["out_n"] = neuron("IF", (m,), rng)
    nodes["output"] = ("Output", {"shape": np.array([m])})
    edges += [(prev, "flat"), ("flat", "fc"), ("fc", "out_n"), ("out_n", "output")]
    return nodes, edges, " ".join(desc)


def main(seed: int, count: int, work: Path) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    def on_alarm(signum, frame):
        raise _Timeout

    signal.signal(signal.SIGALRM, on_alarm)
    # a hang detector, not a speed test: a fresh cache compiles the chips'
    # simulator kernels inside the first compile that gets that far
    fuzz_verdicts.TIME_LIMIT_S = 180
    rng = np.random.default_rng(seed)
    for k in range(count):
        model = work / f"x{k}.nir"
        nodes, edges, what = (dense_chain, two_lif_layers, small_cnn)[k % 3](rng)
        write_graph(model, nodes, edges)
        approx = ["--allow-approximate"] if k % 2 else []
        results = {
            t: _run(["compile", str(model), "--target", t, "--dt", "1e-3", "--calib-steps", "30",
                     "-o", str(work / f"out_{t}"), *approx])
            for t in TARGETS
        }  # fmt: skip
        for t in TARGETS:  # the chip's simulation of what compiled
            if results[t][0] == 0:
                results[f"run {t}"] = _run(["run", str(model), "--target", t, "--dt", "1e-3",
                                            "--input", "random:T=10,B=2", *approx])  # fmt: skip
        results["run"] = _run(["run", str(model), "--dt", "1e-3", "--input", "random:T=10",
                               "-o", str(work / "out.npz")])  # fmt: skip
        print(json.dumps({"case": what, "results": results}), flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]))
