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
    parser.add_argument("model", help="a .nir file or a .mlir module of the nir dialect")
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
    from nirc.topology import feedback_edges, flatten

    graph, shapes, candidates = _load_and_detect(args.model)
    rows = summarize(graph, shapes)
    flat = flatten(graph)
    header = ("node", "type", "output shape", "neurons", "synapses", "params")
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
    widths = [max(len(x[i]) for x in [header, *table, totals]) for i in range(len(header))]

    def line(cells) -> str:
        return "  ".join(
            c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))
        ).rstrip()

    print(f"{args.model}: {len(rows)} nodes, {len(flat.edges)} edges")
    print(line(header))
    print(line(["-" * w for w in widths]))
    for row in table:
        print(line(row))
    print(line(["-" * w for w in widths]))
    print(line(totals))
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
