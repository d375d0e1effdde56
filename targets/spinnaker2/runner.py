"""Rebuild the network nirc compiled for SpiNNaker2 and run it with py-spinnaker2.

Written by nirc next to network.json and network.npz (this file is copied
as run_spinnaker2.py; it needs only numpy and py-spinnaker2)::

    python run_spinnaker2.py --input x.npz -o y.npz                         # Brian2 backend
    python run_spinnaker2.py --input x.npz -o y.npz --hw chip --ip 192.168.1.25
    python run_spinnaker2.py --input x.npz -o y.npz --hw board48 --stm-ip 192.168.1.2

``x.npz`` holds one array per graph Input, ``[T, *shape]`` or ``[T, B, *shape]``
event counts per step (``nirc run``'s layout). Each sample is run on its own
for ``T`` plus the network's latency steps; ``y.npz`` gets one array per graph
Output in nirc's layout, ``[T, *shape]`` or ``[T, B, *shape]``: spike counts
(times the population's spike gain) or voltages divided by the population's
weight scale, each population read ``lag`` steps later so that step ``t`` is
the float network's step ``t`` (what ``nirc run --target spinnaker2`` prints).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
FORMAT = "nirc-spinnaker2-network/1"


def load(directory: str = HERE):
    with open(os.path.join(directory, "network.json"), encoding="utf-8") as f:
        spec = json.load(f)
    if spec.get("format") != FORMAT:
        sys.exit(f"network.json: expected format {FORMAT}, found {spec.get('format')!r}")
    with np.load(os.path.join(directory, "network.npz"), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    return spec, arrays


def _value(v, arrays, index=None):
    """A parameter: a number, or an array in network.npz (``{"npz": key}``)."""
    if isinstance(v, dict):
        a = arrays[v["npz"]]
        return (a if index is None else a[index]).astype(float).tolist()
    return v


class Built:
    """The py-spinnaker2 objects of one population (sub-populations when the
    placement split it): ``parts`` = [(population, neuron indices)]."""

    def __init__(self, spec):
        self.spec = spec
        self.parts = []

    def part_of(self):
        """Neuron -> (part number, index in the part)."""
        n = self.spec["size"]
        part = np.zeros(n, np.int64)
        local = np.zeros(n, np.int64)
        for k, (_, idx) in enumerate(self.parts):
            part[idx] = k
            local[idx] = np.arange(len(idx))
        return part, local


def build(spec, arrays, snn):
    """The snn.Network, the Built populations by name."""
    built = {}
    for p in spec["populations"]:
        b = Built(p)
        if p["neuron_model"] == "spike_list":
            pop = snn.Population(size=p["size"], neuron_model="spike_list", params={},
                                 name=p["name"])
            pop.set_max_atoms_per_core(p["max_atoms_per_core"])
            b.parts.append((pop, np.arange(p["size"])))
        else:
            slices = p["slices"] if p["split"] else [None]
            for s in slices:
                idx = np.arange(p["size"]) if s is None else arrays[s["neurons"]["npz"]]
                params = {k: _value(v, arrays, None if s is None else idx)
                          for k, v in p["params"].items()}
                name = p["name"] if s is None else f"{p['name']}@pe{s['pe']}"
                pop = snn.Population(size=len(idx), neuron_model=p["neuron_model"],
                                     params=params, name=name, record=list(p["record"]))
                pop.set_max_atoms_per_core(p["max_atoms_per_core"] if s is None else len(idx))
                b.parts.append((pop, idx))
        built[p["name"]] = b
    projections = []
    for pr in spec["projections"]:
        pre, post = built[pr["pre"]], built[pr["post"]]
        if pr["type"] == "Conv2DProjection":
            (pre_pop, _), (post_pop, _) = pre.parts[0], post.parts[0]
            weights = arrays[pr["weights"]["npz"]]
            projections.append(snn.Conv2DProjection(pre_pop, post_pop, weights,
                                                    dict(pr["conv_params"])))
            continue
        conns = arrays[pr["connections"]["npz"]]
        pre_part, pre_local = pre.part_of()
        post_part, post_local = post.part_of()
        a, b = pre_part[conns[:, 0]], post_part[conns[:, 1]]
        for i in range(len(pre.parts)):
            for j in range(len(post.parts)):
                rows = conns[(a == i) & (b == j)]
                if not len(rows):
                    continue
                local = np.stack([pre_local[rows[:, 0]], post_local[rows[:, 1]], rows[:, 2],
                                  rows[:, 3]], axis=1)
                projections.append(snn.Projection(pre=pre.parts[i][0], post=post.parts[j][0],
                                                  connections=local.tolist()))
    net = snn.Network()
    net.add(*[pop for b in built.values() for pop, _ in b.parts], *projections)
    return net, built


def copy_layout(shape, copies):
    """[elements, copies]: the neuron of each element's copy j (copies along
    the first axis: element (e0, r) copy j is neuron (e0 * copies + j) * R + r)."""
    shape = tuple(shape) or (1,)
    rest = int(np.prod(shape[1:], dtype=np.int64))
    e = np.arange(int(np.prod(shape, dtype=np.int64)))
    return ((e // rest)[:, None] * copies + np.arange(copies)[None, :]) * rest + (e % rest)[:, None]


def spike_lists(spec, inputs, sample, steps):
    """``{population: {neuron: [steps]}}`` of the spike sources for one sample:
    an input element's copy j fires in the steps its event count exceeds j."""
    out = {}
    for p in spec["populations"]:
        if p["role"] == "input":
            x = inputs[p["name"]][:, sample].reshape(inputs[p["name"]].shape[0], -1)
            lay = copy_layout(p["shape"], p["copies"])
            d = {}
            for e in range(x.shape[1]):
                for j in range(p["copies"]):
                    d[int(lay[e, j])] = np.flatnonzero(x[:, e] > j).tolist()
            out[p["name"]] = d
        elif p["role"] == "bias":
            out[p["name"]] = {j: list(range(p["start"], steps)) for j in range(p["size"])}
    return out


def gather(b, what, steps):
    """[steps, n] spikes or voltages of a Built population."""
    n = b.spec["size"]
    out = np.zeros((steps, n), np.float32)
    for pop, idx in b.parts:
        if what == "spikes":
            for i, times in pop.get_spikes().items():
                t = np.asarray(times, np.int64)
                out[t[t < steps], idx[int(i)]] = 1.0
        else:
            for i, v in pop.get_voltages().items():
                v = np.asarray(v, np.float32)[:steps]
                out[: len(v), idx[int(i)]] = v
    return out


def hardware_for(args):
    if args.hw == "chip":
        from spinnaker2 import hardware

        return hardware.SpiNNaker2Chip(eth_ip=args.ip)
    if args.hw == "board48":
        from spinnaker2 import hardware

        return hardware.SpiNNcloud48NodeBoard(stm_ip=args.stm_ip)
    from spinnaker2 import brian2_sim

    return brian2_sim.Brian2Backend()


from nirc.targets.script_io import check_output, write_npz  # noqa: E402 - nirc pastes their source here on copy


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--input", required=True, help="an .npz of event counts per graph Input")
    ap.add_argument("-o", "--output", required=True, help="where to write the outputs (.npz)")
    ap.add_argument("--hw", choices=["brian2", "chip", "board48"], default="brian2",
                    help="py-spinnaker2's Brian2 backend (default), one chip, or a 48-chip board")
    ap.add_argument("--ip", help="the chip's Ethernet address (--hw chip)")
    ap.add_argument("--stm-ip", help="the board's STM address (--hw board48)")
    ap.add_argument("--sys-tick", type=float, help="seconds per step on the hardware "
                    "(py-spinnaker2's sys_tick_in_s; default: its own)")
    args = ap.parse_args(argv)
    if args.hw == "chip" and not args.ip:
        ap.error("--hw chip needs --ip ADDRESS")
    if args.hw == "board48" and not args.stm_ip:
        ap.error("--hw board48 needs --stm-ip ADDRESS")
    check_output(args.output, [args.input] + [os.path.join(HERE, f) for f in ("network.json", "network.npz")])
    spec, arrays = load()
    if args.hw == "chip" and spec["placement"]["chips_used"] > 1:
        sys.exit(f"this network was placed on {spec['placement']['chips_used']} chips: "
                 "use --hw board48")
    from spinnaker2 import snn

    with np.load(args.input, allow_pickle=False) as z:
        inputs = {k: z[k] for k in z.files}
    batched = None
    for p in spec["inputs"]:
        if p["name"] not in inputs:
            sys.exit(f"{args.input}: no array for the Input {p['name']!r} "
                     f"(expected [T, B, {', '.join(map(str, p['shape']))}])")
        a = inputs[p["name"]]
        is_batched = a.ndim == len(p["shape"]) + 2
        batched = is_batched if batched is None else batched
        inputs[p["name"]] = a if is_batched else a[:, None]
        most = int(np.max(inputs[p["name"]], initial=0))
        if most > p["copies"]:
            sys.exit(f"{p['name']}: {most} events in one step, the network has {p['copies']} "
                     "spike source(s) per element (recompile with --calibrate on such data)")
    steps = max(inputs[p["name"]].shape[0] for p in spec["inputs"])
    batch = max(inputs[p["name"]].shape[1] for p in spec["inputs"])
    chip_steps = steps + spec["timesteps"]["latency"]
    net, built = build(spec, arrays, snn)
    results = {o["name"]: np.zeros((steps, batch) + tuple(o["shape"]), np.float32)
               for o in spec["outputs"]}
    for sample in range(batch):
        for name, d in spike_lists(spec, inputs, sample, chip_steps).items():
            built[name].parts[0][0].params = d
        if hasattr(net, "reset"):
            net.reset()
        hw = hardware_for(args)
        if args.sys_tick and args.hw != "brian2":
            hw.run(net, chip_steps, sys_tick_in_s=args.sys_tick)
        else:
            hw.run(net, chip_steps)
        for o in spec["outputs"]:
            b = built[o["population"]]
            lag = b.spec["lag"]
            a = gather(b, o["reads"], chip_steps)[lag : lag + steps]
            lay = copy_layout(b.spec["shape"], b.spec["copies"])
            if o["reads"] == "spikes":  # the copies' spikes add up
                a = a[:, lay].sum(axis=2) * np.float32(b.spec["spike_gain"])
            else:  # copy 0 carries no offset
                a = a[:, lay[:, 0]] / np.float32(b.spec["weight_scale"])
            results[o["name"]][: len(a), sample] = a.reshape((len(a),) + tuple(o["shape"]))
    if not batched:
        results = {k: v[:, 0] for k, v in results.items()}
    write_npz(args.output, results)
    for k, v in results.items():
        print(f"{k}: {list(v.shape)}, {int(v.sum()) if v.dtype.kind != 'f' else float(v.sum()):g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
