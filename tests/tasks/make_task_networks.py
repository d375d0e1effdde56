#!/usr/bin/env python3
"""Train small task networks with the real frameworks and export them to NIR.

NOT part of the default test run. ``../shared/tasks`` ships two trained
networks (Sinabs, Rockpool); the work on ``nirc eval`` is judged on more
networks of the kinds users train: snnTorch and Norse, on both data sets,
IF (beta = 1) and leaky neurons, synaptic currents, recurrent all-to-all
weights, biases, AvgPool2d. This script trains a few such networks quickly on
the CPU with the frameworks themselves, exports each with the framework's own
exporter (with the exporters' quirks: snnTorch's hard-coded dt = 1e-4 and
``tau = r = inf`` for beta = 1, Norse's ``to_nir`` default dt), measures the
framework's own float accuracy on the test split (its own forward pass, the
readout of the task README: argmax of the output spike counts, ties to the
lowest index) and writes, for each case, into ``tests/data/tasks/``:

    <case>.nir           the exporter's graph (nir.write, uncompressed)
    <case>.json          framework, data set, architecture, training, the
                         framework's float accuracy, what the file leaves out
                         and the --source / options that read it as trained
    <case>_outputs.npz   float_counts [N, classes] and float_pred [N] of the
                         framework's run on the test split

Usage (from the repository root):

    # inside an environment with torch==2.13.0, snntorch 1.0.0, norse 1.1.0, nir 1.0.8
    python tests/tasks/make_task_networks.py
    # or let it re-run itself with another interpreter
    python tests/tasks/make_task_networks.py --python /tmp/lab/venv-torch/bin/python
    # or build the pinned framework venv of tests/frameworks/ and use it
    python tests/tasks/make_task_networks.py --venv /tmp/nirc-frameworks
    python tests/tasks/make_task_networks.py --list
    python tests/tasks/make_task_networks.py --cases snntorch_if_cnn_digits --epochs 2

Training is deterministic for a given torch build (seeded, one thread). It
takes a few minutes per case on one core. See tests/tasks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
DEFAULT_OUT = REPO / "tests" / "data" / "tasks"
DEFAULT_TASKS = REPO.parent / "shared" / "tasks"


# --------------------------------------------------------------------------------------
# the cases
# --------------------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    framework: str  # "snntorch" or "norse"
    data: str  # "digits16" or "kws8"
    summary: str
    build: str  # name of the builder function below
    epochs: int
    lr: float
    logit_scale: float  # cross-entropy on spike counts times this
    loss: str = "ce"  # "ce" or "rate" (MSE of the output rates to 0.5 / 0.05, snnTorch's
    #                   mse_count_loss with correct_rate=0.5, incorrect_rate=0.05)
    init_gains: tuple = ()  # multiply the initial weights of the Linear/Conv layers, in order
    flatten_input: bool = False  # the net reads each step's input flattened (x.flatten(1))
    reading: dict = field(default_factory=dict)  # how nirc reads it as trained
    notes: list[str] = field(default_factory=list)


CASES = [
    Case(
        "snntorch_if_cnn_digits", "snntorch", "digits16",
        "Conv2d(1,8,3,p1) -> Leaky(beta=1) -> AvgPool2d(2) -> Conv2d(8,16,3,p1) -> "
        "Leaky(beta=1) -> AvgPool2d(2) -> Flatten -> Linear(256,10) -> Leaky(beta=1); "
        "biases, snnTorch's default reset (subtract)",
        "snntorch_cnn_if", epochs=15, lr=2e-3, logit_scale=0.25,
        reading={"source": "snntorch"},
        notes=["beta = 1 (IF): the exporter writes tau = r = inf (it divides by 1 - beta)"],
    ),
    Case(
        "snntorch_leaky_cnn_digits", "snntorch", "digits16",
        "the same CNN with Leaky(beta=0.95), reset_mechanism='zero'",
        "snntorch_cnn_leaky", epochs=15, lr=2e-3, logit_scale=0.25,
        reading={"source": "snntorch", "reset": "zero"},
        notes=["Speck has no leak: the chip drops it (--allow-approximate)"],
    ),
    Case(
        "norse_if_mlp_digits", "norse", "digits16",
        "Linear(256,64) -> IAFCell -> Linear(64,10) -> IAFCell on the input flattened "
        "(x.flatten(1): Norse's to_nir cannot export torch.nn.Flatten)",
        "norse_mlp_if", epochs=15, lr=2e-3, logit_scale=0.25, flatten_input=True,
        reading={"source": "norse"},
        notes=["Norse's IAFCell adds its input per step (v += x); the exporter writes IF with "
               "r = 1", "the file's Input is [256]: the data's [1, 16, 16] flattened"],
    ),
    Case(
        "snntorch_rsynaptic_kws", "snntorch", "kws8",
        "Linear(16,64) -> RSynaptic(64, all-to-all, alpha = 1 - 2**-2, beta = 1 - 2**-3) -> "
        "Linear(64,8) -> Synaptic(alpha = 1 - 2**-3, beta = 1 - 2**-4); subtract reset; decays "
        "that are Xylo bit shifts",
        "snntorch_rsynaptic", epochs=60, lr=3e-3, logit_scale=0.2, init_gains=(0.05, 0.3, 0.5),
        reading={"source": "snntorch"},
    ),
    Case(
        "snntorch_leaky_kws", "snntorch", "kws8",
        "Linear(16,64) -> Leaky(64, beta=0.9, reset zero) -> Linear(64,8) -> Leaky(8, beta=0.9, "
        "reset zero); decays that are not Xylo bit shifts",
        "snntorch_leaky_ff", epochs=40, lr=3e-3, logit_scale=0.2, init_gains=(0.3, 0.5),
        reading={"source": "snntorch", "reset": "zero"},
        notes=["RLeaky(all_to_all) did not train here (25-35 % after 40-60 epochs, loss "
               "unstable even with clipping); the recurrent case is snntorch_rsynaptic_kws"],
    ),
    Case(
        "norse_lifcell_kws", "norse", "kws8",
        "Linear(16,64) -> LIFCell -> Linear(64,8) -> LIFCell (Norse's defaults: tau_syn_inv "
        "200, tau_mem_inv 100, dt 1e-3 per step); exported with to_nir's default dt",
        "norse_lifcell", epochs=60, lr=5e-3, logit_scale=0.2, init_gains=(3.0, 3.0),
        reading={"source": "norse"},
        notes=["to_nir's default dt = 1e-3 writes every tau 1000x too small"],
    ),
]


# --------------------------------------------------------------------------------------
# networks (imports inside: this file also runs without torch, for --list)
# --------------------------------------------------------------------------------------


def _leaky(shape, beta, **kw):
    """snnTorch Leaky with per-neuron parameters of the layer's full shape: with
    a scalar beta/threshold the exporter writes scalar-shaped LIF nodes and
    nir's infer_types (called by export_to_nir) fails."""
    import snntorch as snn
    import torch

    return snn.Leaky(beta=torch.full(shape, float(beta)), threshold=torch.ones(shape),
                     init_hidden=True, **kw)  # fmt: skip


def snntorch_cnn_if():
    return _snntorch_cnn(1.0, {})


def snntorch_cnn_leaky():
    return _snntorch_cnn(0.95, {"reset_mechanism": "zero"})


def _snntorch_cnn(beta, kw):
    import torch

    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 3, padding=1),
        _leaky((8, 16, 16), beta, **kw),
        torch.nn.AvgPool2d(2),
        torch.nn.Conv2d(8, 16, 3, padding=1),
        _leaky((16, 8, 8), beta, **kw),
        torch.nn.AvgPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(256, 10),
        _leaky((10,), beta, output=True, **kw),
    )


def norse_mlp_if():
    import norse.torch as norse
    import torch

    return norse.SequentialState(
        torch.nn.Linear(256, 64),
        norse.IAFCell(),
        torch.nn.Linear(64, 10),
        norse.IAFCell(),
    )


def snntorch_rsynaptic():
    import snntorch as snn
    import torch

    n_h, n_out = 64, 8
    hidden = snn.RSynaptic(
        alpha=torch.full((n_h,), 1 - 2.0**-2), beta=torch.full((n_h,), 1 - 2.0**-3),
        threshold=torch.ones(n_h), linear_features=n_h, all_to_all=True, init_hidden=True,
    )  # fmt: skip
    readout = snn.Synaptic(
        alpha=torch.full((n_out,), 1 - 2.0**-3), beta=torch.full((n_out,), 1 - 2.0**-4),
        threshold=torch.ones(n_out), init_hidden=True, output=True,
    )  # fmt: skip
    from collections import OrderedDict

    return torch.nn.Sequential(OrderedDict(
        fc=torch.nn.Linear(16, n_h), rsyn=hidden, fc_out=torch.nn.Linear(n_h, n_out), out=readout,
    ))  # fmt: skip


def snntorch_leaky_ff():
    from collections import OrderedDict

    import torch

    return torch.nn.Sequential(OrderedDict(
        fc=torch.nn.Linear(16, 64), lif=_leaky((64,), 0.9, reset_mechanism="zero"),
        fc_out=torch.nn.Linear(64, 8), out=_leaky((8,), 0.9, output=True, reset_mechanism="zero"),
    ))  # fmt: skip


def norse_lifcell():
    import norse.torch as norse
    import torch

    return norse.SequentialState(
        torch.nn.Linear(16, 64), norse.LIFCell(), torch.nn.Linear(64, 8), norse.LIFCell()
    )


# --------------------------------------------------------------------------------------
# running a network over time (the framework's own forward pass)
# --------------------------------------------------------------------------------------


def run_counts(case: Case, net, x):
    """Output spike counts [B, classes] of ``x`` [B, T, *shape] (float), the
    framework's own forward pass step by step."""
    import torch

    total = None
    if case.flatten_input:
        x = x.reshape(x.shape[0], x.shape[1], -1)
    if case.framework == "snntorch":
        reset_snntorch(net)
        for t in range(x.shape[1]):
            out = net(x[:, t])
            spk = out[0] if isinstance(out, tuple) else out
            total = spk if total is None else total + spk
    else:
        state = None
        for t in range(x.shape[1]):
            spk, state = net(x[:, t], state)
            total = spk if total is None else total + spk
    return total if total is not None else torch.zeros(x.shape[0], 1)


def reset_snntorch(net) -> None:
    """Zero every snnTorch neuron's hidden state, outside any autograd graph
    (``snntorch.utils.reset`` misses the readout of a net holding both
    RSynaptic and Synaptic layers, whose state then still points into the last
    batch's graph)."""
    for m in net.modules():
        if hasattr(m, "reset_mem") and hasattr(m, "mem"):
            m.reset_mem()
            for attr in ("spk", "syn", "mem"):
                value = getattr(m, attr, None)
                if value is not None and hasattr(value, "detach"):
                    setattr(m, attr, value.detach())


def load_split(tasks: Path, data: str, split: str):
    import numpy as np
    import torch

    with np.load(tasks / f"{data}_{split}.npz") as z:
        x = torch.from_numpy(z["spikes"].astype(np.float32))
        y = torch.from_numpy(z["labels"].astype(np.int64))
    return x, y


def scale_init(net, gains) -> None:
    """Scale the initial weights and biases of the weight layers (in order):
    the kws8 inputs are event counts up to 15 per step, and PyTorch's default
    initialization then saturates every neuron."""
    import torch

    layers = [m for m in net.modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))]
    with torch.no_grad():
        for m, g in zip(layers, gains):
            m.weight *= g
            if m.bias is not None:
                m.bias *= g


def train(case: Case, net, x, y, epochs: int, seed: int, log):
    import torch

    torch.manual_seed(seed)
    opt = torch.optim.Adam(net.parameters(), lr=case.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, epochs))
    ce = torch.nn.CrossEntropyLoss()

    def loss_fn(counts, labels):
        if case.loss == "ce":
            return ce(counts * case.logit_scale, labels)
        steps = x.shape[1]
        target = torch.full_like(counts, 0.05 * steps)
        target[torch.arange(labels.numel()), labels] = 0.5 * steps
        return torch.mean((counts - target) ** 2) / steps

    n = x.shape[0]
    batch = 64
    for epoch in range(epochs):
        perm = torch.randperm(n)
        total, correct, t0 = 0.0, 0, time.time()
        net.train()
        for s in range(0, n, batch):
            idx = perm[s : s + batch]
            counts = run_counts(case, net, x[idx])
            loss = loss_fn(counts, y[idx])
            opt.zero_grad()
            loss.backward()
            # BPTT through 50-100 steps of recurrent spiking layers explodes
            # now and then (gradients of 1e8 seen): clip the norm
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            total += float(loss.detach()) * idx.numel()
            correct += int((counts.argmax(1) == y[idx]).sum())
        sched.step()
        log(f"  epoch {epoch + 1}/{epochs}: loss {total / n:.4f}, train accuracy "
            f"{correct / n:.4f} ({time.time() - t0:.0f} s)")  # fmt: skip


def evaluate(case: Case, net, x, y):
    import numpy as np
    import torch

    net.eval()
    outs = []
    with torch.no_grad():
        for s in range(0, x.shape[0], 128):
            outs.append(run_counts(case, net, x[s : s + 128]).numpy())
    counts = np.concatenate(outs).round().astype(np.int32)
    pred = np.argmax(counts, axis=1)  # ties to the lowest index
    return counts, pred, float(np.mean(pred == y.numpy()))


def export(case: Case, net, sample):
    """The framework's own exporter, called as its documentation shows."""
    import warnings

    net.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # beta = 1: numpy's divide-by-zero in the exporter
        if case.framework == "snntorch":
            from snntorch.export_nir import export_to_nir

            reset_snntorch(net)
            return export_to_nir(net, sample, ignore_dims=[0]), (
                "snntorch.export_nir.export_to_nir(net, sample, ignore_dims=[0])"
            )
        from norse.torch.utils.export_nir import to_nir

        sample = sample[0].reshape(-1) if case.flatten_input else sample[0]
        return to_nir(net, sample), "norse.torch.utils.export_nir.to_nir(net, sample)"


# --------------------------------------------------------------------------------------
# driver
# --------------------------------------------------------------------------------------


def versions() -> dict:
    import importlib.metadata as md

    out = {}
    for p in ("torch", "snntorch", "norse", "nir", "nirtorch", "numpy"):
        try:
            out[p] = md.version(p)
        except md.PackageNotFoundError:
            pass
    return out


def make(case: Case, args, log) -> dict:
    import nir
    import numpy as np
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    tasks = Path(args.tasks)
    x_train, y_train = load_split(tasks, case.data, "train")
    x_test, y_test = load_split(tasks, case.data, "test")
    net = globals()[case.build]()
    scale_init(net, case.init_gains)
    epochs = args.epochs if args.epochs is not None else case.epochs
    log(f"{case.name}: {case.summary}")
    t0 = time.time()
    train(case, net, x_train, y_train, epochs, args.seed, log)
    counts, pred, acc = evaluate(case, net, x_test, y_test)
    log(f"  {case.framework} float accuracy on the test split: {acc:.4f} "
        f"({int(round(acc * len(pred)))}/{len(pred)}), {time.time() - t0:.0f} s")  # fmt: skip
    graph, call = export(case, net, x_test[:1, 0])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    nir.write(out / f"{case.name}.nir", graph, compression=None)
    np.savez_compressed(out / f"{case.name}_outputs.npz", float_counts=counts.astype(np.int16),
                        float_pred=pred.astype(np.int8), labels=y_test.numpy().astype(np.int8))  # fmt: skip
    meta = {
        "case": case.name,
        "framework": case.framework,
        "data": case.data,
        "network": case.summary,
        "framework_float_accuracy": round(acc, 6),
        "framework_float_correct": int(np.sum(pred == y_test.numpy())),
        "test_samples": int(len(pred)),
        "readout": "argmax of the output spike counts over all steps, ties to the lowest index",
        "exporter_call": call,
        "nirc_reading": case.reading,
        "training": {
            "epochs": epochs, "optimizer": "Adam, cosine annealing, gradient norm clipped at 1",
            "lr": case.lr, "batch": 64, "init_gains": list(case.init_gains),
            "loss": f"cross-entropy on output spike counts x {case.logit_scale}",
            "seed": args.seed, "threads": 1,
            "inputs": "the data set's spikes as float (digits16: 0/1; kws8: event counts 0..15)",
        },  # fmt: skip
        "notes": case.notes,
        "versions": versions(),
    }
    (out / f"{case.name}.json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", help="comma-separated case names (default: all)")
    p.add_argument("--list", action="store_true", help="list the cases and exit")
    p.add_argument("--out", default=str(DEFAULT_OUT), help="output directory")
    p.add_argument("--tasks", default=str(DEFAULT_TASKS), help="the shared task data")
    p.add_argument("--epochs", type=int, help="override every case's epochs")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--python", help="re-run this script with that interpreter")
    p.add_argument("--venv", help="build (or reuse) the pinned framework venv of "
                   "tests/frameworks/make_fixtures.py there and re-run inside it")  # fmt: skip
    args = p.parse_args(argv)
    if args.list:
        for c in CASES:
            print(f"{c.name:28s} {c.framework:9s} {c.data:9s} {c.summary}")
        return 0
    python = args.python
    if args.venv:
        sys.path.insert(0, str(REPO / "tests" / "frameworks"))
        from make_fixtures import bootstrap_venv  # the project's pinned framework venv

        python = str(bootstrap_venv(Path(args.venv), None))
    if python and Path(python).resolve() != Path(sys.executable).resolve():
        rest = [a for a in argv if not a.startswith(("--python", "--venv"))]
        rest = [a for i, a in enumerate(rest)
                if not (i > 0 and rest[i - 1] in ("--python", "--venv"))]  # fmt: skip
        env = dict(os.environ, PYTHONHASHSEED="0")
        return subprocess.run([python, str(Path(__file__).resolve())] + rest, env=env).returncode
    wanted = set(args.cases.split(",")) if args.cases else None
    unknown = (wanted or set()) - {c.name for c in CASES}
    if unknown:
        p.error(f"unknown case(s): {', '.join(sorted(unknown))}")
    for case in CASES:
        if wanted is None or case.name in wanted:
            make(case, args, lambda s: print(s, flush=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
