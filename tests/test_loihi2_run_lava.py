"""The emitted ``run_lava.py``, executed against a stand-in ``lava`` package.

CI has no lava, so the test writes a small package of the same module paths
and class names the script imports (netx's ``Network``, lava's
``RingBuffer`` source and sink, ``Monitor``, ``Loihi2SimCfg``,
``Loihi2HwCfg``, ``RunSteps``). It records every call the script makes, and
computes what lava would with nirc's own bit-exact model of lava (reading
the script's ``model.net``, with the arguments the script passed, in lava's
array layouts). The script's outputs must then equal ``nirc run --target
loihi2``'s, and its calls must be the ones lava needs. (The fixtures of
tests/test_loihi2_roundtrip.py ran the same script in real lava.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from nirc.targets import compile as compile_for
from nirc.targets import get_target

sys.path.insert(0, str(Path(__file__).resolve().parent / "loihi2"))
from graphs import make_conv_graph, make_recurrent_graph  # noqa: E402

STANDIN = {
    "lava/__init__.py": "",
    "lava/lib/__init__.py": "",
    "lava/lib/dl/__init__.py": "",
    "lava/lib/dl/netx/__init__.py": "from . import hdf5\n",
    "lava/proc/__init__.py": "",
    "lava/proc/io/__init__.py": "from . import sink, source\n",
    "lava/proc/monitor/__init__.py": "",
    "lava/magma/__init__.py": "",
    "lava/magma/core/__init__.py": "",
    "lava/_log.py": '''
        import json, os

        def log(kind, **fields):
            with open(os.environ["STANDIN_LOG"], "a") as f:
                f.write(json.dumps({"call": kind, **fields}, default=str) + "\\n")
    ''',
    "lava/_ports.py": '''
        class Port:
            def __init__(self, owner, shape):
                self.owner, self.shape, self.peer = owner, tuple(shape), None

            def connect(self, other):
                from lava._log import log
                self.peer, other.peer = other, self
                log("connect", src=type(self.owner).__name__, dst=type(other.owner).__name__,
                    shape=list(self.shape), dst_shape=list(other.shape))
    ''',
    "lava/magma/core/run_configs.py": '''
        from lava._log import log

        class Loihi2SimCfg:
            def __init__(self, select_tag=None, **kw):
                self.select_tag = select_tag
                log("Loihi2SimCfg", select_tag=select_tag, **kw)

        class Loihi2HwCfg:
            def __init__(self, **kw):
                log("Loihi2HwCfg", **kw)
    ''',
    "lava/magma/core/run_conditions.py": '''
        from lava._log import log

        class RunSteps:
            def __init__(self, num_steps, blocking=True):
                self.num_steps = num_steps
                log("RunSteps", num_steps=num_steps)
    ''',
    "lava/proc/io/source.py": '''
        import numpy as np
        from lava._log import log
        from lava._ports import Port

        class RingBuffer:
            def __init__(self, data):
                self.data = np.asarray(data)
                self.s_out = Port(self, self.data.shape[:-1])
                log("source.RingBuffer", shape=list(self.data.shape), dtype=str(self.data.dtype))
    ''',
    "lava/proc/io/sink.py": '''
        import numpy as np
        from lava._log import log
        from lava._ports import Port

        class _Var:
            def __init__(self):
                self.value = None

            def get(self):
                return self.value

        class RingBuffer:
            def __init__(self, shape, buffer):
                self.a_in = Port(self, shape)
                self.buffer = buffer
                self.data = _Var()
                log("sink.RingBuffer", shape=list(shape), buffer=buffer)
    ''',
    "lava/proc/monitor/process.py": '''
        from lava._log import log

        class Monitor:
            def __init__(self):
                self.var, self.steps, self.data = None, None, None

            def probe(self, var, num_steps):
                self.var, self.steps = var, num_steps
                var.monitors.append(self)
                log("Monitor.probe", var=var.name, num_steps=num_steps)

            def get_data(self):
                return {self.var.process: {self.var.name: self.data}}
    ''',
    "lava/lib/dl/netx/hdf5.py": '''
        """netx's Network as the script uses it, computed by nirc's model of lava."""
        import numpy as np
        from lava._log import log
        from lava._ports import Port

        def _lava_shape(shape):
            return tuple(reversed(shape)) if len(shape) == 3 else tuple(shape)

        class _Var:
            def __init__(self, process, name):
                self.process, self.name, self.monitors = process, name, []

        class _Neuron:
            def __init__(self, k):
                self.name = f"neuron{k}"
                self.v = _Var(self.name, "v")

        class _Layer:
            def __init__(self, k, shape):
                self.neuron = _Neuron(k)
                self.out = Port(self, _lava_shape(shape))

        class Network:
            def __init__(self, net_config, **kw):
                from nirc.targets.loihi2.netx import read_netx
                log("Network", net_config=net_config, **kw)
                self.kw = kw
                self.net = read_netx(net_config)
                first = self.net.layers[0]
                self.inp = Port(self, _lava_shape(first.in_shape) if first.kind == "conv"
                                else (int(np.prod(first.in_shape)),))
                self.layers = [_Layer(k, l.shape) for k, l in enumerate(self.net.layers)]
                self.out = self.layers[-1].out

            def run(self, condition, run_cfg):
                from nirc.targets.loihi2.netx import lava_layers
                from nirc.targets.loihi2.simulator import Loihi2Simulator
                log("Network.run", num_steps=condition.num_steps, cfg=type(run_cfg).__name__)
                data = self.inp.peer.owner.data  # [*lava input shape, steps]
                steps = condition.num_steps
                assert data.shape[-1] == steps, (data.shape, steps)
                x = np.moveaxis(data, -1, 0)
                if x.ndim == 4:  # (steps, W, H, C) -> (steps, C, H, W)
                    x = x.transpose(0, 3, 2, 1)
                sim = Loihi2Simulator(lava_layers(self.net),
                                      input_bits=self.kw.get("input_message_bits", 0),
                                      reset_interval=self.kw.get("reset_interval"),
                                      reset_offset=self.kw.get("reset_offset", 0))
                last = len(self.net.layers) - 1
                res = sim.run(x[:, None], record=[last])
                shape = self.net.layers[-1].shape
                s = res[f"s{last}"][:, 0]
                v = res[f"v{last}"][:, 0].astype(float)
                if len(shape) == 3:
                    s, v = s.transpose(0, 3, 2, 1), v.transpose(0, 3, 2, 1)
                if self.out.peer is not None:
                    self.out.peer.owner.data.value = np.moveaxis(s, 0, -1).astype(float)
                for mon in self.layers[-1].neuron.v.monitors:
                    mon.data = v

            def stop(self):
                log("Network.stop")
    ''',
}


def standin(tmp_path: Path) -> dict[str, str]:
    root = tmp_path / "standin"
    for rel, text in STANDIN.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    log = tmp_path / "calls.jsonl"
    repo = Path(__file__).resolve().parents[1]
    env = dict(os.environ, STANDIN_LOG=str(log),
               PYTHONPATH=os.pathsep.join([str(root), str(repo)]))  # fmt: skip
    return env


def run_script(out: Path, env, inputs: dict, *extra: str) -> tuple[dict, list[dict]]:
    np.savez(out / "x.npz", **inputs)
    log = Path(env["STANDIN_LOG"])
    log.unlink(missing_ok=True)
    proc = subprocess.run([sys.executable, "run_lava.py", "--input", "x.npz", "-o", "y.npz", *extra],
                          cwd=out, env=env, capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    with np.load(out / "y.npz") as y:
        return {k: y[k] for k in y.files}, calls


def calls_of(calls, kind):
    return [c for c in calls if c["call"] == kind]


@pytest.fixture
def env(tmp_path):
    return standin(tmp_path)


def test_conv_network_streams_samples(tmp_path, env):
    r = compile_for(make_conv_graph(), "loihi2", dt=1.0, calib_steps=20, calib_batch=1)
    out = tmp_path / "out"
    r.write(out)
    x = (np.random.default_rng(0).random((25, 3, 1, 6, 6)) < 0.4).astype(np.uint8)
    y, calls = run_script(out, env, {"input": x})
    want = get_target("loihi2").simulate(r.module, {"input": x})
    assert set(y) == {"output"} and y["output"].shape == (25, 3, 2)
    np.testing.assert_array_equal(y["output"], want["output"])
    (net,) = calls_of(calls, "Network")
    assert net["net_config"] == str(out / "model.net")
    assert net["reset_interval"] == 25 + 3 and net["reset_offset"] == 1
    assert "input_message_bits" not in net
    (src,) = calls_of(calls, "source.RingBuffer")
    assert src["shape"] == [6, 6, 1, 3 * 28]  # lava's (W, H, C), the 3 samples back to back
    assert calls_of(calls, "RunSteps") == [{"call": "RunSteps", "num_steps": 84}]
    assert calls_of(calls, "Loihi2SimCfg") == [{"call": "Loihi2SimCfg", "select_tag": "fixed_pt"}]
    assert calls_of(calls, "sink.RingBuffer")[0]["buffer"] == 84
    assert calls_of(calls, "Network.stop")
    # one sample without a batch axis keeps nirc's layout
    y1, _ = run_script(out, env, {"input": x[:, 0]})
    np.testing.assert_array_equal(y1["output"], want["output"][:, 0])


def test_recurrent_network_runs_samples_one_by_one(tmp_path, env):
    r = compile_for(make_recurrent_graph(), "loihi2", dt=1e-3, calib_steps=20, calib_batch=1)
    out = tmp_path / "out"
    r.write(out)
    x = (np.random.default_rng(1).random((30, 2, 3)) < 0.5).astype(np.uint8)
    y, calls = run_script(out, env, {"in": x}, "--hardware")
    np.testing.assert_array_equal(y["out"], get_target("loihi2").simulate(r.module, {"in": x})["out"])
    assert len(calls_of(calls, "Network")) == 2  # dense_rec: a sample's tail would reach the next
    assert [c["num_steps"] for c in calls_of(calls, "RunSteps")] == [31, 31]
    assert len(calls_of(calls, "Loihi2HwCfg")) == 2 and not calls_of(calls, "Loihi2SimCfg")


def test_graded_input_and_readout(tmp_path, env):
    """Count inputs (graded spikes) and an LI readout: the script passes the
    message bits and reads the last layer's voltage with a Monitor."""
    from nirc.graph import Graph, Node

    rng = np.random.default_rng(2)
    nodes = [Node("input", "Input", {"shape": np.array([4])}),
             Node("fc", "Linear", {"weight": rng.standard_normal((5, 4)).astype(np.float32)}),
             Node("lif", "LIF", {"tau": np.full(5, 4.0), "r": np.full(5, 4.0), "v_leak": np.zeros(5),
                                 "v_threshold": np.ones(5)}),
             Node("ro", "Linear", {"weight": rng.standard_normal((3, 5)).astype(np.float32)}),
             Node("li", "LI", {"tau": np.full(3, 2.0), "r": np.full(3, 2.0), "v_leak": np.zeros(3)}),
             Node("output", "Output", {"shape": np.array([3])})]  # fmt: skip
    g = Graph({n.name: n for n in nodes}, [(a.name, b.name) for a, b in zip(nodes, nodes[1:])], {"dt": 1.0})
    counts = rng.integers(0, 4, (30, 6, 4))
    np.savez(tmp_path / "calib.npz", input=counts)
    r = compile_for(g, "loihi2", calibrate=str(tmp_path / "calib.npz"))
    out = tmp_path / "out"
    r.write(out)
    y, calls = run_script(out, env, {"input": counts[:, :2]})
    want = get_target("loihi2").simulate(r.module, {"input": counts[:, :2]})["output"]
    assert np.abs(want).max() > 0
    np.testing.assert_array_equal(y["output"], want)
    (net,) = calls_of(calls, "Network")
    assert net["input_message_bits"] == 8
    assert calls_of(calls, "Monitor.probe") == [{"call": "Monitor.probe", "var": "v", "num_steps": 64}]
    assert not calls_of(calls, "sink.RingBuffer")


def test_script_never_overwrites_its_inputs_and_writes_atomically(tmp_path, env):
    r = compile_for(make_conv_graph(), "loihi2", dt=1.0, calib_steps=20, calib_batch=1)
    out = tmp_path / "out"
    r.write(out)
    x = (np.random.default_rng(1).random((5, 1, 1, 6, 6)) < 0.4).astype(np.uint8)
    np.savez(out / "x.npz", input=x)
    before = {name: (out / name).read_bytes() for name in ("x.npz", "model.net")}
    os.symlink(out / "x.npz", out / "link.npz")
    for target in ("x.npz", "link.npz", "model.net"):
        proc = subprocess.run([sys.executable, "run_lava.py", "--input", "x.npz", "-o", target],
                              cwd=out, env=env, capture_output=True, text=True)  # fmt: skip
        assert proc.returncode != 0 and "would overwrite the input" in proc.stderr, target
    assert {name: (out / name).read_bytes() for name in before} == before
    y, _ = run_script(out, env, {"input": x})
    assert y["output"].shape == (5, 1, 2)
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]
