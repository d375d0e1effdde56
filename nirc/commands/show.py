"""`nirc show model.nir`: what is in a graph, at a glance.

Ends with the framework the file most likely came from and the evidence
(:func:`nirc.profiles.detect`); it is never applied: ``--source`` does that.
"""

from __future__ import annotations

import argparse

import numpy as np

from nirc.graph import NEURON_TYPES, Graph, Node
from nirc.shapes import conv_params, fmt


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="a .nir file, or a .mlir module of the nir or snn dialect, "
                        "or one compiled for a chip (`nirc compile`'s model.mlir)")
    parser.add_argument("--strict", action="store_true", help="refuse to repair imperfect files")


def count_params(node: Node) -> int:
    return int(
        sum(
            v.size
            for v in node.params.values()
            if isinstance(v, np.ndarray) and v.dtype.kind == "f"
        )
    )


def count_synapses(node: Node, out_shape: tuple[int, ...] | None) -> int:
    """Connections a node makes (a dense weight's entries; a conv's per-output fan-in)."""
    if node.type in ("Affine", "Linear"):
        return int(node.params["weight"].size)
    if node.type in ("Conv1d", "Conv2d") and out_shape is not None:
        cp = conv_params(node)
        return int(np.prod(out_shape)) * (cp.in_channels // cp.groups) * int(np.prod(cp.kernel))
    return 0


def summarize(graph: Graph, shapes: dict[str, tuple[int, ...]]) -> list[dict]:
    from nirc.topology import feedback_edges, flatten, topological_order

    flat = flatten(graph)
    feedback = feedback_edges(flat)
    rows = []
    for name in topological_order(flat, feedback):
        node = flat.nodes[name]
        shape = shapes.get(name)
        rows.append(
            {
                "name": name,
                "type": node.type,
                "shape": shape,
                "neurons": int(np.prod(shape)) if node.type in NEURON_TYPES and shape else 0,
                "synapses": count_synapses(node, shape),
                "params": count_params(node),
            }
        )
    return rows


def run(args: argparse.Namespace) -> int:
    from nirc.diagnostics import current_sink
    from nirc.dialects.snn import is_snn_module
    from nirc.topology import feedback_edges, flatten

    module = _ir_module(args.model)
    if is_snn_module(module):
        return _show_snn(args.model, module)
    from nirc.targets import chip_of

    chip = chip_of(module)
    if chip is not None:
        return _show_chip(args.model, module, chip)
    graph, shapes, candidates = _load_and_detect(args.model if module is None else module)
    rows = summarize(graph, shapes)
    flat = flatten(graph)
    table = [
        (
            r["name"],
            r["type"],
            fmt(r["shape"]),
            str(r["neurons"]),
            str(r["synapses"]),
            str(r["params"]),
        )
        for r in rows
    ]
    totals = (
        "total",
        "",
        "",
        *(str(sum(r[k] for r in rows)) for k in ("neurons", "synapses", "params")),
    )
    print(f"{args.model}: {len(rows)} nodes, {len(flat.edges)} edges")
    _print_table(table, totals)
    ins = ", ".join(f"{n.name} {fmt(shapes.get(n.name))}" for n in graph.inputs())
    outs = ", ".join(f"{n.name} {fmt(shapes.get(n.name))}" for n in graph.outputs())
    print(f"inputs:  {ins or 'none'}")
    print(f"outputs: {outs or 'none'}")
    fb = sorted(feedback_edges(flat))
    print("recurrent edges: " + (", ".join(f"{a} -> {b}" for a, b in fb) if fb else "none"))
    nested = sum(1 for n in graph.nodes.values() if n.graph is not None)
    if nested:
        print(f"nested graphs: {nested} (shown flattened with dotted names)")
    if "dt" in graph.metadata:
        print(f"dt (metadata): {np.asarray(graph.metadata['dt']).item()}")
    repairs = current_sink().repairs
    print("repairs: " + ("; ".join(w.render() for w in repairs) if repairs else "none"))
    if candidates is not None:
        from nirc.profiles import describe_detection

        for text in describe_detection(candidates):
            print(text)
    return 0


HEADER = ("node", "type", "output shape", "neurons", "synapses", "params")


def _print_table(table: list[tuple[str, ...]], totals: tuple[str, ...] | None,
                 header: tuple[str, ...] = HEADER, numbers: tuple[int, ...] = (3, 4, 5)) -> None:  # fmt: skip
    """``table`` under ``header`` (the columns ``numbers`` flush right), then
    ``totals`` when given."""
    rows = [header, *table] + ([totals] if totals else [])
    widths = [max(len(x[i]) for x in rows) for i in range(len(header))]

    def line(cells) -> str:
        return "  ".join(
            c.rjust(w) if i in numbers else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))
        ).rstrip()

    print(line(header))
    print(line(["-" * w for w in widths]))
    for row in table:
        print(line(row))
    if totals:
        print(line(["-" * w for w in widths]))
        print(line(totals))


def _describe_attrs(attrs) -> tuple[list[str], list[str], int]:
    """An op's attributes for the table: the scalars (numbers, flags,
    strings, short arrays) as ``key=value``, the arrays as ``key[shape]``,
    and the number of values the arrays hold."""
    from xdsl.dialects.builtin import DenseArrayBase, DenseIntOrFPElementsAttr, IntegerAttr

    from nirc.dialects.nir import attr_to_array

    scalars, arrays, values = [], [], 0
    for key, a in attrs.items():
        if key == "name":
            continue
        if isinstance(a, DenseIntOrFPElementsAttr):
            shape = tuple(a.get_shape())
            n = int(np.prod(shape, dtype=np.int64))
            values += n
            if n > 4:
                arrays.append(f"{key}{fmt(shape)}")
            else:
                scalars.append(f"{key}={fmt(attr_to_array(a).reshape(-1).tolist())}")
        elif isinstance(a, DenseArrayBase):
            scalars.append(f"{key}={fmt(tuple(a.get_values()))}")
        elif isinstance(a, IntegerAttr) and getattr(a.type, "width", None) is not None \
                and a.type.width.data == 1:  # fmt: skip
            scalars.append(f"{key}={'true' if a.value.data else 'false'}")
        else:
            data = getattr(getattr(a, "value", a), "data", None)
            if isinstance(data, (int, float, str)) and not isinstance(data, bool):
                scalars.append(f"{key}={data:g}" if isinstance(data, float) else f"{key}={data}")
    return scalars, arrays, values


def _show_chip(model: str, module, chip: str) -> int:
    """A compiled chip module, op by op, whatever the chip: each op's name,
    kind, output shape, the values its arrays hold (weights, connections,
    tables) and its scalar settings. The compile report (report.txt, written
    beside it) says what they mean on the chip."""
    from pathlib import Path

    from nirc.dialects.snn import node_name

    for top in module.ops:
        head, _, _ = _describe_attrs({**top.attributes, **top.properties})
        print(f"{model}: compiled for {chip} ({top.name}){': ' + ', '.join(head) if head else ''}")
        inner = [op for region in top.regions for block in region.blocks for op in block.ops]
        table, total = [], 0
        for op in inner or [top]:
            scalars, arrays, values = _describe_attrs({**op.attributes, **op.properties})
            words = arrays if op is top else scalars + arrays  # the chip's settings head the table
            total += values
            shapes = [fmt(tuple(r.type.get_shape())) for r in op.results
                      if hasattr(r.type, "get_shape")]  # fmt: skip
            table.append((node_name(op) or "", op.name.split(".", 1)[1], ", ".join(shapes),
                          str(values), " ".join(words)))  # fmt: skip
        _print_table(table, ("total", "", "", str(total), ""),
                     header=("op", "kind", "output shape", "values", "settings"), numbers=(3,))  # fmt: skip
    report = Path(model).with_name("report.txt")
    if report.is_file():
        print(f"the compile report beside it: {report}")
    return 0


def _ir_module(model):
    """The parsed module of an IR (.mlir) file, else None (read once: its level
    decides the view)."""
    from pathlib import Path

    if not (isinstance(model, str) and Path(model).suffix == ".mlir" and Path(model).is_file()):
        return None
    from nirc.load import load_module

    return load_module(model)


def _show_snn(model: str, module) -> int:
    """The table of an snn-level module (after `discretize` and the passes
    that follow it): its ops as the interpreter runs them, flattened."""
    from nirc.interpreter.neurons import Neuron
    from nirc.interpreter.ops import Conv, Dense
    from nirc.interpreter.snn import build_plan

    plan = build_plan(module)
    table, sums = [], [0, 0, 0]
    for name in plan.order:
        n = plan.nodes[name]
        k = n.kernel
        neurons = int(np.prod(n.out_shape)) if isinstance(k, Neuron) else 0
        synapses = params = 0
        if isinstance(k, (Dense, Conv)):
            w = k.weight if isinstance(k, Dense) else k.weight4
            params = int(w.size) + (0 if k.bias is None else int(np.size(k.bias)))
            synapses = int(w.size) if isinstance(k, Dense) else \
                int(np.prod(n.out_shape)) * int(np.prod(w.shape[1:]))  # fmt: skip
        for i, x in enumerate((neurons, synapses, params)):
            sums[i] += x
        table.append((name, n.type, fmt(n.out_shape), str(neurons), str(synapses), str(params)))
    from nirc.dialects import snn

    top = snn.top_graph(module)
    attrs = ", ".join(f"{k} = {v}" for k, v in sorted(_graph_attrs(top).items()))
    print(f"{model}: {len(table)} ops of the snn dialect (after `discretize`){': ' + attrs if attrs else ''}")
    _print_table(table, ("total", "", "", *map(str, sums)))
    fb = sorted({(p, name) for name, n in plan.nodes.items() for p in n.fb_preds})
    print("recurrent edges: " + (", ".join(f"{a} -> {b}" for a, b in fb) if fb else "none"))
    return 0


def _graph_attrs(top) -> dict[str, str]:
    """The snn.graph's dt and reading (source, integrator, reset), as printed."""
    out = {}
    for key in ("dt", "source", "integrator", "reset"):
        a = top.properties.get(key, top.attributes.get(key))
        if a is None:
            continue
        data = getattr(getattr(a, "value", a), "data", a)  # FloatAttr.value.data, StringAttr.data
        out[key] = f"{data:g}" if isinstance(data, float) else str(data)
    return out


def _load_and_detect(model):
    """(graph, shapes, source candidates): detection reads the file as written,
    before shape repairs change what its exporter declared. None for IR input."""
    from pathlib import Path

    from nirc.load import load_graph
    from nirc.profiles import detect

    if isinstance(model, str) and Path(model).suffix != ".mlir" and Path(model).is_file():
        found: list = []
        graph, shapes = load_graph(model, inspect=lambda g: found.extend(detect(g)))
        return graph, shapes, found
    graph, shapes = load_graph(model)
    return graph, shapes, detect(graph)
