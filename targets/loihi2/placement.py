"""Placing a lowered Loihi 2 network on cores and chips.

The generic `partition` pass (:func:`nirc.passes.partition.place`) places a
fused `snn` module. The chip does not run the float module as it was: pools
are folded into the next weights (a conv's kernel grows, a dense layer reads
the unpooled map), identity synapses appear, weights that round to zero
vanish. So the placement is computed on :func:`chip_module`, an `snn` module
of exactly the chip's layers (their quantized weights and netx's
connectivity), and then checked with :mod:`.resources`, which counts what the
`loihi2` dialect's verifier counts. Should a core still exceed the capacity
by that count, the layers are sliced again in index order with fewer neurons
per core, and a warning says so.
"""

from __future__ import annotations

import numpy as np
from xdsl.dialects.builtin import ModuleOp, StringAttr
from xdsl.ir import Block, Region

from nirc.diagnostics import NircError

from .resources import PlacedLayer, core_loads, needs_table, violations


def chip_module(float_net, qlayers) -> ModuleOp:
    """A fused `snn` module with the chip's layers: each a synapse (the
    quantized weights, as floats) and a neuron of the layer's name; a
    ``dense_rec`` layer also reads its own spikes through a one-step delay."""
    from nirc.dialects import snn
    from nirc.dialects.nir import array_to_attr, value_type

    block = Block()
    inp = snn.InputOp.create(
        properties={"name": StringAttr(float_net.input_name),
                    "shape": array_to_attr(np.asarray(float_net.input_shape, np.int64))},
        result_types=[value_type(float_net.input_shape)],
    )  # fmt: skip
    block.add_op(inp)
    prev = inp.out
    for layer, q in zip(float_net.layers, qlayers):
        out_t = value_type(layer.shape)
        rec = q.weight_rec is not None
        arg_types = [prev.type] + ([out_t] if rec else [])
        body = Block(arg_types=arg_types)
        if layer.kind == "conv":
            (sh, sw), (ph, pw) = layer.stride, layer.padding
            syn = snn.Conv2dOp.create(
                operands=[body.args[0]], result_types=[out_t],
                properties={"name": StringAttr(f"{layer.name}.w"),
                            "weight": array_to_attr(q.weight.astype(np.float64)),
                            "stride": array_to_attr(np.array([sh, sw], np.int64)),
                            "padding": array_to_attr(np.array([[ph, ph], [pw, pw]], np.int64)),
                            "dilation": array_to_attr(np.array(layer.dilation, np.int64)),
                            "groups": array_to_attr(np.array(layer.groups, np.int64))})  # fmt: skip
        else:
            w = q.weight.astype(np.float64).reshape((layer.size,) + tuple(layer.in_shape))
            props = {"name": StringAttr(f"{layer.name}.w"), "weight": array_to_attr(w)}
            if len(layer.in_shape) > 1:
                props["in_rank"] = snn.int_attr(len(layer.in_shape))
            syn = snn.DenseOp.create(operands=[body.args[0]], result_types=[out_t],
                                     properties=props)  # fmt: skip
        body.add_op(syn)
        drive = [syn.out]
        if rec:
            rsyn = snn.DenseOp.create(
                operands=[body.args[1]], result_types=[out_t],
                properties={"name": StringAttr(f"{layer.name}.w_rec"),
                            "weight": array_to_attr(q.weight_rec.astype(np.float64))})  # fmt: skip
            body.add_op(rsyn)
            drive.append(rsyn.out)
        neuron = snn.NeuronOp.create(
            operands=drive, result_types=[out_t],
            properties={"name": StringAttr(layer.name),
                        "alpha_mem": array_to_attr(np.array(1.0)),
                        "v_threshold": array_to_attr(np.array(1.0))})  # fmt: skip
        body.add_op(neuron)
        body.add_op(snn.YieldOp.create(operands=[neuron.out]))
        lop = snn.LayerOp.create(operands=[prev] + ([prev] if rec else []), result_types=[out_t],
                                 properties={"name": StringAttr(layer.name)},
                                 regions=[Region(body)])  # fmt: skip
        block.add_op(lop)
        if rec:
            delay = snn.DelayOp.create(
                operands=[lop.out], result_types=[out_t],
                properties={"name": StringAttr(f"{layer.name}.delay"),
                            "steps": array_to_attr(np.array(1, np.int64))})  # fmt: skip
            block.add_op(delay)
            lop.operands = [prev, delay.out]
        prev = lop.out
    for name, _ in float_net.outputs[:1]:
        block.add_op(snn.OutputOp.create(operands=[prev], properties={"name": StringAttr(name)}))
    graph = snn.GraphOp.create(properties=snn.graph_attrs(float_net.dt, None, None),
                               regions=[Region(block)])  # fmt: skip
    module = ModuleOp([graph])
    module.verify()
    return module


def placed_layers(float_net, qlayers, placement) -> list[PlacedLayer]:
    out = []
    for layer, q in zip(float_net.layers, qlayers):
        cores = np.asarray(placement.layers[layer.name], np.int32).reshape(-1)
        w = q.weight if layer.kind == "conv" else q.weight.reshape(layer.size, -1)
        out.append(PlacedLayer(layer.name, layer.kind, tuple(layer.in_shape), tuple(layer.shape), w,
                               cores, q.weight_rec, tuple(layer.stride), tuple(layer.padding),
                               tuple(layer.dilation), int(layer.groups)))  # fmt: skip
    return out


def place_network(float_net, qlayers, capacity, activity, *, method: str, seed: int):
    """(the placement, its layers as :mod:`.resources` counts them, notes)."""
    from nirc.passes.partition import place

    module = chip_module(float_net, qlayers)
    placement = place(module, capacity, activity=activity, method=method, seed=seed)
    layers = placed_layers(float_net, qlayers, placement)
    bad = violations(core_loads(layers), capacity)
    notes: list[str] = []
    per_core = capacity.neurons_per_core
    while bad and per_core > 1:
        per_core = max(1, int(per_core * 0.7))
        notes.append(f"the {placement.method} placement exceeds a core by nirc's count of the "
                     f"chip's layers ({bad[0]}); placed again in index order with at most "
                     f"{per_core} neurons per core")  # fmt: skip
        try:
            placement = place(module, capacity.with_overrides(neurons_per_core=per_core),
                              activity=activity, method="index", seed=seed)  # fmt: skip
        except NircError:
            break
        layers = placed_layers(float_net, qlayers, placement)
        bad = violations(core_loads(layers), capacity)
    if bad:
        raise NircError(
            f"the network does not fit on {capacity.chips} chip(s) of {capacity.cores_per_chip} "
            "cores",
            where="loihi2",
            expected=f"every core within {capacity.neurons_per_core:,} neurons and "
            f"{capacity.memory_per_core:,} bytes (nirc's memory model, see `nirc targets loihi2`)",
            found="; ".join(bad[:4]) + "\n" + needs_table(layers, core_loads(layers), capacity),
            hint="more chips (--chips; Kapoho Point: 8, Hala Point: 1152) or another capacity "
            "(--core-neurons, --core-synapse-memory, --capacity FILE.json)",
        )
    return placement, layers, notes


__all__ = ["chip_module", "place_network", "placed_layers"]
