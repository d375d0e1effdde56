"""Make the Loihi 2 fixtures under tests/data/loihi2/ with Intel's lava itself.

Not part of the default test run (pytest does not collect this folder's
scripts, and CI has no lava). Run it with the lava venv made by
../shared/tools/lava_setup.sh, from the repository root:

    /tmp/lab/venv-lava/bin/python tests/loihi2/make_lava_fixtures.py [--only NAME ...]

It needs nirc's own venv for the round trips (``NIRC`` in the environment,
default ``.venv/bin/nirc``). Two kinds of fixtures:

1. Networks written here as netx files (``<name>.net``), run in lava's
   ``Loihi2SimCfg(select_tag='fixed_pt')`` with every layer's spikes, u and v
   recorded at every step (``<name>_expected.npz``: ``input`` [T, *lava input
   shape... ] in nirc's [T, *shape] order, ``s<k>``/``u<k>``/``v<k>`` [T, n]
   in nirc's flat C order, and the run's ``input_bits``, ``reset_interval``,
   ``reset_offset``): conv layers (stride, padding, dilation, groups, bias,
   flatten), dense_rec, delays (per synapse and per input neuron), graded
   input spikes, netx's per-layer resets, a long run, random networks with
   every sign mode, per-neuron decays; and the model.net of two small models
   compiled with nirc's replica constructions (``replicas``: a hidden layer
   of ladder replicas with relays, an output integrator with current
   encoders, graded inputs, a compressed and mostly zero ``weight_rec``;
   ``rsynaptic``: recurrent integrators with encoders and an always-on bias
   neuron; ``integrator``: Sinabs-style counts of IF neurons, three replicas
   and a silent neuron per layer), every state recorded.
2. Round trips: models compiled by ``nirc compile --target loihi2``; lava
   loads their ``model.net`` through the emitted ``run_lava.py`` (executed
   here, in lava), whose outputs ``roundtrip_<name>/lava_outputs.npz`` must
   equal ``nirc run --target loihi2`` on the same inputs
   (``roundtrip_<name>/inputs.npz``); the compiled ``model.mlir`` and
   ``model.net`` are kept so that the test needs no compiler determinism
   beyond what it checks itself.

Every input is seeded: running the script again gives the same files.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "data" / "loihi2"
SHARED = ROOT.parent / "shared"
NIRC = os.environ.get("NIRC", str(ROOT / ".venv" / "bin" / "nirc"))


# --------------------------------------------------------------------------------------
# writing netx files (the format, as lava-dl 0.6.0 reads it)
# --------------------------------------------------------------------------------------


def _type(g, name: str) -> None:
    g.create_dataset("type", data=np.array([name.encode()], "S10"))


def _neuron(g, i_decay, v_decay, v_th) -> None:
    n = g.create_group("neuron")
    _type(n, "CUBA")
    n.create_dataset("iDecay", data=np.asarray(i_decay, np.int64))
    n.create_dataset("vDecay", data=np.asarray(v_decay, np.int64))
    n.create_dataset("vThMant", data=np.int64(v_th))
    n.create_dataset("refDelay", data=np.int64(1))
    n.create_dataset("gradedSpike", data=False)


def write_net(path: Path, input_shape, layers) -> None:
    """``layers``: dicts with ``type`` (dense, dense_rec, conv, flatten) and
    their fields."""
    with h5py.File(path, "w") as f:
        top = f.create_group("layer")
        g = top.create_group("0")
        _type(g, "input")
        g.create_dataset("shape", data=np.asarray(input_shape, np.int64))
        for i, spec in enumerate(layers, start=1):
            g = top.create_group(str(i))
            _type(g, spec["type"])
            if spec["type"] == "flatten":
                continue
            g.create_dataset("shape", data=np.asarray(spec["shape"], np.int64))
            g.create_dataset("weight", data=np.asarray(spec["weight"], np.float32))
            for key in ("weight_rec", "bias", "delay"):
                if key in spec:
                    g.create_dataset(key, data=np.asarray(spec[key], np.float32))
            for key in ("stride", "padding", "dilation", "groups"):
                if key in spec:
                    g.create_dataset(key, data=np.asarray(spec[key], np.int64))
            if "neuron" in spec:
                _neuron(g, *spec["neuron"])


# --------------------------------------------------------------------------------------
# running lava
# --------------------------------------------------------------------------------------


def lava_run(net_path: Path, x: np.ndarray, *, input_bits: int = 0,
             reset_interval: int | None = None, reset_offset: int = 0) -> dict:  # fmt: skip
    """Run ``x`` [T, *input shape in nirc order] through lava; every layer's
    spikes, u and v at every step as [T, n] in nirc's flat C order."""
    from lava.lib.dl import netx
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc import io
    from lava.proc.monitor.process import Monitor

    steps = x.shape[0]
    options: dict = {}
    if input_bits:
        options["input_message_bits"] = input_bits
    if reset_interval:
        options["reset_interval"] = reset_interval
        options["reset_offset"] = reset_offset
    net = netx.hdf5.Network(net_config=str(net_path), **options)
    data = np.transpose(x, (3, 2, 1, 0)) if x.ndim == 4 else x.reshape(steps, -1).T
    source = io.source.RingBuffer(data=np.ascontiguousarray(data.astype(np.int32)))
    source.s_out.connect(net.inp)
    sinks, monitors = [], []
    for layer in net.layers:
        sink = io.sink.RingBuffer(shape=layer.out.shape, buffer=steps)
        layer.out.connect(sink.a_in)
        sinks.append(sink)
        mu, mv = Monitor(), Monitor()
        mu.probe(layer.neuron.u, steps)
        mv.probe(layer.neuron.v, steps)
        monitors.append((mu, mv))
    net.run(condition=RunSteps(num_steps=steps), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
    out: dict = {}
    for k, (layer, sink, (mu, mv)) in enumerate(zip(net.layers, sinks, monitors)):
        s = np.asarray(sink.data.get())  # [*lava shape, T]
        u = np.asarray(mu.get_data()[layer.neuron.name]["u"])  # [T, *lava shape]
        v = np.asarray(mv.get_data()[layer.neuron.name]["v"])
        if s.ndim == 4:  # (W, H, C, T) -> (T, C, H, W)
            s = s.transpose(3, 2, 1, 0)
            u = u.reshape((steps,) + s.shape[1:][::-1]).transpose(0, 3, 2, 1)
            v = v.reshape((steps,) + s.shape[1:][::-1]).transpose(0, 3, 2, 1)
        else:
            s = s.T
        out[f"s{k}"] = s.reshape(steps, -1).astype(np.int64)
        out[f"u{k}"] = u.reshape(steps, -1).astype(np.int64)
        out[f"v{k}"] = v.reshape(steps, -1).astype(np.int64)
    net.stop()
    return out


def save(name: str, net_path: Path, x: np.ndarray, **run) -> None:
    res = lava_run(net_path, x, **run)
    np.savez_compressed(OUT / f"{name}_expected.npz", input=x.astype(np.int32),
                        input_bits=np.int64(run.get("input_bits", 0)),
                        reset_interval=np.int64(run.get("reset_interval") or 0),
                        reset_offset=np.int64(run.get("reset_offset", 0)), **res)  # fmt: skip
    print(f"{name}: " + ", ".join(f"{k} {int(v.sum())} spikes" for k, v in res.items()
                                  if k.startswith("s")))  # fmt: skip


# --------------------------------------------------------------------------------------
# the networks
# --------------------------------------------------------------------------------------


def spikes(rng, steps, shape, p=0.2) -> np.ndarray:
    return (rng.random((steps,) + tuple(shape)) < p).astype(np.int64)


def conv_net() -> None:
    rng = np.random.default_rng(11)
    # [2, 9, 8] -> conv 4x2x3x2, stride (2, 1), padding (1, 0), dilation (1, 2), bias
    #   -> [4, 5, 5] -> grouped conv (2 groups) 6x2x2x2 -> [6, 4, 4] -> flatten -> dense 5
    c1 = rng.integers(-60, 80, (4, 2, 3, 2))
    c2 = rng.integers(-90, 90, (6, 2, 2, 2))
    path = OUT / "conv.net"
    write_net(path, (2, 9, 8), [
        dict(type="conv", shape=(4, 5, 6), weight=c1, stride=(2, 1), padding=(1, 0),
             dilation=(1, 2), groups=1, bias=[5, -3, 0, 2], neuron=(1024, 128, 60)),
        dict(type="conv", shape=(6, 4, 5), weight=c2, stride=(1, 1), padding=(0, 0),
             dilation=(1, 1), groups=2, neuron=(4096, 256, 90)),
        dict(type="flatten"),
        dict(type="dense", shape=(5,), weight=rng.integers(-128, 127, (5, 120)),
             neuron=(2048, 512, 150)),
    ])  # fmt: skip
    save("conv", path, spikes(rng, 60, (2, 9, 8), 0.3))


def dense_rec_net() -> None:
    rng = np.random.default_rng(12)
    path = OUT / "dense_rec.net"
    write_net(path, (10,), [
        dict(type="dense_rec", shape=(7,), weight=rng.integers(-100, 120, (7, 10)),
             weight_rec=rng.integers(-80, 60, (7, 7)), bias=rng.integers(-20, 40, 7),
             neuron=(512, 300, 100)),
        dict(type="dense", shape=(3,), weight=rng.integers(-100, 120, (3, 7)),
             neuron=(4096, 100, 80)),
    ])  # fmt: skip
    save("dense_rec", path, spikes(rng, 80, (10,), 0.25))


def delay_net() -> None:
    rng = np.random.default_rng(13)
    path = OUT / "delays.net"
    write_net(path, (6,), [
        dict(type="dense", shape=(5,), weight=rng.integers(-60, 120, (5, 6)),
             delay=rng.integers(0, 9, (5, 6)), neuron=(1024, 256, 70)),
        dict(type="dense", shape=(4,), weight=rng.integers(0, 200, (4, 5)),
             delay=[0, 3, 1, 7, 2], neuron=(2048, 128, 120)),
    ])  # fmt: skip
    save("delays", path, spikes(rng, 70, (6,), 0.3))


def graded_net() -> None:
    rng = np.random.default_rng(14)
    path = OUT / "graded.net"
    write_net(path, (8,), [
        dict(type="dense", shape=(6,), weight=rng.integers(-40, 60, (6, 8)),
             neuron=(2048, 512, 300)),
        dict(type="dense", shape=(3,), weight=rng.integers(-50, 100, (3, 6)),
             neuron=(4096, 256, 60)),
    ])  # fmt: skip
    x = rng.integers(0, 16, (60, 8)) * (rng.random((60, 8)) < 0.5)
    save("graded", path, x, input_bits=8)
    path = OUT / "graded_conv.net"
    write_net(path, (1, 5, 5), [
        dict(type="conv", shape=(3, 5, 5), weight=rng.integers(-30, 40, (3, 1, 3, 3)),
             stride=(1, 1), padding=(1, 1), dilation=(1, 1), groups=1, neuron=(4096, 0, 200)),
    ])  # fmt: skip
    save("graded_conv", path, rng.integers(0, 5, (40, 1, 5, 5)), input_bits=8)


def reset_net() -> None:
    rng = np.random.default_rng(15)
    path = OUT / "reset.net"
    write_net(path, (6,), [
        dict(type="dense", shape=(5,), weight=rng.integers(-60, 120, (5, 6)),
             bias=rng.integers(-10, 30, 5), neuron=(1024, 256, 90)),
        dict(type="dense", shape=(3,), weight=rng.integers(-60, 150, (3, 5)),
             bias=[7, 0, -4], neuron=(2048, 512, 100)),
    ])  # fmt: skip
    save("reset", path, spikes(rng, 60, (6,), 0.3), reset_interval=17, reset_offset=1)


def long_net() -> None:
    rng = np.random.default_rng(16)
    path = OUT / "long.net"
    write_net(path, (12,), [
        dict(type="dense", shape=(9,), weight=rng.integers(-128, 127, (9, 12)),
             bias=rng.integers(-5, 5, 9), neuron=(300, 60, 150)),
        dict(type="dense", shape=(4,), weight=rng.integers(-128, 127, (4, 9)),
             neuron=(200, 30, 120)),
    ])  # fmt: skip
    save("long", path, spikes(rng, 2000, (12,), 0.15))


def random_nets(count: int = 4) -> None:
    rng = np.random.default_rng(17)
    for i in range(count):
        sizes = [int(rng.integers(3, 12)) for _ in range(int(rng.integers(2, 4)) + 1)]
        layers = []
        for k in range(1, len(sizes)):
            mode = rng.integers(0, 4)
            lo, hi = [(-256, 255), (0, 256), (-255, 1), (-8, 20)][mode]
            w = rng.integers(lo, hi, (sizes[k], sizes[k - 1]))
            top = int(np.abs(w).max()) or 1
            spec = dict(type="dense", shape=(sizes[k],), weight=w,
                        neuron=(int(rng.integers(0, 4097)), int(rng.integers(0, 1500)),
                                int(rng.integers(1, max(2, top // 2)))))  # fmt: skip
            if rng.random() < 0.5:
                spec["bias"] = rng.integers(-top // 4, top // 2 + 1, sizes[k])
            if rng.random() < 0.3:  # per-neuron decays
                spec["neuron"] = (rng.integers(0, 4097, sizes[k]), rng.integers(0, 1500, sizes[k]),
                                  spec["neuron"][2])  # fmt: skip
            layers.append(spec)
        path = OUT / f"random{i}.net"
        write_net(path, (sizes[0],), layers)
        save(f"random{i}", path, spikes(rng, 100, (sizes[0],), float(rng.uniform(0.1, 0.5))))


# --------------------------------------------------------------------------------------
# round trips: nirc compile -> lava runs model.net through run_lava.py
# --------------------------------------------------------------------------------------


def _graph(tmp: Path, script: str) -> Path:
    """A graph of graphs.py written as a .nir file (by nirc's python)."""
    path = tmp / f"{script}.nir"
    subprocess.run([str(Path(NIRC).with_name("python")), str(Path(__file__).with_name("graphs.py")),
                    script, str(path)], check=True)  # fmt: skip
    return path


def _replica_models(tmp: Path) -> dict[str, tuple[Path, list[str], np.ndarray, str]]:
    """The small models built of replicas: (model, compile options, inputs [T,
    B, *shape], input name), their calibration files written into ``tmp``."""
    rng = np.random.default_rng(23)
    counts = (rng.integers(0, 7, (60, 16, 4)) * (rng.random((60, 16, 4)) < 0.5)).astype(np.int64)
    np.savez(tmp / "counts_calib.npz", input=counts)
    binary = (rng.random((60, 16, 3)) < 0.3).astype(np.int64)
    np.savez(tmp / "rsynaptic_calib.npz", **{"in": binary})
    dense = (rng.random((50, 16, 10)) < 0.6).astype(np.int64)
    np.savez(tmp / "integrator_calib.npz", input=dense)
    return {
        "integrator": (_graph(tmp, "make_integrator_graph"),
                       ["--source", "sinabs", "--replicas", "3", "--calibrate",
                        str(tmp / "integrator_calib.npz")], dense[:, :3], "input"),
        "counts": (_graph(tmp, "make_counts_graph"),
                   ["--source", "rockpool", "--calibrate", str(tmp / "counts_calib.npz")],
                   counts[:, :3], "input"),
        "rsynaptic": (_graph(tmp, "make_rsynaptic_graph"),
                      ["--source", "snntorch", "--calibrate", str(tmp / "rsynaptic_calib.npz")],
                      binary[:, :3], "in"),
    }  # fmt: skip


def replica_nets() -> None:
    """The model.net of the replica models, run in lava with every state
    recorded (as nirc runs them: graded inputs when the calibration had
    counts, netx's resets at T + latency)."""
    import json

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for name, (model, options, x, _) in _replica_models(tmp).items():
            out = tmp / name
            subprocess.run([NIRC, "compile", str(model), "--target", "loihi2", "-o", str(out)]
                           + options, check=True, capture_output=True)  # fmt: skip
            report = json.loads((out / "report.json").read_text())
            fixture = "replicas" if name == "counts" else name
            shutil.copy(out / "model.net", OUT / f"{fixture}.net")
            steps = x.shape[0] + report["timing"]["latency_steps"]
            sample = np.concatenate([x[:, 0], np.zeros((steps - x.shape[0],) + x.shape[2:], x.dtype)])
            save(fixture, OUT / f"{fixture}.net", sample, input_bits=report["options"]["input_bits"],
                 reset_interval=steps, reset_offset=1)  # fmt: skip


def _graph_files(tmp: Path) -> dict[str, tuple[Path, list[str], np.ndarray]]:
    """(model, compile options, inputs [T, B, *shape]) per round trip."""
    rng = np.random.default_rng(21)
    lif = np.loadtxt(SHARED / "corpus" / "paper-lif" / "lif_exact.csv", delimiter=",")[:, 0]
    tasks = SHARED / "tasks"
    kws = np.load(tasks / "kws8_test.npz")["spikes"][:3]
    digits = np.load(tasks / "digits16_test.npz")["spikes"][:3]
    models = {
        "paper_lif": (SHARED / "corpus" / "public" / "paper_lif_norse.nir", ["--dt", "1e-4"],
                      lif.reshape(-1, 1, 1)),
        "kws": (tasks / "rockpool_lif_kws.nir", ["--source", "rockpool", "--dt", "0.01",
                                                 "--calibrate", str(tasks / "kws8_train.npz")],
                np.swapaxes(kws, 0, 1)),
        "digits": (tasks / "sinabs_cnn_digits.nir", ["--source", "sinabs", "--calibrate",
                                                     str(tasks / "digits16_train.npz")],
                   np.swapaxes(digits, 0, 1)),
    }  # fmt: skip
    for name, script in (("conv", "make_conv_graph"), ("recurrent", "make_recurrent_graph")):
        path = tmp / f"{name}.nir"
        subprocess.run([str(Path(NIRC).with_name("python")), str(Path(__file__).with_name("graphs.py")),
                        script, str(path)], check=True)  # fmt: skip
        shape = (1, 6, 6) if name == "conv" else (3,)
        dt = "1" if name == "conv" else "1e-3"  # the IF neurons integrate r = 1 per step
        models[name] = (path, ["--dt", dt], spikes(rng, 40, (2,) + shape, 0.3))
    for name, (model, options, x, _) in _replica_models(tmp).items():
        models[name] = (model, options, x)
    return models


def round_trips(only: set[str] | None) -> None:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for name, (model, options, x) in _graph_files(tmp).items():
            if only and f"roundtrip_{name}" not in only:
                continue
            out = OUT / f"roundtrip_{name}"
            shutil.rmtree(out, ignore_errors=True)
            compiled = tmp / name
            subprocess.run([NIRC, "compile", str(model), "--target", "loihi2", "-o", str(compiled)]
                           + options, check=True, capture_output=True)  # fmt: skip
            out.mkdir(parents=True)
            for f in ("model.net", "model.mlir", "run_lava.py"):
                shutil.copy(compiled / f, out / f)
            key = _input_name(compiled / "model.mlir")
            np.savez_compressed(out / "inputs.npz", **{key: x.astype(np.uint8 if x.max() < 256
                                                                    else np.int64)})  # fmt: skip
            subprocess.run([sys.executable, "run_lava.py", "--input", "inputs.npz", "-o",
                            "lava_outputs.npz"], cwd=out, check=True)  # fmt: skip
            (out / "run_lava.py").unlink()  # the test compiles nothing: the script is re-emitted
            print(f"roundtrip_{name}: lava ran {model.name}'s model.net")


def _input_name(mlir: Path) -> str:
    import re

    m = re.search(r'loihi2\.input "([^"]+)"', mlir.read_text())
    assert m, mlir
    return m.group(1)


FIXTURES = {
    "conv": conv_net,
    "dense_rec": dense_rec_net,
    "delays": delay_net,
    "graded": graded_net,
    "reset": reset_net,
    "long": long_net,
    "random": random_nets,
    "replicas": replica_nets,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="fixture names (conv, ..., roundtrip_kws)")
    args = parser.parse_args()
    only = set(args.only or [])
    OUT.mkdir(parents=True, exist_ok=True)
    for name, make in FIXTURES.items():
        if not only or name in only:
            make()
    if not only or any(o.startswith("roundtrip") for o in only):
        round_trips(only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
