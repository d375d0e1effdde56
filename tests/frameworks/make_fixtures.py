#!/usr/bin/env python3
"""Generate nirc's framework fixtures: real snnTorch / Norse / Sinabs / Rockpool runs.

NOT part of the default test run. It runs the real frameworks, exports each
small network with the framework's own NIR exporter, simulates it in the
framework on fixed Bernoulli spike inputs and writes, for every case, into
tests/data/profiles/:

    <case>.nir   the graph as the framework's exporter produced it, written with
                 nir.write(..., compression=None) (sinabs_conv: after
                 graph.infer_types(), without which nir.write fails;
                 rockpool_xylo: with the recurrent weights the exporter drops
                 added back as a Linear node on a cycle)
    <case>.npz   input, output and per-step state of every neuron node
    <case>.json  what was run: versions, dt, exporter call, reset, profile,
                 what each recorded array means, what the exporter wrote

nirc's default test run only reads those committed files.

Usage (from the repository root):

    # bootstrap (or reuse) a private venv, re-run inside it, write fixtures
    python tests/frameworks/make_fixtures.py --venv /tmp/nirc-frameworks

    # already inside an environment that has requirements.txt installed
    python tests/frameworks/make_fixtures.py

    # a subset, another output directory, or compare with committed files
    python tests/frameworks/make_fixtures.py --cases snntorch_leaky_zero,sinabs_iaf
    python tests/frameworks/make_fixtures.py --out /tmp/fx
    python tests/frameworks/make_fixtures.py --check      # regenerate in a temp dir and diff
    python tests/frameworks/make_fixtures.py --list

--venv creates the venv if missing, installs `torch==2.13.0` FIRST and alone
(with --no-deps), then every other line of requirements.txt with --no-deps, so
nothing can replace that torch (several frameworks declare torch/torchvision
requirements that would pull a newer one). The installed set is pinned by
requirements.txt; a marker file in the venv skips reinstalling when that file
is unchanged. The script then re-executes itself with the venv's python.
PYTHONHASHSEED is fixed to 0 (the script re-executes itself to set it) because
nirtorch passes the edge list through a set(): without it the edge order in
exported files changes from run to run.

Sinabs/Rockpool import `samna` (a device driver that cannot be installed here)
only on device paths. If any import this script needs fails for want of samna,
a stub module is placed in sys.modules of THIS process for that import only.

See tests/frameworks/README.md for the fixture format and per-framework facts.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import types
import warnings
from collections import OrderedDict
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
DEFAULT_OUT = REPO / "tests" / "data" / "profiles"
REQUIREMENTS = HERE / "requirements.txt"
MARKER = ".nirc-fixtures-requirements.sha256"

T_DEFAULT = 64
B_DEFAULT = 2
SIZE_LIMIT_CASE = 50 * 1024  # bytes, .nir + .npz of one case
SIZE_LIMIT_TOTAL = 1536 * 1024


# --------------------------------------------------------------------------
# Environment bootstrap
# --------------------------------------------------------------------------


def _requirements():
    lines = []
    for raw in REQUIREMENTS.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            lines.append(line)
    return lines


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def bootstrap_venv(venv: Path, torch_spec: str | None) -> Path:
    """Create/refresh the venv at `venv`; return its python."""
    py = _venv_python(venv)
    if not py.exists():
        print(f"[bootstrap] creating venv {venv}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    reqs = _requirements()
    torch_lines = [r for r in reqs if r.lower().startswith("torch==")]
    if len(torch_lines) != 1:
        sys.exit("requirements.txt must pin torch exactly once (torch==X)")
    torch_req = torch_spec or torch_lines[0]
    rest = [r for r in reqs if r not in torch_lines]
    digest = hashlib.sha256((REQUIREMENTS.read_text() + "\n" + torch_req).encode()).hexdigest()
    marker = venv / MARKER
    if marker.exists() and marker.read_text().strip() == digest:
        print(f"[bootstrap] reusing {venv} (requirements unchanged)", flush=True)
        return py
    pip = [str(py), "-m", "pip", "install", "--no-input"]
    print(f"[bootstrap] installing {torch_req} first (no deps)", flush=True)
    subprocess.run(pip + ["--no-deps", torch_req], check=True)
    print("[bootstrap] installing the rest of requirements.txt with --no-deps", flush=True)
    subprocess.run(pip + ["--no-deps"] + rest, check=True)
    got = subprocess.run(
        [str(py), "-c", "import torch; print(torch.__version__)"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    want = torch_req.split("==", 1)[1]
    if got.split("+", 1)[0] != want.split("+", 1)[0]:
        sys.exit(f"[bootstrap] torch {got} installed, expected {want}: refusing to go on")
    chk = subprocess.run([str(py), "-m", "pip", "check"], capture_output=True, text=True)
    print("[bootstrap] pip check (sinabs->nir<=1.0.4/samna, norse->torchvision are expected):")
    print("    " + (chk.stdout.strip() or "ok").replace("\n", "\n    "), flush=True)
    marker.write_text(digest + "\n")
    return py


def _inside(venv: Path) -> bool:
    try:
        return Path(sys.prefix).resolve() == venv.resolve()
    except OSError:
        return False


def maybe_reexec(args, argv):
    """Re-execute inside the venv and/or with PYTHONHASHSEED=0."""
    py = Path(sys.executable)
    if args.venv is not None and not _inside(args.venv):
        py = bootstrap_venv(args.venv, args.torch_spec)
    elif os.environ.get("PYTHONHASHSEED") == "0":
        return
    env = dict(os.environ, PYTHONHASHSEED="0")
    cmd = [str(py), str(Path(__file__).resolve())] + argv
    print(f"[bootstrap] exec {' '.join(cmd)}", flush=True)
    sys.stdout.flush()
    os.execve(str(py), cmd, env)


# --------------------------------------------------------------------------
# Framework imports (with a samna stand-in only when an import demands it)
# --------------------------------------------------------------------------


def _samna_stub():
    mod = types.ModuleType("samna")
    mod.__doc__ = (
        "Stand-in created by tests/frameworks/make_fixtures.py: samna (device "
        "driver) is not installable here and is not used for simulation/export."
    )
    # No __version__: rockpool's check_samna_available() then reports False.
    mod.__path__ = []  # let `import samna.x` fail cleanly instead of crashing
    return mod


def import_module(name):
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError as e:  # pragma: no cover - depends on environment
        if getattr(e, "name", "") and e.name.split(".")[0] == "samna":
            print(f"[env] {name} imports samna; using a stub for this import", flush=True)
            sys.modules.setdefault("samna", _samna_stub())
            return importlib.import_module(name)
        raise


# --------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------


def np_():
    import numpy

    return numpy


def torch_():
    import torch

    return torch


def bernoulli(rng, T, B, shape, p):
    np = np_()
    return (rng.random((T, B) + tuple(shape)) < p).astype(np.float32)


def uniform(rng, shape, lo, hi):
    np = np_()
    return rng.uniform(lo, hi, size=shape).astype(np.float32)


def set_param(param, value):
    torch = torch_()
    with torch.no_grad():
        param.copy_(torch.as_tensor(value, dtype=param.dtype).reshape(param.shape))


class Recorder:
    """Forward hooks that keep each module's output of every call."""

    def __init__(self, modules: dict, pick=lambda out: out):
        self.data = {k: [] for k in modules}
        self.handles = []
        for k, m in modules.items():
            self.handles.append(m.register_forward_hook(self._hook(k, pick)))

    def _hook(self, key, pick):
        def fn(_mod, _inp, out):
            self.data[key].append(pick(out).detach().clone())

        return fn

    def close(self):
        for h in self.handles:
            h.remove()


def stack(seq):
    """List of per-step torch tensors -> float32 numpy [T, ...]."""
    torch = torch_()
    return torch.stack([s.detach().float() for s in seq]).numpy().astype("float32")


def tolist(x):
    np = np_()
    try:
        import torch

        if isinstance(x, torch.Tensor):
            x = x.detach().cpu().numpy()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(x, np.ndarray):
        if x.dtype == object:
            return [tolist(v) for v in x.tolist()]
        return x.tolist()
    if isinstance(x, (np.floating, np.integer)):
        return x.item()
    if isinstance(x, dict):
        return {str(k): tolist(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [tolist(v) for v in x]
    return x


NEURON_PARAMS = ("tau", "tau_mem", "tau_syn", "r", "v_leak", "v_threshold", "v_reset", "w_in")


def describe_graph(g):
    """Nodes (type, declared shapes, neuron parameters) and edges in file order."""
    nodes = OrderedDict()
    for name, node in g.nodes.items():
        d = {"type": type(node).__name__}
        it = getattr(node, "input_type", None)
        ot = getattr(node, "output_type", None)
        if isinstance(it, dict):
            d["input_type"] = {k: tolist(v) for k, v in it.items()}
        if isinstance(ot, dict):
            d["output_type"] = {k: tolist(v) for k, v in ot.items()}
        for p in NEURON_PARAMS:
            if hasattr(node, p):
                d[p] = tolist(getattr(node, p))
        for p in (
            "input_shape",
            "kernel_size",
            "stride",
            "padding",
            "dilation",
            "groups",
            "start_dim",
            "end_dim",
        ):
            if hasattr(node, p):
                d[p] = tolist(getattr(node, p))
        if hasattr(node, "weight"):
            d["weight_shape"] = list(node.weight.shape)
        if hasattr(node, "bias"):
            d["bias_shape"] = list(node.bias.shape)
        nodes[name] = d
    return {"nodes": nodes, "edges": [list(e) for e in g.edges]}


def dump_json(obj, indent=0):
    """json.dumps(indent=1) but with lists of scalars kept on one line."""
    pad, inner = " " * indent, " " * (indent + 1)
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f"{inner}{json.dumps(str(k))}: {dump_json(v, indent + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list):
        scalars = all(not isinstance(v, (dict, list)) for v in obj)
        if (
            (scalars and len(json.dumps(obj)) <= 120)
            or (scalars and not any(isinstance(v, str) for v in obj))
            or _flat_nested(obj)
        ):
            return json.dumps(obj)
        items = [inner + dump_json(v, indent + 1) for v in obj]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(obj)


def _flat_nested(obj):
    """Small nested numeric lists (e.g. a 5x5 matrix) also stay on one line."""

    def ok(v):
        return (not isinstance(v, dict)) and (not isinstance(v, list) or all(ok(w) for w in v))

    return ok(obj) and not any(isinstance(v, str) for v in obj) and len(json.dumps(obj)) <= 2000


def versions():
    import importlib.metadata as md
    import platform

    out = {"python": platform.python_version()}
    for p in ("torch", "numpy", "nir", "nirtorch", "snntorch", "norse", "sinabs", "rockpool"):
        try:
            out[p] = md.version(p)
        except md.PackageNotFoundError:
            out[p] = None
    return out


def check_node(g, name, typ):
    if name not in g.nodes:
        raise RuntimeError(f"exported graph has no node {name!r}: {list(g.nodes)}")
    got = type(g.nodes[name]).__name__
    if got != typ:
        raise RuntimeError(f"node {name!r} is {got}, expected {typ}")


def quiet_export(fn, *a, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*a, **kw)


# --------------------------------------------------------------------------
# Case registry
# --------------------------------------------------------------------------

CASES: OrderedDict[str, dict] = OrderedDict()


def case(name, framework, summary, seed_name=None, size_limit=SIZE_LIMIT_CASE):
    """Register a case. ``size_limit`` (bytes, .nir + .npz) is raised only for
    the long Xylo-shaped runs (T = 300, 32 hidden neurons)."""

    def deco(fn):
        CASES[name] = {
            "fn": fn,
            "framework": framework,
            "summary": summary,
            "seed_name": seed_name or name,
            "size_limit": size_limit,
        }
        return fn

    return deco


# What "v" means, per framework (copied into every sidecar).
V_MEANS = {
    "snntorch": (
        "layer.mem after the call for step t: the integrated membrane of step t "
        "BEFORE the reset caused by this step's spike. snnTorch (reset_delay=True, "
        "the default) applies that reset inside the NEXT call, from a spike flag "
        "recomputed as mem[t-1] > threshold. So a spiking neuron shows mem > "
        "threshold at its spike step."
    ),
    "norse": (
        "state.v returned by the cell for step t: AFTER the reset "
        "(v = v_reset where z = 1). For LIBoxCell v is also the output."
    ),
    "sinabs": (
        "layer.v_mem after step t: AFTER the subtractive multi-spike reset "
        "(v -= n * threshold) and after min_v_mem clipping (None here: no clipping)."
    ),
    "rockpool": (
        "record['vmem'] of step t: AFTER the subtractive multi-spike reset (vmem -= n * threshold)."
    ),
}

I_MEANS = {
    "snntorch": "layer.syn after step t (syn[t] = alpha*syn[t-1] + I[t] (+ W_rec spk[t-1] + b_rec)); never reset.",
    "norse": "state.i after step t: the current AFTER this step's decay, i' = i1 - dt*tau_syn_inv*i1 with i1 = i + x.",
    "rockpool": "record['isyn'] after step t: isyn after adding x[t] (+ W_rec s[t-1]) and AFTER the decay isyn *= exp(-dt/tau_syn); this is the value added to vmem in step t.",
}


# --------------------------------------------------------------------------
# snnTorch
# --------------------------------------------------------------------------

SNN_DT = 1e-4  # hard-coded in snntorch.export_nir


def _snn_common_meta(reset):
    return {
        "framework": "snntorch",
        "profile": "snntorch",
        "dt": SNN_DT,
        "dt_note": (
            "snnTorch steps are dimensionless; 1e-4 s is the dt snntorch.export_nir "
            "hard-codes (tau = dt/(1-beta), r = tau/dt; Synaptic: w_in = tau_syn/dt), "
            "so it is the dt under which the file's taus describe what snnTorch computed."
        ),
        "exporter_dt": SNN_DT,
        "reset": reset,
        "v_means": V_MEANS["snntorch"],
        "threshold_comparison": "spike when mem - threshold > 0 (strict), one spike per step",
    }


def _snn_run(net, neurons: dict, x):
    """Step an init_hidden snnTorch net; record spk/mem(/syn) of `neurons`."""
    torch = torch_()
    for m in neurons.values():
        m.reset_mem()
    rec = Recorder(neurons, pick=lambda o: o[0] if isinstance(o, tuple) else o)
    mem = {k: [] for k in neurons}
    syn = {k: [] for k in neurons if hasattr(neurons[k], "syn")}
    outs = []
    with torch.no_grad():
        for t in range(x.shape[0]):
            o = net(torch.from_numpy(x[t]))
            outs.append(o[0] if isinstance(o, tuple) else o)
            for k, m in neurons.items():
                mem[k].append(m.mem.clone())
                if k in syn:
                    syn[k].append(m.syn.clone())
    rec.close()
    arrays = {"output": stack(outs)}
    for k in neurons:
        arrays[f"v.{k}"] = stack(mem[k])
        arrays[f"spk.{k}"] = stack(rec.data[k])
        if k in syn:
            arrays[f"i.{k}"] = stack(syn[k])
    return arrays


def _snn_export(net, n_in):
    torch = torch_()
    from snntorch.export_nir import export_to_nir

    g = quiet_export(export_to_nir, net, torch.zeros(1, n_in), ignore_dims=[0])
    call = f"snntorch.export_nir.export_to_nir(net, torch.zeros(1, {n_in}), ignore_dims=[0])"
    return g, call


_SNN_EXPORT_NOTES = [
    "export_to_nir(net, sample) with a batched sample and no ignore_dims fails in nir 1.0.8's "
    "infer_types (Input [1, n] vs Affine [n]); ignore_dims=[0] is required.",
    "A scalar beta/threshold makes the exported LIF/CubaLIF scalar-shaped and infer_types fails "
    "([n] -> []); every layer here uses per-neuron beta/alpha/threshold tensors.",
    "The exporter writes v_reset = 0 and v_leak = 0 always, and cannot record reset_mechanism.",
]


def _snn_ff(x_in, rng, kind, reset):
    """Linear(4,6) -> neuron -> Linear(6,3) -> neuron(output=True)."""
    torch = torch_()
    import snntorch as snn

    torch.manual_seed(0)
    n_in, n_h, n_out = 4, 6, 3
    kw = {} if reset == "subtract" else {"reset_mechanism": reset}

    def neuron(n, last):
        beta = torch.from_numpy(uniform(rng, (n,), 0.80, 0.95))
        thr = torch.from_numpy(uniform(rng, (n,), 0.8, 1.2))
        if kind == "leaky":
            return snn.Leaky(beta=beta, threshold=thr, init_hidden=True, output=last, **kw)
        alpha = torch.from_numpy(uniform(rng, (n,), 0.5, 0.8))
        return snn.Synaptic(
            alpha=alpha, beta=beta, threshold=thr, init_hidden=True, output=last, **kw
        )

    fc1, fc2 = torch.nn.Linear(n_in, n_h), torch.nn.Linear(n_h, n_out)
    gain = {"leaky": 1.0, "synaptic": 0.45 if reset == "zero" else 0.3}[kind]
    set_param(fc1.weight, gain * uniform(rng, (n_h, n_in), -0.3, 1.2))
    set_param(fc1.bias, gain * uniform(rng, (n_h,), -0.05, 0.1))
    set_param(fc2.weight, gain * uniform(rng, (n_out, n_h), -0.3, 0.7))
    set_param(fc2.bias, gain * uniform(rng, (n_out,), -0.05, 0.1))
    net = torch.nn.Sequential(fc1, neuron(n_h, False), fc2, neuron(n_out, True))
    neurons = {"1": net[1], "3": net[3]}
    arrays = _snn_run(net, neurons, x_in)
    g, call = _snn_export(net, n_in)
    typ = "LIF" if kind == "leaky" else "CubaLIF"
    for k in neurons:
        check_node(g, k, typ)
    fw = {}
    for k, m in neurons.items():
        d = {
            "module": type(m).__name__,
            "beta": tolist(m.beta),
            "threshold": tolist(m.threshold),
            "reset_mechanism": m.reset_mechanism,
            "reset_delay": m.reset_delay,
        }
        if kind == "synaptic":
            d["alpha"] = tolist(m.alpha)
        fw[k] = d
    return g, call, arrays, fw


def _reset_desc(reset, recurrent, synaptic):
    if reset == "zero":
        if recurrent or synaptic:
            eq = (
                "mem[t] = (1 - spk[t-1]) * (beta*mem[t-1] + syn[t])"
                if synaptic
                else "mem[t] = (1 - spk[t-1]) * (beta*mem[t-1] + I[t] + W_rec spk[t-1] + b_rec)"
            )
            return {
                "mechanism": "zero",
                "framework_setting": "reset_mechanism='zero'",
                "equation": eq,
                "note": "the whole step after a spike is zeroed (one refractory step)"
                + ("; syn is never reset" if synaptic else ""),
            }
        return {
            "mechanism": "zero",
            "framework_setting": "reset_mechanism='zero'",
            "equation": "mem[t] = beta*(1 - spk[t-1])*mem[t-1] + I[t]",
            "note": "equals NIR reset-to-zero with v recorded before the reset",
        }
    eq = "mem[t] = beta*mem[t-1] + %s - spk[t-1]*threshold" % (
        "syn[t]" if synaptic else ("I[t] + W_rec spk[t-1] + b_rec" if recurrent else "I[t]")
    )
    return {
        "mechanism": "subtract",
        "framework_setting": "reset_mechanism='subtract' (default)",
        "equation": eq,
        "note": "the subtracted threshold is not decayed by beta",
    }


def _snn_ff_case(kind, reset):
    def fn(ctx):
        rng = ctx["rng"]
        x = bernoulli(rng, ctx["T"], ctx["B"], (4,), 0.35)
        g, call, arrays, fw = _snn_ff(x, rng, kind, reset)
        arrays = {"input": x, **arrays}
        meta = _snn_common_meta(_reset_desc(reset, False, kind == "synaptic"))
        meta.update(
            exporter_call=call,
            framework_neurons=fw,
            network="Sequential(Linear(4,6), %s, Linear(6,3), %s(output=True))"
            % (("Leaky", "Leaky") if kind == "leaky" else ("Synaptic", "Synaptic")),
            notes=list(_SNN_EXPORT_NOTES),
        )
        if kind == "synaptic":
            meta["i_means"] = I_MEANS["snntorch"]
            meta["notes"].append(
                "Synaptic: syn[t] = alpha*syn[t-1] + I[t]; mem uses syn[t] of the SAME step "
                "(no one-step lag as in plain forward-Euler CubaLIF)."
            )
        return g, arrays, meta

    return fn


for _kind, _reset, _name in (
    ("leaky", "zero", "snntorch_leaky_zero"),
    ("leaky", "subtract", "snntorch_leaky_subtract"),
    ("synaptic", "zero", "snntorch_synaptic_zero"),
    ("synaptic", "subtract", "snntorch_synaptic_subtract"),
):
    case(
        _name,
        "snntorch",
        f"snnTorch {'Leaky' if _kind == 'leaky' else 'Synaptic'} feed-forward, "
        f"reset_mechanism={_reset!r}",
    )(_snn_ff_case(_kind, _reset))


def _snn_rec_case(kind, reset):
    def fn(ctx):
        torch = torch_()
        import snntorch as snn

        rng = ctx["rng"]
        torch.manual_seed(0)
        n_in, n = 4, 5
        x = bernoulli(rng, ctx["T"], ctx["B"], (n_in,), 0.35)
        kw = {} if reset == "subtract" else {"reset_mechanism": reset}
        beta = torch.from_numpy(uniform(rng, (n,), 0.80, 0.95))
        thr = torch.from_numpy(uniform(rng, (n,), 0.8, 1.2))
        if kind == "rleaky":
            layer = snn.RLeaky(
                beta=beta,
                threshold=thr,
                linear_features=n,
                all_to_all=True,
                init_hidden=True,
                output=True,
                **kw,
            )
            gain = 1.0
        else:
            alpha = torch.from_numpy(uniform(rng, (n,), 0.5, 0.8))
            layer = snn.RSynaptic(
                alpha=alpha,
                beta=beta,
                threshold=thr,
                linear_features=n,
                all_to_all=True,
                init_hidden=True,
                output=True,
                **kw,
            )
            gain = 0.45
        fc = torch.nn.Linear(n_in, n)
        set_param(fc.weight, gain * uniform(rng, (n, n_in), -0.3, 1.2))
        set_param(fc.bias, gain * uniform(rng, (n,), -0.05, 0.1))
        set_param(layer.recurrent.weight, gain * uniform(rng, (n, n), -0.6, 0.5))
        set_param(layer.recurrent.bias, gain * uniform(rng, (n,), -0.05, 0.1))
        net = torch.nn.Sequential(OrderedDict(fc=fc, rlif=layer))
        arrays = _snn_run(net, {"rlif.lif": layer}, x)
        g, call = _snn_export(net, n_in)
        typ = "LIF" if kind == "rleaky" else "CubaLIF"
        check_node(g, "rlif.lif", typ)
        check_node(g, "rlif.w_rec", "Affine")
        fw = {
            "rlif.lif": {
                "module": type(layer).__name__,
                "beta": tolist(layer.beta),
                "threshold": tolist(layer.threshold),
                "reset_mechanism": layer.reset_mechanism,
                "reset_delay": layer.reset_delay,
                "all_to_all": True,
                "recurrent": "nn.Linear(5, 5) with bias -> node rlif.w_rec",
            }
        }
        if kind == "rsynaptic":
            fw["rlif.lif"]["alpha"] = tolist(layer.alpha)
        meta = _snn_common_meta(_reset_desc(reset, True, kind == "rsynaptic"))
        meta.update(
            exporter_call=call,
            framework_neurons=fw,
            network=f"Sequential(fc=Linear(4,5), rlif={type(layer).__name__}(linear_features=5, "
            "all_to_all=True, output=True))",
            notes=list(_SNN_EXPORT_NOTES)
            + [
                "The recurrent layer is exported as nodes 'rlif.lif' and 'rlif.w_rec' (Affine, "
                "with the nn.Linear bias) flattened into the top graph, edges "
                "fc->rlif.lif, rlif.lif->rlif.w_rec, rlif.w_rec->rlif.lif, rlif.lif->output.",
                "snnTorch evaluates recurrent(spk[t-1]) inside step t, so the recurrent BIAS "
                "b_rec is added at every step INCLUDING t = 0 (spk[-1] = 0); a plain reading "
                "that delays the w_rec->lif edge with zeros at t = 0 misses b_rec at t = 0 only.",
                "The recurrent input is the same for both resets: W_rec spk[t-1] + b_rec.",
            ],
        )
        if kind == "rsynaptic":
            meta["i_means"] = I_MEANS["snntorch"]
        arrays = {"input": x, **arrays}
        return g, arrays, meta

    return fn


for _kind, _reset, _name in (
    ("rleaky", "zero", "snntorch_rleaky_zero"),
    ("rleaky", "subtract", "snntorch_rleaky_subtract"),
    ("rsynaptic", "zero", "snntorch_rsynaptic_zero"),
):
    case(
        _name,
        "snntorch",
        f"snnTorch {'RLeaky' if _kind == 'rleaky' else 'RSynaptic'} (all-to-all linear "
        f"recurrence), reset_mechanism={_reset!r}",
    )(_snn_rec_case(_kind, _reset))


# Xylo-shaped runs (snntorch_rsynaptic_xylo, rockpool_xylo): 12 input channels,
# a recurrent hidden layer of 32, a non-recurrent readout of 7 fed only by the
# hidden layer (Xylo's network shape), T = 300 steps of Bernoulli p = 0.1.
XYLO_T, XYLO_B = 300, 2
XYLO_SHAPE = (12, 32, 7)
XYLO_P = 0.1
XYLO_SIZE_LIMIT = 256 * 1024  # .nir + .npz: 300 steps of v and i of 39 neurons, B = 2
# Decays Xylo represents exactly (1 - 2**-dash), spread over the hidden layer
# as Rockpool's SynNet (its reference Xylo network) spreads its synaptic time
# constants: tau_syn = 2, 4, 8, 16 ms at dt = 1 ms, each rounded to a bit shift
# (quantize_time_constants=True) -> dash_syn 1, 2, 3, 4; SynNet's default
# tau_syn_out = 2 ms -> dash 1 (both cases).
XYLO_DASH_SYN_HIDDEN = (1, 2, 3, 4)
XYLO_DASH_SYN_OUT = 1
# Membrane: Rockpool uses SynNet's default tau_mem = 2 ms -> dash 1. snnTorch's
# tutorials use beta = 0.95; 1 - 2**-4 = 0.9375 is the nearest decay Xylo
# represents exactly.
XYLO_DASH_MEM = 1
SNN_XYLO_DASH_MEM = 4
# Weight gains (weights are also normalized per receiving neuron, see the
# cases), chosen for a hidden layer active in 5-10% of neuron-steps and a
# readout in 5-10% on this input.
SNN_XYLO_GAIN = {"in": 0.2, "rec": 0.2, "out": 0.16}
ROCKPOOL_XYLO_GAIN = {"in": 1.0, "rec": 1.0, "out": 0.55}


def _xylo_dashes(n):
    np = np_()
    return np.resize(np.array(XYLO_DASH_SYN_HIDDEN, dtype=np.int64), n)


@case(
    "snntorch_rsynaptic_xylo",
    "snntorch",
    "snnTorch Linear(12,32) -> RSynaptic(32, subtract) -> Linear(32,7) -> Synaptic(7, subtract), "
    "T=300: Xylo's network shape",
    size_limit=XYLO_SIZE_LIMIT,
)
def snntorch_rsynaptic_xylo(ctx):
    torch = torch_()
    np = np_()
    import snntorch as snn

    rng = ctx["rng"]
    T, B = XYLO_T, XYLO_B
    n_in, n_h, n_out = XYLO_SHAPE
    torch.manual_seed(0)
    x = bernoulli(rng, T, B, (n_in,), XYLO_P)
    # beta = 1 - 2**-SNN_XYLO_DASH_MEM, alpha = 1 - 2**-dash_syn (per-step decays)
    a_h = (1.0 - 2.0 ** -_xylo_dashes(n_h).astype(np.float64)).astype(np.float32)
    b_h = np.full(n_h, 1.0 - 2.0**-SNN_XYLO_DASH_MEM, np.float32)
    a_o = np.full(n_out, 1.0 - 2.0**-XYLO_DASH_SYN_OUT, np.float32)
    b_o = np.full(n_out, 1.0 - 2.0**-SNN_XYLO_DASH_MEM, np.float32)
    hidden = snn.RSynaptic(
        alpha=torch.from_numpy(a_h),
        beta=torch.from_numpy(b_h),
        threshold=torch.ones(n_h),
        linear_features=n_h,
        all_to_all=True,
        init_hidden=True,
    )
    readout = snn.Synaptic(
        alpha=torch.from_numpy(a_o),
        beta=torch.from_numpy(b_o),
        threshold=torch.ones(n_out),
        init_hidden=True,
        output=True,
    )
    fc = torch.nn.Linear(n_in, n_h)
    fc_out = torch.nn.Linear(n_h, n_out)
    # Weights normalized by (1 - alpha) of the receiving neuron, as SynNet
    # normalizes by dt/tau_syn: the same steady-state drive for every dash.
    set_param(fc.weight, SNN_XYLO_GAIN["in"] * uniform(rng, (n_h, n_in), -0.5, 1.5)
              * (1 - a_h)[:, None])  # fmt: skip
    set_param(fc.bias, uniform(rng, (n_h,), -0.02, 0.02))
    w_rec = SNN_XYLO_GAIN["rec"] * uniform(rng, (n_h, n_h), -1.0, 0.6) * (1 - a_h)[:, None]
    np.fill_diagonal(w_rec, 0.0)
    set_param(hidden.recurrent.weight, w_rec)
    set_param(hidden.recurrent.bias, uniform(rng, (n_h,), -0.02, 0.02))
    set_param(fc_out.weight, SNN_XYLO_GAIN["out"] * uniform(rng, (n_out, n_h), -0.5, 1.0)
              * (1 - a_o)[:, None])  # fmt: skip
    set_param(fc_out.bias, uniform(rng, (n_out,), -0.02, 0.02))
    net = torch.nn.Sequential(OrderedDict(fc=fc, rlif=hidden, fc_out=fc_out, out=readout))
    neurons = {"rlif.lif": hidden, "out": readout}
    arrays = _snn_run(net, neurons, x)
    g, call = _snn_export(net, n_in)
    check_node(g, "fc", "Affine")
    check_node(g, "rlif.lif", "CubaLIF")
    check_node(g, "rlif.w_rec", "Affine")
    check_node(g, "fc_out", "Affine")
    check_node(g, "out", "CubaLIF")
    fw = {}
    for k, m in neurons.items():
        fw[k] = {
            "module": type(m).__name__,
            "alpha": tolist(m.alpha),
            "beta": tolist(m.beta),
            "threshold": tolist(m.threshold),
            "reset_mechanism": m.reset_mechanism,
            "reset_delay": m.reset_delay,
        }
    fw["rlif.lif"].update(
        all_to_all=True, recurrent="nn.Linear(32, 32) with bias -> node rlif.w_rec"
    )
    fw["rlif.lif"]["dash_syn"] = tolist(_xylo_dashes(n_h))
    meta = _snn_common_meta(_reset_desc("subtract", True, True))
    meta["reset"]["note"] += " (both layers: snnTorch's default reset_mechanism='subtract')"
    meta.update(
        exporter_call=call,
        framework_neurons=fw,
        i_means=I_MEANS["snntorch"],
        network="Sequential(fc=Linear(12,32), rlif=RSynaptic(linear_features=32, all_to_all=True), "
        "fc_out=Linear(32,7), out=Synaptic(output=True))",
        notes=list(_SNN_EXPORT_NOTES)
        + [
            "Xylo's network shape: input -> recurrent hidden layer -> non-recurrent readout fed "
            "only by the hidden layer. T = 300, B = 2, 12 inputs, Bernoulli p = 0.1.",
            "Decays are ones Xylo represents exactly (1 - 2**-dash): beta = 1 - 2**-4 = 0.9375 "
            "(both layers; snnTorch's tutorials use 0.95), hidden alpha with dash_syn = 1, 2, 3, "
            "4 repeating over the neurons and readout alpha with dash_syn 1 (the synaptic bit "
            "shifts of the rockpool_xylo case, Rockpool SynNet's).",
            "Weights into each neuron are scaled by (1 - alpha) of that neuron (SynNet scales by "
            f"dt/tau_syn); gains {SNN_XYLO_GAIN} set the hidden activity.",
            "The recurrent layer is exported as nodes 'rlif.lif' and 'rlif.w_rec' (Affine with "
            "the nn.Linear bias); snnTorch adds W_rec spk[t-1] + b_rec inside step t, from t = 0.",
        ],
    )
    return g, {"input": x, **arrays}, meta


# --------------------------------------------------------------------------
# Norse
# --------------------------------------------------------------------------

NORSE_DT = 1e-3  # cell default


def _norse_run(net, cells: dict, x, has_i=()):
    torch = torch_()
    rec = Recorder(cells, pick=lambda o: o[0])
    st_rec = Recorder(cells, pick=lambda o: torch.broadcast_to(o[1].v, o[0].shape))
    i_rec = Recorder(
        {k: cells[k] for k in has_i}, pick=lambda o: torch.broadcast_to(o[1].i, o[0].shape)
    )
    outs, state = [], None
    with torch.no_grad():
        for t in range(x.shape[0]):
            o, state = net(torch.from_numpy(x[t]), state)
            outs.append(o)
    for r in (rec, st_rec, i_rec):
        r.close()
    arrays = {"output": stack(outs)}
    for k in cells:
        arrays[f"v.{k}"] = stack(st_rec.data[k])
        if type(cells[k]).__name__ != "LIBoxCell":
            arrays[f"spk.{k}"] = stack(rec.data[k])
        if k in has_i:
            arrays[f"i.{k}"] = stack(i_rec.data[k])
    return arrays


def _norse_meta(exporter_dt, call, extra_notes=()):
    return {
        "framework": "norse",
        "profile": "norse",
        "dt": NORSE_DT,
        "dt_note": "cells run with their default dt = 1e-3 s (forward Euler).",
        "exporter_dt": exporter_dt,
        "exporter_call": call,
        "reset": {
            "mechanism": "zero",
            "framework_setting": "reset_value (default)",
            "equation": "v = (1 - z) * v + z * v_reset, after the spike decision of the step",
        },
        "v_means": V_MEANS["norse"],
        "threshold_comparison": "spike when v - v_th > 0 (strict, heaviside of v - v_th), one per step",
        "notes": [
            "Exporter writes tau = dt_arg / tau_inv with its dt argument (default 0.001); "
            "the cells' own dt is NOT consulted. With dt_arg = 0.001 and cell dt = 0.001 the "
            "file's taus are 1000x too small (in seconds); with dt_arg = 1.0 they are true "
            "seconds.",
            "Exporter writes r = 1 and never writes v_reset (NIR default 0 is used; a "
            "non-zero LIFParameters.v_reset would be lost); CubaLIF w_in = 1.",
            "Initial state: v = v_leak (not 0), i = 0.",
            "sample_data is unbatched (shape [4]); with a batched sample the exporter writes "
            "Input/Output shapes with the batch dim ([1, 4], [1, n]) and does not run "
            "infer_types.",
        ]
        + list(extra_notes),
    }


def _norse_params(rng, n, cuba, v_leak=None):
    torch = torch_()
    from norse.torch import LIFBoxParameters, LIFParameters

    tm = torch.from_numpy(uniform(rng, (n,), 100.0, 200.0))
    vl = torch.zeros(n) if v_leak is None else torch.from_numpy(v_leak)
    if cuba:
        ts = torch.from_numpy(uniform(rng, (n,), 150.0, 250.0))
        return LIFParameters(
            tau_syn_inv=ts, tau_mem_inv=tm, v_leak=vl, v_th=torch.ones(n), v_reset=torch.zeros(n)
        )
    return LIFBoxParameters(tau_mem_inv=tm, v_leak=vl, v_th=torch.ones(n), v_reset=torch.zeros(n))


def _norse_fw(cells):
    out = {}
    for k, c in cells.items():
        d = {"module": type(c).__name__, "dt": c.dt}
        for f in ("tau_syn_inv", "tau_mem_inv", "v_leak", "v_th", "v_reset", "method"):
            if hasattr(c.p, f):
                d[f] = tolist(getattr(c.p, f))
        out[k] = d
    return out


@case(
    "norse_lifbox",
    "norse",
    "Norse LIFBoxCell feed-forward (exported as LIF), exporter dt default 1e-3",
)
def norse_lifbox(ctx):
    torch = torch_()
    import norse.torch as norse
    from norse.torch.utils.export_nir import to_nir

    rng = ctx["rng"]
    torch.manual_seed(0)
    x = bernoulli(rng, ctx["T"], ctx["B"], (4,), 0.35)
    fc1, fc2 = torch.nn.Linear(4, 5), torch.nn.Linear(5, 3)
    set_param(fc1.weight, uniform(rng, (5, 4), -2.0, 9.0))
    set_param(fc1.bias, uniform(rng, (5,), 0.0, 1.0))
    set_param(fc2.weight, uniform(rng, (3, 5), -2.0, 12.0))
    set_param(fc2.bias, uniform(rng, (3,), 0.0, 1.0))
    c1, c2 = (
        norse.LIFBoxCell(_norse_params(rng, 5, False)),
        norse.LIFBoxCell(_norse_params(rng, 3, False)),
    )
    net = norse.SequentialState(fc1, c1, fc2, c2)
    cells = {"1": c1, "3": c2}
    arrays = _norse_run(net, cells, x)
    g = quiet_export(to_nir, net, torch.zeros(4))
    for k in cells:
        check_node(g, k, "LIF")
    meta = _norse_meta(
        1e-3, "norse.torch.utils.export_nir.to_nir(net, torch.zeros(4))  # dt=0.001 default"
    )
    meta.update(
        network="SequentialState(Linear(4,5), LIFBoxCell, Linear(5,3), LIFBoxCell)",
        framework_neurons=_norse_fw(cells),
    )
    return g, {"input": x, **arrays}, meta


def _norse_lifcell(ctx, dt_arg):
    torch = torch_()
    import norse.torch as norse
    from norse.torch.utils.export_nir import to_nir

    rng = ctx["rng"]
    torch.manual_seed(0)
    x = bernoulli(rng, ctx["T"], ctx["B"], (4,), 0.35)
    fc1, fc2 = torch.nn.Linear(4, 5), torch.nn.Linear(5, 3)
    set_param(fc1.weight, uniform(rng, (5, 4), -0.6, 2.6))
    set_param(fc1.bias, uniform(rng, (5,), 0.0, 0.2))
    set_param(fc2.weight, uniform(rng, (3, 5), -1.0, 2.0))
    set_param(fc2.bias, uniform(rng, (3,), 0.0, 0.2))
    c1, c2 = norse.LIFCell(_norse_params(rng, 5, True)), norse.LIFCell(_norse_params(rng, 3, True))
    net = norse.SequentialState(fc1, c1, fc2, c2)
    cells = {"1": c1, "3": c2}
    arrays = _norse_run(net, cells, x, has_i=("1", "3"))
    if dt_arg is None:
        g = quiet_export(to_nir, net, torch.zeros(4))
        call = "norse.torch.utils.export_nir.to_nir(net, torch.zeros(4))  # dt=0.001 default"
    else:
        g = quiet_export(to_nir, net, torch.zeros(4), dt=dt_arg)
        call = f"norse.torch.utils.export_nir.to_nir(net, torch.zeros(4), dt={dt_arg!r})"
    for k in cells:
        check_node(g, k, "CubaLIF")
    meta = _norse_meta(
        1e-3 if dt_arg is None else dt_arg,
        call,
        [
            "LIFCell per step: i1 = i + x (jump, no dt*tau_syn_inv scaling); "
            "v' = v + dt*tau_mem_inv*((v_leak - v) + i1); i' = i1 - dt*tau_syn_inv*i1; "
            "z = v' - v_th > 0; v' = v_reset where z.",
        ],
    )
    meta["i_means"] = I_MEANS["norse"]
    meta.update(
        network="SequentialState(Linear(4,5), LIFCell, Linear(5,3), LIFCell)",
        framework_neurons=_norse_fw(cells),
    )
    return g, {"input": x, **arrays}, meta


case(
    "norse_lifcell",
    "norse",
    "Norse LIFCell feed-forward (exported as CubaLIF), exporter dt default 1e-3",
)(lambda ctx: _norse_lifcell(ctx, None))
case(
    "norse_lifcell_dt1",
    "norse",
    "Same network and run as norse_lifcell, exported with to_nir(..., dt=1.0)",
    seed_name="norse_lifcell",
)(lambda ctx: _norse_lifcell(ctx, 1.0))


@case(
    "norse_lifcell_defaults",
    "norse",
    "Norse LIFCell with default (scalar) LIFParameters: the file holds 0-d neuron parameters",
)
def norse_lifcell_defaults(ctx):
    torch = torch_()
    import norse.torch as norse
    from norse.torch.utils.export_nir import to_nir

    rng = ctx["rng"]
    torch.manual_seed(0)
    x = bernoulli(rng, ctx["T"], ctx["B"], (4,), 0.35)
    fc = torch.nn.Linear(4, 3)
    set_param(fc.weight, uniform(rng, (3, 4), -0.6, 2.6))
    set_param(fc.bias, uniform(rng, (3,), 0.0, 0.2))
    cell = norse.LIFCell()
    net = norse.SequentialState(fc, cell)
    cells = {"1": cell}
    arrays = _norse_run(net, cells, x, has_i=("1",))
    g = quiet_export(to_nir, net, torch.zeros(4))
    check_node(g, "1", "CubaLIF")
    meta = _norse_meta(
        1e-3,
        "norse.torch.utils.export_nir.to_nir(net, torch.zeros(4))  # dt=0.001 default",
        [
            "Default LIFParameters are 0-d tensors: the exported CubaLIF has scalar (shape []) "
            "tau_mem/tau_syn/r/v_leak/v_threshold/v_reset/w_in and input/output types []; the layer "
            "really has 3 neurons (Affine 4->3 feeds it).",
            "nir.write(path, graph) with its default compression='gzip' FAILS on these 0-d "
            "datasets (h5py TypeError: Scalar datasets don't support chunk/filter options); "
            "compression=None (used for every fixture) writes them.",
            "nir.read(path) fails too (type check: Affine [3] -> CubaLIF []); "
            "nir.read(path, type_check=False) works.",
        ],
    )
    meta["i_means"] = I_MEANS["norse"]
    meta.update(
        network="SequentialState(Linear(4,3), LIFCell())", framework_neurons=_norse_fw(cells)
    )
    return g, {"input": x, **arrays}, meta


@case(
    "norse_li",
    "norse",
    "Norse LIFBoxCell (non-zero v_leak) -> Linear -> LIBoxCell readout (LI), exporter dt default 1e-3",
)
def norse_li(ctx):
    torch = torch_()
    import norse.torch as norse
    from norse.torch import LIBoxParameters
    from norse.torch.utils.export_nir import to_nir

    rng = ctx["rng"]
    torch.manual_seed(0)
    x = bernoulli(rng, ctx["T"], ctx["B"], (4,), 0.35)
    fc1, fc2 = torch.nn.Linear(4, 5), torch.nn.Linear(5, 2)
    set_param(fc1.weight, uniform(rng, (5, 4), -2.0, 9.0))
    set_param(fc1.bias, uniform(rng, (5,), 0.0, 1.0))
    set_param(fc2.weight, uniform(rng, (2, 5), -1.0, 2.0))
    set_param(fc2.bias, uniform(rng, (2,), 0.0, 0.2))
    c1 = norse.LIFBoxCell(_norse_params(rng, 5, False, v_leak=uniform(rng, (5,), 0.1, 0.4)))
    li = norse.LIBoxCell(
        LIBoxParameters(
            tau_mem_inv=torch.from_numpy(uniform(rng, (2,), 50.0, 100.0)),
            v_leak=torch.from_numpy(uniform(rng, (2,), 0.05, 0.2)),
        )
    )
    net = norse.SequentialState(fc1, c1, fc2, li)
    cells = {"1": c1, "3": li}
    arrays = _norse_run(net, cells, x)
    g = quiet_export(to_nir, net, torch.zeros(4))
    check_node(g, "1", "LIF")
    check_node(g, "3", "LI")
    meta = _norse_meta(
        1e-3,
        "norse.torch.utils.export_nir.to_nir(net, torch.zeros(4))  # dt=0.001 default",
        [
            "Non-zero v_leak on both layers: the initial state is v = v_leak (nirc's plain "
            "reading starts at 0), so step 0 already differs by a*(v_leak - 0) terms.",
            "LIBoxCell: v' = v + dt*tau_mem_inv*((v_leak - v) + x); output is v' (no spike).",
        ],
    )
    meta["output_means"] = "LIBoxCell voltage (node '3'), identical to v.3"
    meta.update(
        network="SequentialState(Linear(4,5), LIFBoxCell(v_leak>0), Linear(5,2), LIBoxCell(v_leak>0))",
        framework_neurons=_norse_fw(cells),
    )
    return g, {"input": x, **arrays}, meta


# --------------------------------------------------------------------------
# Sinabs
# --------------------------------------------------------------------------


def _sinabs_meta(call, reset_note=None, extra=()):
    return {
        "framework": "sinabs",
        "profile": "sinabs",
        "dt": 1.0,
        "dt_note": "Sinabs has no dt: one step per sample, time constants are in steps, so dt = 1.",
        "exporter_dt": None,
        "exporter_call": call,
        "reset": {
            "mechanism": "subtract (multi-spike)",
            "framework_setting": "spike_fn=MultiSpike, reset_fn=MembraneSubtract() (defaults)",
            "equation": "n = trunc(v/thr) if v > 0 else 0 (= floor(v/thr) for v >= thr); v -= n*thr",
            "note": reset_note
            or "the file says IF/LIF with v_reset = 0 (reset-to-zero), which Sinabs does not do",
        },
        "v_means": V_MEANS["sinabs"],
        "threshold_comparison": "n = (v > 0) * trunc(v / thr): at least one spike iff v >= thr; "
        "outputs are spike COUNTS",
        "notes": [
            "Simulated one step at a time (state persists in the layers); the same input fed "
            "as one (B*T, ...) tensor gives identical output (checked by the script).",
            "Squeeze layers (IAFSqueeze/LIFSqueeze) are used so the Input has the per-sample "
            "shape; with the non-squeeze IAF/LIF and a (B, T, n) sample the exporter's Input "
            "keeps the time dim ([T, n]).",
            "min_v_mem = None (no lower bound on v).",
        ]
        + list(extra),
    }


def _sinabs_run(net, layers: dict, x):
    """Step a Squeeze-layer sinabs net one step at a time; x is [T, B, ...]."""
    torch = torch_()
    ref = copy.deepcopy(net)
    rec = Recorder(layers)
    v = {k: [] for k in layers}
    outs = []
    T, B = x.shape[:2]
    with torch.no_grad():
        for t in range(T):
            o = net(torch.from_numpy(x[t]))
            outs.append(o.reshape((B,) + tuple(o.shape[1:])))
            for k, m in layers.items():
                v[k].append(m.v_mem.clone().reshape((B,) + tuple(m.v_mem.shape[1:])))
        full = ref(
            torch.from_numpy(
                x.transpose((1, 0) + tuple(range(2, x.ndim))).reshape((B * T,) + x.shape[2:]).copy()
            )
        )
    rec.close()
    out = stack(outs)
    full = full.reshape((B, T) + tuple(full.shape[1:])).transpose(0, 1).numpy()
    same = bool((full == out).all())
    print(f"    sinabs stepwise == full-sequence output: {same}")
    if not same:
        raise RuntimeError("sinabs stepwise simulation differs from the full-sequence run")
    arrays = {"output": out}
    for k in layers:
        arrays[f"v.{k}"] = stack(v[k])
        arrays[f"spk.{k}"] = stack(rec.data[k])
    return arrays


def _sinabs_fw(layers):
    out = {}
    for k, m in layers.items():
        d = {
            "module": type(m).__name__,
            "spike_threshold": tolist(m.spike_threshold),
            "spike_fn": getattr(m.spike_fn, "__name__", str(m.spike_fn)),
            "reset_fn": repr(m.reset_fn),
            "min_v_mem": tolist(m.min_v_mem),
        }
        if getattr(m, "tau_mem", None) is not None:
            d["tau_mem_steps"] = tolist(m.tau_mem)
            d["norm_input"] = m.norm_input
            d["alpha_mem"] = tolist(m.alpha_mem_calculated)
        out[k] = d
    return out


@case("sinabs_iaf", "sinabs", "Sinabs IAFSqueeze feed-forward (IF), multi-spike")
def sinabs_iaf(ctx):
    torch = torch_()
    import sinabs.layers as sl
    from sinabs.nir import to_nir

    rng, T, B = ctx["rng"], ctx["T"], ctx["B"]
    torch.manual_seed(0)
    x = bernoulli(rng, T, B, (4,), 0.35)
    fc1, fc2 = torch.nn.Linear(4, 5), torch.nn.Linear(5, 3)
    set_param(fc1.weight, uniform(rng, (5, 4), -1.0, 2.6))
    set_param(fc1.bias, uniform(rng, (5,), -0.1, 0.1))
    set_param(fc2.weight, uniform(rng, (3, 5), -0.8, 1.6))
    set_param(fc2.bias, uniform(rng, (3,), -0.1, 0.1))
    n1, n2 = sl.IAFSqueeze(batch_size=B), sl.IAFSqueeze(batch_size=B)
    net = torch.nn.Sequential(fc1, n1, fc2, n2)
    layers = {"1": n1, "3": n2}
    arrays = _sinabs_run(net, layers, x)
    g = quiet_export(to_nir, net, torch.zeros(B, 4))
    for k in layers:
        check_node(g, k, "IF")
    meta = _sinabs_meta(
        f"sinabs.nir.to_nir(net, torch.zeros({B}, 4))",
        extra=[
            "IAF: v += I[t] (no leak, r = 1 in the file), then the multi-spike subtractive reset.",
        ],
    )
    meta.update(
        network=f"Sequential(Linear(4,5), IAFSqueeze(batch_size={B}), Linear(5,3), "
        f"IAFSqueeze(batch_size={B}))",
        framework_neurons=_sinabs_fw(layers),
    )
    return g, {"input": x, **arrays}, meta


@case(
    "sinabs_conv",
    "sinabs",
    "Sinabs Conv2d -> IAFSqueeze -> SumPool2d -> Flatten -> Linear -> IAFSqueeze on 2x8x8",
)
def sinabs_conv(ctx):
    torch = torch_()
    import sinabs.layers as sl
    from sinabs.nir import to_nir

    rng = ctx["rng"]
    T, B = 32, 1
    torch.manual_seed(0)
    x = bernoulli(rng, T, B, (2, 8, 8), 0.2)
    conv = torch.nn.Conv2d(2, 2, 3, padding=1, bias=False)
    set_param(conv.weight, uniform(rng, (2, 2, 3, 3), -0.4, 0.7))
    fc = torch.nn.Linear(32, 3, bias=False)
    set_param(fc.weight, uniform(rng, (3, 32), -0.25, 0.2))
    n1, n2 = sl.IAFSqueeze(batch_size=B), sl.IAFSqueeze(batch_size=B)
    net = torch.nn.Sequential(conv, n1, sl.SumPool2d(2), torch.nn.Flatten(), fc, n2)
    layers = {"1": n1, "5": n2}
    arrays = _sinabs_run(net, layers, x)
    g = quiet_export(to_nir, net, torch.zeros(B, 2, 8, 8))
    # The exporter leaves Conv2d.input_shape and the SumPool2d/Flatten types as None,
    # which nir.write cannot store (TypeError); nir's own inference fills them in.
    g.infer_types()
    check_node(g, "0", "Conv2d")
    check_node(g, "1", "IF")
    check_node(g, "2", "SumPool2d")
    check_node(g, "3", "Flatten")
    check_node(g, "4", "Affine")
    check_node(g, "5", "IF")
    meta = _sinabs_meta(
        f"sinabs.nir.to_nir(net, torch.zeros({B}, 2, 8, 8)); graph.infer_types()",
        extra=[
            "POST-PROCESSED: the exporter leaves Conv2d.input_shape = None and the input/output "
            "types of Conv2d, SumPool2d and Flatten as None; nir.write then fails (TypeError: "
            "One of data, shape or dtype must be specified). The script calls nir's "
            "graph.infer_types() before writing, which sets Conv2d.input_shape = (8, 8) and the "
            "types; nothing else changes.",
            "Conv2d/Linear have bias=False; the exporter writes zero biases (Conv2d bias zeros, "
            "Linear -> Affine with zero bias).",
            "nn.Flatten(start_dim=1) is written as Flatten(start_dim=0, end_dim=-1) on the "
            "per-sample shape [2, 4, 4] -> [32].",
        ],
    )
    meta["T"], meta["B"] = T, B
    meta.update(
        network=f"Sequential(Conv2d(2,2,3,padding=1,bias=False), IAFSqueeze(batch_size={B}), "
        f"SumPool2d(2), Flatten(), Linear(32,3,bias=False), IAFSqueeze(batch_size={B}))",
        framework_neurons=_sinabs_fw(layers),
    )
    return g, {"input": x, **arrays}, meta


@case(
    "sinabs_lif",
    "sinabs",
    "Sinabs LIFSqueeze (tau_mem in steps, norm_input=True default) feed-forward",
)
def sinabs_lif(ctx):
    torch = torch_()
    import sinabs.layers as sl
    from sinabs.nir import to_nir

    rng, T, B = ctx["rng"], ctx["T"], ctx["B"]
    torch.manual_seed(0)
    x = bernoulli(rng, T, B, (4,), 0.35)
    fc1, fc2 = torch.nn.Linear(4, 5), torch.nn.Linear(5, 3)
    set_param(fc1.weight, uniform(rng, (5, 4), -4.0, 16.0))
    set_param(fc1.bias, uniform(rng, (5,), 0.0, 0.5))
    set_param(fc2.weight, uniform(rng, (3, 5), -3.0, 10.0))
    set_param(fc2.bias, uniform(rng, (3,), 0.0, 0.5))

    def lif(n):
        return sl.LIFSqueeze(
            batch_size=B,
            tau_mem=torch.from_numpy(uniform(rng, (n,), 3.0, 10.0)),
            spike_threshold=torch.from_numpy(uniform(rng, (n,), 0.8, 1.2)),
        )

    n1, n2 = lif(5), lif(3)
    net = torch.nn.Sequential(fc1, n1, fc2, n2)
    layers = {"1": n1, "3": n2}
    arrays = _sinabs_run(net, layers, x)
    g = quiet_export(to_nir, net, torch.zeros(B, 4))
    for k in layers:
        check_node(g, k, "LIF")
    meta = _sinabs_meta(
        f"sinabs.nir.to_nir(net, torch.zeros({B}, 4))",
        extra=[
            "LIF (norm_input=True, Sinabs' default): alpha = exp(-1/tau_mem); "
            "v = alpha*v + (1 - alpha)*I[t]; then the multi-spike subtractive reset. "
            "The exporter writes tau = tau_mem (in steps), r = 1, v_leak = 0 and ignores "
            "norm_input (with norm_input=False the file would be identical).",
            "The exporter needs tau_mem and spike_threshold as per-neuron tensors: a scalar "
            "tau_mem with a layer of n neurons fails nir.LIF's equal-shape assertion.",
        ],
    )
    meta.update(
        network="Sequential(Linear(4,5), LIFSqueeze(tau_mem[5]), Linear(5,3), LIFSqueeze(tau_mem[3]))",
        framework_neurons=_sinabs_fw(layers),
    )
    return g, {"input": x, **arrays}, meta


# --------------------------------------------------------------------------
# Rockpool
# --------------------------------------------------------------------------

ROCKPOOL_DT = 1e-3


def _rockpool_meta(call, extra=()):
    return {
        "framework": "rockpool",
        "profile": "rockpool",
        "dt": ROCKPOOL_DT,
        "dt_note": "LIFTorch(dt=1e-3), its default; decays are exp(-dt/tau).",
        "exporter_dt": ROCKPOOL_DT,
        "exporter_call": call,
        "reset": {
            "mechanism": "subtract (multi-spike)",
            "framework_setting": "LIFTorch default (StepPWL spike function)",
            "equation": "n = (v >= thr) * floor(v/thr) (max_spikes_per_dt = 2**16); v -= n*thr",
            "note": "the file says CubaLIF with v_reset = 0 (reset-to-zero), which Rockpool does not do",
        },
        "v_means": V_MEANS["rockpool"],
        "i_means": I_MEANS["rockpool"],
        "threshold_comparison": "n = (v >= thr) * floor(v/thr): spikes iff v >= thr; outputs are spike COUNTS",
        "notes": [
            "LIFTorch per step: isyn += x[t] (+ W_rec s[t-1], spike counts); "
            "v *= exp(-dt/tau_mem); isyn *= exp(-dt/tau_syn); v += isyn + bias (noise_std = 0); "
            "n = spikes; v -= n*thr.",
            "Exporter writes CubaLIF(tau_mem, tau_syn, r = tau_mem*exp(-dt/tau_mem)/dt, "
            "v_leak = 0 (the bias is DROPPED, zeros_like(bias)), v_threshold) and leaves w_in = 1, "
            "v_reset = 0 to nir's defaults. LinearTorch exports as Linear (weight transposed).",
            "Called as to_nir(net) with no sample: the exporter uses zeros((1, size_in)), so the "
            "Input node is [1, 4] (batch dim kept) and the Output node is [1, 1, n] "
            "(batch and time kept) while the neurons are [n].",
            "Node names are Rockpool's module names ('0_LinearTorch', '1_LIFTorch', ...).",
            "nir.read(path) FAILS on these files (type check: Input [1, 4] -> Linear [4]); "
            "nir.read(path, type_check=False) works.",
        ]
        + list(extra),
    }


def _rockpool_run(net, names, x):
    torch = torch_()
    with torch.no_grad():
        out, _st, rec = net(torch.from_numpy(x.transpose(1, 0, 2).copy()), record=True)

    def tb(a):  # [B, T, ...] torch -> [T, B, ...] float32 numpy
        return a.detach().float().numpy().swapaxes(0, 1).astype("float32")

    arrays = {"output": tb(out)}
    for k in names:
        arrays[f"v.{k}"] = tb(rec[k]["vmem"])
        arrays[f"i.{k}"] = tb(rec[k]["isyn"].sum(-1))
        arrays[f"spk.{k}"] = tb(rec[k]["spikes"])
    return arrays


def _rockpool_fw(mods):
    out = {}
    for k, m in mods.items():
        d = {
            "module": type(m).__name__,
            "dt": float(m.dt),
            "tau_mem": tolist(m.tau_mem),
            "tau_syn": tolist(m.tau_syn),
            "threshold": tolist(m.threshold),
            "bias": tolist(m.bias),
            "has_rec": bool(getattr(m, "_has_rec", False)),
            "alpha_mem_decay": tolist(m.alpha),
            "beta_syn_decay": tolist(m.beta),
        }
        if getattr(m, "_has_rec", False):
            d["w_rec"] = tolist(m.w_rec)
        out[k] = d
    return out


@case(
    "rockpool_lif", "rockpool", "Rockpool LinearTorch + LIFTorch feed-forward (exported as CubaLIF)"
)
def rockpool_lif(ctx):
    torch = torch_()
    from rockpool.nn.combinators import Sequential
    from rockpool.nn.modules import LIFTorch, LinearTorch

    to_nir = import_module("rockpool.nn.modules.torch.nir").to_nir
    rng = ctx["rng"]
    torch.manual_seed(0)
    x = bernoulli(rng, ctx["T"], ctx["B"], (4,), 0.35)
    l1 = LinearTorch((4, 5), weight=torch.from_numpy(uniform(rng, (4, 5), -0.2, 0.5)))
    n1 = LIFTorch(
        5,
        tau_mem=torch.from_numpy(uniform(rng, (5,), 0.01, 0.03)),
        tau_syn=torch.from_numpy(uniform(rng, (5,), 0.003, 0.01)),
        dt=ROCKPOOL_DT,
    )
    l2 = LinearTorch((5, 3), weight=torch.from_numpy(uniform(rng, (5, 3), -0.15, 0.2)))
    n2 = LIFTorch(
        3,
        tau_mem=torch.from_numpy(uniform(rng, (3,), 0.01, 0.03)),
        tau_syn=torch.from_numpy(uniform(rng, (3,), 0.003, 0.01)),
        dt=ROCKPOOL_DT,
    )
    net = Sequential(l1, n1, l2, n2)
    names = ["1_LIFTorch", "3_LIFTorch"]
    arrays = _rockpool_run(net, names, x)
    g = quiet_export(to_nir, net)
    check_node(g, "0_LinearTorch", "Linear")
    for k in names:
        check_node(g, k, "CubaLIF")
    meta = _rockpool_meta("rockpool.nn.modules.torch.nir.to_nir(net)")
    meta.update(
        network="Sequential(LinearTorch((4,5)), LIFTorch(5), LinearTorch((5,3)), LIFTorch(3))",
        framework_neurons=_rockpool_fw({"1_LIFTorch": n1, "3_LIFTorch": n2}),
    )
    return g, {"input": x, **arrays}, meta


@case(
    "rockpool_lif_rec",
    "rockpool",
    "Rockpool LIFTorch(has_rec=True): the exporter silently DROPS w_rec (file cannot reproduce the run)",
)
def rockpool_lif_rec(ctx):
    torch = torch_()
    from rockpool.nn.combinators import Sequential
    from rockpool.nn.modules import LIFTorch, LinearTorch

    to_nir = import_module("rockpool.nn.modules.torch.nir").to_nir
    rng = ctx["rng"]
    torch.manual_seed(0)
    x = bernoulli(rng, ctx["T"], ctx["B"], (4,), 0.35)
    l1 = LinearTorch((4, 5), weight=torch.from_numpy(uniform(rng, (4, 5), -0.2, 0.5)))
    w_rec = uniform(rng, (5, 5), -0.5, 0.12)
    np_().fill_diagonal(w_rec, 0.0)
    n1 = LIFTorch(
        5,
        tau_mem=torch.from_numpy(uniform(rng, (5,), 0.01, 0.03)),
        tau_syn=torch.from_numpy(uniform(rng, (5,), 0.003, 0.01)),
        dt=ROCKPOOL_DT,
        has_rec=True,
        w_rec=torch.from_numpy(w_rec),
    )
    net = Sequential(l1, n1)
    names = ["1_LIFTorch"]
    arrays = _rockpool_run(net, names, x)
    g = quiet_export(to_nir, net)
    check_node(g, "1_LIFTorch", "CubaLIF")
    linear_nodes = [k for k, v in g.nodes.items() if type(v).__name__ in ("Linear", "Affine")]
    meta = _rockpool_meta(
        "rockpool.nn.modules.torch.nir.to_nir(net)",
        extra=[
            "has_rec=True: the exporter maps LIFTorch to a single CubaLIF and writes NO recurrent "
            f"weights (linear nodes in the file: {linear_nodes}); w_rec (stored in "
            "framework_neurons, [pre, post] layout: irec = s @ w_rec) is lost. The recorded output "
            "includes the recurrence, so the file CANNOT reproduce it: expect_match is false.",
        ],
    )
    meta["expect_match"] = False
    meta.update(
        network="Sequential(LinearTorch((4,5)), LIFTorch(5, has_rec=True))",
        framework_neurons=_rockpool_fw({"1_LIFTorch": n1}),
    )
    return g, {"input": x, **arrays}, meta


@case(
    "rockpool_xylo",
    "rockpool",
    "Rockpool LinearTorch(12,32) -> LIFTorch(32, has_rec=True) -> LinearTorch(32,7) -> "
    "LIFTorch(7), SynNet time constants, T=300: Xylo's network shape (w_rec added to the file)",
    size_limit=XYLO_SIZE_LIMIT,
)
def rockpool_xylo(ctx):
    torch = torch_()
    np = np_()
    import nir
    from rockpool.nn.combinators import Sequential
    from rockpool.nn.modules import LIFTorch, LinearTorch
    from rockpool.nn.modules.torch.lif_torch import bitshift_to_tau

    to_nir = import_module("rockpool.nn.modules.torch.nir").to_nir
    rng = ctx["rng"]
    T, B = XYLO_T, XYLO_B
    n_in, n_h, n_out = XYLO_SHAPE
    torch.manual_seed(0)
    x = bernoulli(rng, T, B, (n_in,), XYLO_P)

    def tau(dashes):  # Rockpool's own bit shift -> tau (exp(-dt/tau) = 1 - 2**-dash)
        d = torch.as_tensor(np.asarray(dashes, np.float64))
        return bitshift_to_tau(ROCKPOOL_DT, d)[0].float()

    tau_syn_h = tau(_xylo_dashes(n_h))
    tau_mem_h = tau(np.full(n_h, XYLO_DASH_MEM))
    tau_syn_o = tau(np.full(n_out, XYLO_DASH_SYN_OUT))
    tau_mem_o = tau(np.full(n_out, XYLO_DASH_MEM))
    norm_h = (ROCKPOOL_DT / tau_syn_h).numpy()  # SynNet: weights * dt / tau_syn
    norm_o = (ROCKPOOL_DT / tau_syn_o).numpy()
    w_in = ROCKPOOL_XYLO_GAIN["in"] * uniform(rng, (n_in, n_h), -0.5, 1.5) * norm_h[None, :]
    w_rec = ROCKPOOL_XYLO_GAIN["rec"] * uniform(rng, (n_h, n_h), -1.0, 0.6) * norm_h[None, :]
    np.fill_diagonal(w_rec, 0.0)
    w_out = ROCKPOOL_XYLO_GAIN["out"] * uniform(rng, (n_h, n_out), -0.5, 1.0) * norm_o[None, :]
    l1 = LinearTorch((n_in, n_h), weight=torch.from_numpy(w_in.astype(np.float32)), has_bias=False)
    n1 = LIFTorch(
        n_h,
        tau_mem=tau_mem_h,
        tau_syn=tau_syn_h,
        dt=ROCKPOOL_DT,
        has_rec=True,
        w_rec=torch.from_numpy(w_rec.astype(np.float32)),
    )
    l2 = LinearTorch(
        (n_h, n_out), weight=torch.from_numpy(w_out.astype(np.float32)), has_bias=False
    )
    n2 = LIFTorch(n_out, tau_mem=tau_mem_o, tau_syn=tau_syn_o, dt=ROCKPOOL_DT)
    net = Sequential(l1, n1, l2, n2)
    names = ["1_LIFTorch", "3_LIFTorch"]
    arrays = _rockpool_run(net, names, x)
    g = quiet_export(to_nir, net)
    check_node(g, "0_LinearTorch", "Linear")
    check_node(g, "2_LinearTorch", "Linear")
    for k in names:
        check_node(g, k, "CubaLIF")
    exported = describe_graph(g)
    # POST-PROCESSING: the exporter drops w_rec (see rockpool_lif_rec). Add it
    # back the way snnTorch writes a recurrent layer: a Linear node on a cycle.
    rec = "1_LIFTorch.w_rec"
    w_file = np.ascontiguousarray(n1.w_rec.detach().numpy().T)  # [post, pre]: irec = W s
    g.nodes[rec] = nir.Linear(weight=w_file)
    g.edges.extend([("1_LIFTorch", rec), (rec, "1_LIFTorch")])
    meta = _rockpool_meta(
        "rockpool.nn.modules.torch.nir.to_nir(net); then the recurrent weights are added "
        f"(node {rec!r}, edges 1_LIFTorch -> {rec} -> 1_LIFTorch)",
        extra=[
            "POST-PROCESSED: to_nir writes no recurrent weights for has_rec=True (the exported "
            "graph is recorded under extra.exporter_graph). The script adds nir.Linear node "
            f"{rec!r} with weight = w_rec.T ([post, pre]) and the edges 1_LIFTorch -> {rec} -> "
            "1_LIFTorch, the form snnTorch's exporter writes for RLeaky/RSynaptic (flattened "
            "'N.lif' / 'N.w_rec'). Rockpool's own from_nir reads a recurrent LIFTorch from a "
            "nested NIRGraph {Input, CubaLIF, Linear/Affine, Output} instead; nothing else is "
            "changed.",
            "Rockpool adds s[t-1] @ w_rec (the spike counts of the previous step) to isyn in "
            "step t, before the synaptic decay, like the feed-forward input x[t].",
            "Xylo's network shape: input -> recurrent hidden layer -> non-recurrent readout fed "
            "only by the hidden layer. T = 300, B = 2, 12 inputs, Bernoulli p = 0.1.",
            "Time constants as Rockpool's SynNet (its reference Xylo network, "
            "quantize_time_constants=True): hidden tau_syn = bitshift_to_tau(dt, dash) with "
            "dash = 1, 2, 3, 4 repeating (2, 4, 8, 16 ms rounded), tau_mem and the readout's "
            "tau_syn from dash 1 (2 ms rounded): exp(-dt/tau) = 1 - 2**-dash exactly.",
            "Weights scaled by dt/tau_syn of the receiving neuron, as SynNet does; gains "
            f"{ROCKPOOL_XYLO_GAIN}; no biases; thresholds 1 (defaults); default StepPWL spikes "
            "(max_spikes_per_dt = 2**16, also on the readout).",
        ],
    )
    meta.update(
        network=f"Sequential(LinearTorch(({n_in},{n_h})), LIFTorch({n_h}, has_rec=True), "
        f"LinearTorch(({n_h},{n_out})), LIFTorch({n_out}))",
        framework_neurons=_rockpool_fw({"1_LIFTorch": n1, "3_LIFTorch": n2}),
        exporter_graph=exported,
    )
    meta["framework_neurons"]["1_LIFTorch"]["dash_syn"] = tolist(_xylo_dashes(n_h))
    return g, {"input": x, **arrays}, meta


# --------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------


def _seed_for(name):
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "little")


def _spike_keys(arrays):
    return [k for k in arrays if k.startswith("spk.")]


def summarize(name, framework, arrays, meta):
    out = arrays["output"]
    spk = _spike_keys(arrays)
    parts = []
    problems = []
    spiking_out = "output_means" not in meta
    if spiking_out:
        parts.append(f"out spikes={out.sum():.0f} max/step={out.max():.0f}")
    else:
        parts.append(f"out (voltage) range=[{out.min():.3f}, {out.max():.3f}]")
    multi = False
    for k in spk:
        s = arrays[k]
        frac = float((s > 0).mean())
        parts.append(f"{k[4:]}: {s.sum():.0f} spikes, max/step={s.max():.0f}, active={frac:.2f}")
        if s.sum() == 0:
            problems.append(f"{k} never spikes")
        if frac > 0.9:
            problems.append(f"{k} spikes in {frac:.0%} of neuron-steps (saturated)")
        multi |= bool(s.max() > 1)
    if spiking_out and out.sum() == 0:
        problems.append("output never spikes")
    if framework in ("sinabs", "rockpool") and not multi:
        problems.append("no neuron ever spikes more than once in a step")
    print(f"  {name:28s} " + "; ".join(parts))
    return problems


def write_case(name, spec, out_dir: Path, T, B):
    import nir

    np = np_()
    rng = np.random.default_rng(_seed_for(spec["seed_name"]))
    ctx = {"rng": rng, "T": T, "B": B}
    g, arrays, meta = spec["fn"](ctx)

    # Input node name(s): save the input under each Input node's name as well.
    input_nodes = [k for k, v in g.nodes.items() if type(v).__name__ == "Input"]
    for k in input_nodes:
        if k != "input":
            arrays[k] = arrays["input"]

    nir_path = out_dir / f"{name}.nir"
    # compression=None: same datasets, contiguous storage. nir.write's default gzip
    # makes each file 2-3x larger (chunk overhead) and cannot store 0-d datasets.
    nir.write(str(nir_path), g, compression=None)
    try:  # printed, not asserted
        g2 = nir.read(str(nir_path))
        readable = f"ok ({len(g2.nodes)} nodes, {len(g2.edges)} edges)"
    except Exception as e:
        readable = f"FAILED: {type(e).__name__}: {e}"
    print(f"    nir.read({nir_path.name}): {readable}")
    # Describe the file as written: read without nir's type inference/checking.
    g2 = nir.read(str(nir_path), type_check=False)

    np.savez_compressed(out_dir / f"{name}.npz", **arrays)

    Tm, Bm = arrays["input"].shape[:2]
    sidecar = OrderedDict()
    sidecar["case"] = name
    sidecar["description"] = spec["summary"]
    sidecar["framework"] = meta.pop("framework")
    sidecar["framework_version"] = versions()[sidecar["framework"]]
    sidecar["versions"] = versions()
    sidecar["profile"] = meta.pop("profile")
    sidecar["expect_match"] = meta.pop("expect_match", True)
    for k in (
        "dt",
        "dt_note",
        "exporter_dt",
        "exporter_call",
        "network",
        "reset",
        "threshold_comparison",
        "v_means",
        "i_means",
    ):
        if k in meta:
            sidecar[k] = meta.pop(k)
    meta.pop("T", None)
    meta.pop("B", None)
    sidecar["T"], sidecar["B"] = int(Tm), int(Bm)
    sidecar["written_with"] = "nir.write(path, graph, compression=None)"
    sidecar["input"] = {
        "keys": ["input"] + [k for k in input_nodes if k != "input"],
        "input_nodes": input_nodes,
        "declared_shape": {k: tolist(g2.nodes[k].input_type.get("input")) for k in input_nodes},
        "shape": list(arrays["input"].shape),
        "what": "Bernoulli spikes (0.0/1.0), time-major [T, B, *per-sample shape], float32",
        "seed": _seed_for(spec["seed_name"]),
    }
    sidecar["output"] = {
        "key": "output",
        "shape": list(arrays["output"].shape),
        "what": meta.pop(
            "output_means",
            "the framework's output spikes "
            + (
                "(spike COUNTS per step)"
                if sidecar["framework"] in ("sinabs", "rockpool")
                else "(0/1 per step)"
            ),
        ),
        "output_nodes": {
            k: tolist(v.output_type.get("output"))
            for k, v in g2.nodes.items()
            if type(v).__name__ == "Output"
        },
    }
    sidecar["arrays"] = {k: list(v.shape) for k, v in arrays.items()}
    sidecar["array_key_meaning"] = {
        "v.<node>": "membrane voltage of NIR node <node> per step, see v_means",
        "i.<node>": "synaptic current of NIR node <node> per step, see i_means",
        "spk.<node>": "output of NIR node <node> per step (spikes, or counts for sinabs/rockpool)",
    }
    sidecar["framework_neurons"] = meta.pop("framework_neurons", {})
    sidecar["notes"] = meta.pop("notes", [])
    sidecar["exported_graph"] = describe_graph(g2)
    sidecar["nir_read"] = readable
    if meta:
        sidecar["extra"] = meta
    (out_dir / f"{name}.json").write_text(dump_json(sidecar) + "\n")

    problems = summarize(name, spec["framework"], arrays, sidecar)
    sizes = {ext: (out_dir / f"{name}{ext}").stat().st_size for ext in (".nir", ".npz", ".json")}
    print("    files: " + ", ".join(f"{e[1:]} {b / 1024:.1f} KiB" for e, b in sizes.items()))
    limit = spec.get("size_limit", SIZE_LIMIT_CASE)
    if sizes[".nir"] + sizes[".npz"] > limit:
        problems.append(f".nir + .npz are {sizes['.nir'] + sizes['.npz']} bytes > {limit}")
    return problems, sum(sizes.values())


def compare_dirs(new: Path, old: Path, names):
    np = np_()
    ok = True
    for n in names:
        ja, jb = new / f"{n}.json", old / f"{n}.json"
        if jb.exists():
            ga = json.loads(ja.read_text())["exported_graph"]
            gb = json.loads(jb.read_text())["exported_graph"]
            if ga != gb:
                print(f"  {n}: exported graph differs (nodes, parameters or edge order)")
                ok = False
        a, b = new / f"{n}.npz", old / f"{n}.npz"
        if not b.exists():
            print(f"  {n}: no committed fixture")
            ok = False
            continue
        x, y = np.load(a), np.load(b)
        if set(x.files) != set(y.files):
            print(f"  {n}: keys differ {sorted(set(x.files) ^ set(y.files))}")
            ok = False
            continue
        bad = [
            k
            for k in x.files
            if x[k].shape != y[k].shape or not np.allclose(x[k], y[k], rtol=1e-5, atol=1e-6)
        ]
        print(f"  {n}: {'same' if not bad else 'DIFFERENT: ' + ', '.join(bad)}")
        ok &= not bad
    return ok


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--venv", type=Path, help="create/reuse this venv and re-run inside it")
    ap.add_argument(
        "--torch-spec",
        help="override the torch requirement used by --venv "
        "(default: the torch== line of requirements.txt)",
    )
    ap.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"output dir (default {DEFAULT_OUT})"
    )
    ap.add_argument("--cases", help="comma-separated case names (default: all)")
    ap.add_argument("--list", action="store_true", help="list cases and exit")
    ap.add_argument(
        "--check",
        action="store_true",
        help="regenerate into a temp dir and compare arrays with --out",
    )
    ap.add_argument("-T", type=int, default=T_DEFAULT, help="steps (default %(default)s)")
    ap.add_argument("-B", type=int, default=B_DEFAULT, help="batch (default %(default)s)")
    args = ap.parse_args(argv)

    if args.list:
        for n, s in CASES.items():
            print(f"{n:28s} {s['summary']}")
        return 0

    maybe_reexec(args, argv)

    names = (
        list(CASES) if not args.cases else [c.strip() for c in args.cases.split(",") if c.strip()]
    )
    unknown = [n for n in names if n not in CASES]
    if unknown:
        print(f"unknown case(s): {unknown}; see --list", file=sys.stderr)
        return 2

    warnings.filterwarnings("ignore")
    import numpy  # noqa: F401  (fail early with a clear message)

    for mod in ("torch", "nir", "nirtorch"):
        import_module(mod)
    print("versions:", json.dumps(versions()))

    out_dir = Path(tempfile.mkdtemp(prefix="nirc-fixtures-")) if args.check else args.out
    out_dir.mkdir(parents=True, exist_ok=True)
    all_problems = {}
    total = 0
    for n in names:
        spec = CASES[n]
        print(f"[{spec['framework']}] {n}: {spec['summary']}", flush=True)
        for mod in {
            "snntorch": ["snntorch"],
            "norse": ["norse.torch"],
            "sinabs": ["sinabs", "sinabs.layers", "sinabs.nir"],
            "rockpool": ["rockpool.nn.modules", "rockpool.nn.combinators"],
        }[spec["framework"]]:
            import_module(mod)
        problems, size = write_case(n, spec, out_dir, args.T, args.B)
        total += size
        if problems:
            all_problems[n] = problems
    print(f"total fixture size: {total / 1024:.1f} KiB in {out_dir}")
    if total > SIZE_LIMIT_TOTAL:
        all_problems["<total>"] = [f"{total} bytes > {SIZE_LIMIT_TOTAL}"]
    rc = 0
    if all_problems:
        rc = 1
        print("PROBLEMS:")
        for n, ps in all_problems.items():
            for p in ps:
                print(f"  {n}: {p}")
    if args.check:
        print(f"comparing {out_dir} with {args.out}:")
        if not compare_dirs(out_dir, args.out, names):
            rc = 1
        shutil.rmtree(out_dir, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
