"""Assign layers to Speck cores.

A layer fits a core when its kernel, neuron and bias memories (see
``memory``) are within the core's capacities. Placement is a bipartite
matching between layers and the cores each fits, as in Sinabs (which runs a max
flow). nirc returns the lexicographically smallest complete matching: layer 0
gets the lowest core that still lets every other layer be placed, then layer 1,
and so on. The result is deterministic and uses the lowest-numbered cores that
work (the worked example of TARGETS.md lands on cores 0, 1, 2, as with Sinabs).

When no complete matching exists the error names the culprit: a layer that fits
no core, or (by Hall's theorem, via König's vertex cover of a maximum matching)
a set of layers that together fit on fewer cores than they are, and prints
every layer's needs against every core's capacity.
"""

from __future__ import annotations

from collections.abc import Sequence

from nirc.diagnostics import NircError

from .layer import SpeckLayer
from .memory import LayerMemory, layer_memory
from .rules import check_network
from .spec import SPECK, SpeckSpec


def place(layers: Sequence[SpeckLayer], spec: SpeckSpec = SPECK) -> tuple[int, ...]:
    """Core index for each layer (``result[i]`` = core of ``layers[i]``).
    The layers are checked against Speck's rules first."""
    check_network(layers, spec, warnings=False)
    needs = [layer_memory(layer) for layer in layers]
    fits = [[k for k, core in enumerate(spec.cores) if m.fits(core)] for m in needs]
    for i, cores in enumerate(fits):
        if not cores:
            raise _error(
                f"layer {i} {layers[i].label} fits on no Speck core",
                layers,
                needs,
                spec,
                where=layers[i].label,
                expected=_core_kinds_text(spec),
                found=_needs_text(needs[i]),
                hint="reduce channels or the feature map (stride, pooling before the layer), "
                "or split the layer",
            )

    matching = _max_matching(fits, range(len(layers)), set())
    if len(matching) < len(layers):
        # The first layer that cannot join the ones before it: layers 0..k-1
        # can all be placed, 0..k cannot, so every deficient set holds k.
        k = next(
            k for k in range(len(layers)) if len(_max_matching(fits, range(k + 1), set())) < k + 1
        )
        first = range(k + 1)
        deficient, neighbours = _hall_violator(fits, _max_matching(fits, first, set()), first)
        unmatched = k
        names = ", ".join(f"{i} {layers[i].label}" for i in deficient)
        if len(layers) > spec.num_cores:
            hint = f"the chip has {spec.num_cores} cores and the network needs {len(layers)}"
        else:
            hint = "shrink some of these layers so that they also fit other cores"
        cores = ", ".join(str(c) for c in neighbours) or "none"
        raise _error(
            f"layers {names} need {len(deficient)} distinct cores but together fit on "
            f"only {len(neighbours)} (cores {cores}); layer {unmatched} "
            f"{layers[unmatched].label} is the first layer that cannot be placed",
            layers,
            needs,
            spec,
            where=layers[unmatched].label,
            expected=f"at most {len(neighbours)} layers needing those cores",
            found=f"{len(deficient)} layers",
            hint=hint,
        )

    # Lexicographically smallest perfect matching: fix layers one by one.
    assignment: list[int] = []
    used: set[int] = set()
    for i in range(len(layers)):
        rest = range(i + 1, len(layers))
        for core in fits[i]:
            if core in used:
                continue
            if len(_max_matching(fits, rest, used | {core})) == len(rest):
                assignment.append(core)
                used.add(core)
                break
        else:  # pragma: no cover - a perfect matching exists, so some core works
            raise AssertionError("placement: no core for layer despite a perfect matching")
    return tuple(assignment)


def _max_matching(fits: list[list[int]], rows, taken: set[int]) -> dict[int, int]:
    """Maximum matching of the given layer rows onto cores not in ``taken``:
    ``{layer: core}``."""
    import networkx as nx

    rows = list(rows)
    g = nx.Graph()
    g.add_nodes_from((("layer", i) for i in rows), bipartite=0)
    for i in rows:
        for k in fits[i]:
            if k not in taken:
                g.add_edge(("layer", i), ("core", k))
    top = [("layer", i) for i in rows]
    m = nx.bipartite.hopcroft_karp_matching(g, top_nodes=top)
    return {node[1]: m[node][1] for node in top if node in m}


def _hall_violator(
    fits: list[list[int]], matching: dict[int, int], rows
) -> tuple[list[int], list[int]]:
    """A set S of layers with fewer fitting cores N(S) than layers (Hall).

    Start from the unmatched layers among ``rows`` and follow alternating
    paths (any edge from a layer, matching edges back from cores): the layers
    reached form S and the cores reached form N(S). Every core reached is matched (else the
    matching would grow), back to a layer in S, so |N(S)| < |S|.
    """
    core_to_layer = {k: i for i, k in matching.items()}
    layers = [i for i in rows if i not in matching]
    seen_layers, seen_cores = set(layers), set()
    while layers:
        i = layers.pop()
        for k in fits[i]:
            if k in seen_cores:
                continue
            seen_cores.add(k)
            j = core_to_layer[k]
            if j not in seen_layers:
                seen_layers.add(j)
                layers.append(j)
    return sorted(seen_layers), sorted(seen_cores)


def _words(n: int) -> str:
    return f"{n // 1024}Ki" if n >= 1024 and n % 1024 == 0 else str(n)


def _needs_text(m: LayerMemory) -> str:
    return f"kernel {m.kernel}, neuron {m.neuron}, bias {m.bias} words"


def _core_kinds_text(spec: SpeckSpec) -> str:
    kinds = sorted({(c.kernel, c.neuron, c.bias) for c in spec.cores})
    return "a core with " + " or ".join(
        f"kernel {_words(k)}/neuron {_words(n)}/bias {_words(b)}" for k, n, b in kinds
    )


def requirements_table(
    layers: Sequence[SpeckLayer],
    spec: SpeckSpec = SPECK,
    needs: Sequence[LayerMemory] | None = None,
) -> str:
    """Each layer's memory needs against each core's capacity.

    A cell says ``ok`` when the layer fits that core, else which memories are
    short (``K`` kernel, ``N`` neuron, ``B`` bias).
    """
    if needs is None:
        needs = [layer_memory(layer) for layer in layers]
    names = [f"{i} {layer.label}" for i, layer in enumerate(layers)]
    name_w = max([len("layer")] + [len(n) for n in names] + [len("neuron capacity")])
    num_w = max([6] + [len(str(v)) for m in needs for v in m])
    cell_w = max(4, max(len(_words(v)) for c in spec.cores for v in (c.kernel, c.neuron, c.bias)))
    cores = range(spec.num_cores)

    def row(label, values, cells):
        return (
            f"{label:<{name_w}}  "
            + "  ".join(f"{v:>{num_w}}" for v in values)
            + "  | "
            + " ".join(f"{c:>{cell_w}}" for c in cells)
        ).rstrip()

    lines = [row("layer", ("kernel", "neuron", "bias"), [f"c{k}" for k in cores])]
    for name, m in zip(names, needs):
        cells = []
        for core in spec.cores:
            short = m.shortfalls(core)
            cells.append("ok" if not short else "".join(s[0].upper() for s in short))
        lines.append(row(name, (m.kernel, m.neuron, m.bias), cells))
    blank = ("",) * 3
    lines.append(row("kernel capacity", blank, [_words(c.kernel) for c in spec.cores]))
    lines.append(row("neuron capacity", blank, [_words(c.neuron) for c in spec.cores]))
    lines.append(row("bias capacity", blank, [_words(c.bias) for c in spec.cores]))
    lines.append("(memory in words; K/N/B = kernel/neuron/bias memory too small on that core)")
    return "\n".join(lines)


def _error(message, layers, needs, spec, **kw) -> NircError:
    table = requirements_table(layers, spec, needs)
    return NircError(message + "\n" + table, **kw)
