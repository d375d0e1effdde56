"""The ``run_lava.py`` script ``nirc compile --target loihi2`` writes next to ``model.net``.

The script depends only on numpy and lava (lava-nc 0.10 + lava-dl 0.6). Run
from the output directory as ``python run_lava.py --input x.npz -o y.npz
[--hardware]``, it loads ``model.net`` with ``netx.hdf5.Network``, feeds the
inputs of the same .npz ``nirc run --input`` takes (``[T, B, *shape]`` or
``[T, *shape]`` under the Input's name) through lava's ``RingBuffer``, runs
``Loihi2SimCfg(select_tag='fixed_pt')`` (``Loihi2HwCfg`` with
``--hardware``), and writes the outputs in nirc's layout, aligned as ``nirc
run --target loihi2`` aligns them: each sample runs ``T + latency`` steps
with netx's per-layer resets (``reset_interval = T + latency``,
``reset_offset``), and the outputs are the last T steps. Samples run back to
back in one lava run when the network allows it exactly (no recurrent
layers, no delays: then a layer's reset clears everything of the previous
sample), else one run each.

:func:`run_lava_script` returns the script's text for one network: the
network's constants (names, shapes, latency, the readout's scale) are written
into it, so that the same network always gives the same bytes.
"""

from __future__ import annotations

import numpy as np

_TEMPLATE = '''"""Run model.net with lava, as `nirc run --target loihi2` runs the same network.

Written by nirc for {model!r}; needs numpy and lava (lava-nc 0.10, lava-dl 0.6).
From this directory:

    python run_lava.py --input x.npz -o y.npz            # lava's CPU fixed-point simulation
    python run_lava.py --input x.npz -o y.npz --hardware # Loihi 2 (needs lava-loihi)

x.npz holds `{input}` as [T, B, {shape_doc}] (or [T, {shape_doc}] for one
sample): {input_doc}. y.npz gets {outputs_doc} in the same layout: step t
answers input step t (the chip answers {latency} step(s) late; each sample
runs T + {latency} steps with netx's per-layer resets and the last T are kept).
{readout_doc}"""

import argparse
import os
import sys

import numpy as np

NET = "model.net"
INPUT = {input!r}
INPUT_SHAPE = {input_shape!r}
INPUT_BITS = {input_bits!r}  # 0: binary spikes; else graded spikes of this many bits
LATENCY = {latency!r}
RESET_OFFSET = {reset_offset!r}  # netx Network(reset_interval=T + LATENCY, reset_offset=...)
OUTPUTS = {outputs!r}
LAST_SHAPE = {last_shape!r}
READOUT_SCALE = {readout_scale}  # None: spikes; else output = v / (64 * scale) per neuron
STREAM = {stream!r}  # samples back to back in one run
# per neuron of the last layer, the output element its spikes count for (-1: none;
# None: neuron k is element k): neurons built of replicas send their count together
SELECT = {select}


def load_input(path):
    with np.load(path) as data:
        if INPUT not in data.files:
            sys.exit(f"error: {{path}} has no array `{{INPUT}}` (it has {{', '.join(data.files)}})")
        x = np.asarray(data[INPUT])
    batched = x.ndim == len(INPUT_SHAPE) + 2
    if not batched:
        x = x[:, None]
    if x.ndim != len(INPUT_SHAPE) + 2 or tuple(x.shape[2:]) != INPUT_SHAPE:
        sys.exit(f"error: `{{INPUT}}` is {{list(x.shape)}}; expected [T, B, *{{list(INPUT_SHAPE)}}]")
    if x.dtype.kind == "f" and not np.all(x == np.round(x)) or (x.size and x.min() < 0):
        sys.exit("error: inputs are spikes or spike counts (integers >= 0)")
    return x.astype(np.int64), batched


def lava_order(a):
    """[steps, *nirc shape] -> lava's layout ([W, H, C] or [N]) with time last."""
    if a.ndim == 4:
        return np.ascontiguousarray(np.transpose(a, (3, 2, 1, 0)))
    return np.ascontiguousarray(a.reshape(a.shape[0], -1).T)


def nirc_order(a, steps):
    """lava's [*shape, steps] (or [steps, *shape] with time_first) -> [steps, n] in C order."""
    if len(LAST_SHAPE) == 3:
        return a.transpose(3, 2, 1, 0).reshape(steps, -1)
    return a.reshape(-1, steps).T


def run(x, hardware):
    from lava.lib.dl import netx
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2HwCfg, Loihi2SimCfg
    from lava.proc import io
    from lava.proc.monitor.process import Monitor

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), NET)
    t, b = x.shape[:2]
    period = t + LATENCY
    n_out = int(np.prod(LAST_SHAPE)) if SELECT is None else max(SELECT) + 1
    out = np.zeros((t, b, n_out), np.float32)
    groups = [list(range(b))] if STREAM else [[i] for i in range(b)]
    for group in groups:
        steps = period * len(group)
        data = np.zeros((steps,) + INPUT_SHAPE, np.int64)
        for j, i in enumerate(group):
            data[j * period : j * period + t] = x[:, i]
        options = {{}}
        if INPUT_BITS:
            options["input_message_bits"] = INPUT_BITS
        if RESET_OFFSET is not None:
            options["reset_interval"] = period
            options["reset_offset"] = RESET_OFFSET
        net = netx.hdf5.Network(net_config=path, **options)
        source = io.source.RingBuffer(data=lava_order(data))
        source.s_out.connect(net.inp)
        if READOUT_SCALE is None:
            sink = io.sink.RingBuffer(shape=net.out.shape, buffer=steps)
            net.out.connect(sink.a_in)
        else:
            monitor = Monitor()
            monitor.probe(net.layers[-1].neuron.v, steps)
        cfg = Loihi2HwCfg() if hardware else Loihi2SimCfg(select_tag="fixed_pt")
        net.run(condition=RunSteps(num_steps=steps), run_cfg=cfg)
        if READOUT_SCALE is None:
            values = nirc_order(np.asarray(sink.data.get(), np.float64), steps)
            if SELECT is not None:
                pick = np.zeros((len(SELECT), n_out))
                for k, e in enumerate(SELECT):
                    if e >= 0:
                        pick[k, e] = 1.0
                values = values @ pick
        else:
            v = np.asarray(monitor.get_data()[net.layers[-1].neuron.name]["v"], np.float64)
            v = v.reshape((steps,) + tuple(reversed(LAST_SHAPE)) if len(LAST_SHAPE) == 3 else (steps, -1))
            if len(LAST_SHAPE) == 3:
                v = v.transpose(0, 3, 2, 1)
            values = v.reshape(steps, -1) / (64.0 * np.asarray(READOUT_SCALE, np.float64))
        net.stop()
        for j, i in enumerate(group):
            start = j * period + LATENCY
            out[:, i] = values[start : start + t]
    return out


{script_io}

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True, help="an .npz of inputs (nirc run's layout)")
    parser.add_argument("-o", "--output", required=True, help="the .npz of outputs to write")
    parser.add_argument("--hardware", action="store_true", help="run on Loihi 2 (Loihi2HwCfg)")
    args = parser.parse_args(argv)
    check_output(args.output, [args.input, os.path.join(os.path.dirname(os.path.abspath(__file__)), NET)])
    x, batched = load_input(args.input)
    values = run(x, args.hardware)
    t, b = x.shape[:2]
    result = {{}}
    for name, shape in OUTPUTS:
        a = values.reshape((t, b) + tuple(shape))
        result[name] = a if batched else a[:, 0]
    write_npz(args.output, result)
    print(f"ran {{t}} steps x {{b}} sample(s) on lava ({{'Loihi2HwCfg' if args.hardware else 'Loihi2SimCfg fixed_pt'}}); "
          f"wrote {{args.output}}: " + ", ".join(f"{{k}} {{list(v.shape)}}" for k, v in result.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''


def run_lava_script(network, model: str = "model.nir") -> str:
    """The text of ``run_lava.py`` for a `loihi2` network (a
    :class:`~.dialect.Network`)."""
    last = network.layers[-1]
    readout = None
    if not last.spiking:
        scale = np.broadcast_to(np.asarray(last.scale, np.float64), (last.size,))
        readout = "[" + ", ".join(repr(float(s)) for s in scale) + "]"
    stream = all(layer.weight_rec is None and layer.delay is None and not layer.lag
                 for layer in network.layers)  # fmt: skip
    shape = tuple(int(d) for d in network.input_shape)
    outputs = [(name, tuple(int(d) for d in s)) for name, s in network.outputs]
    from nirc.targets import script_io

    return _TEMPLATE.format(
        script_io=script_io.source(),
        model=model,
        input=network.input_name,
        input_shape=shape,
        shape_doc=", ".join(map(str, shape)),
        input_doc=("integer spike counts (graded spikes of "
                   f"{network.input_bits} bits)" if network.input_bits else
                   "spikes (any nonzero value is one spike)"),  # fmt: skip
        outputs_doc=", ".join(f"`{n}`" for n, _ in outputs),
        latency=int(network.latency),
        readout_doc=("The outputs are the readout layer's voltage in the float network's units "
                     "(v / (64 * scale)).\n" if readout else
                     "The outputs are the last layer's spikes (0/1 per step).\n"),  # fmt: skip
        input_bits=int(network.input_bits),
        reset_offset=network.reset_offset,
        outputs=outputs,
        last_shape=tuple(int(d) for d in last.shape),
        readout_scale=readout if readout else "None",
        stream=stream,
        select="None" if network.output_select is None else
        "[" + ", ".join(str(int(e)) for e in np.asarray(network.output_select).reshape(-1)) + "]",
    )


__all__ = ["run_lava_script"]
