"""Emit (and read back) a Speck configuration in samna's layout, as JSON.

The document mirrors samna's ``SpeckConfiguration`` (field names from the
samna configuration reference and the Speck Dev Kit datasheet, section 3.2.2):

- ``cnn_layers``: 9 entries, entry ``i`` configuring core ``i``. Unused cores
  are present with inert defaults (no weights, destinations disabled,
  monitoring off), as in a fresh samna configuration.
- each entry: ``dimensions`` {``input_shape`` {``size`` {x, y},
  ``feature_count``}, ``output_shape`` (the neurons, before pooling),
  ``padding`` {x, y}, ``stride`` {x, y}, ``kernel_size``}; ``weights``
  ``[f][c][kx][ky]`` (PyTorch's ``[f][c][ky][kx]`` with the last two axes
  swapped, as Sinabs writes them); ``biases`` ``[f]``; ``neurons_initial_value``
  ``[f][w][h]``; ``threshold_high``, ``threshold_low``, ``return_to_zero``,
  ``leak_enable``, ``monitor_enable``; ``destinations``: exactly 2 entries
  {``layer`` (a core index), ``enable``, ``pooling``}; and the speck2f switches
  ``leak_internal_slow_clk_enable``, ``input_congestion_balancer_enable``,
  ``output_decimator_enable``, ``output_decimator_interval`` (all off).
- ``dvs_layer``: the event pre-processing layer: ``pass_sensor_events`` (feed
  the on-chip sensor into the network), ``destinations`` (2 entries {layer,
  enable}), ``merge`` (sum the two polarities), ``on_channel``,
  ``off_channel``, ``pooling`` {x, y}, ``origin`` / ``cut`` {x, y} (ROI),
  ``mirror`` {x, y}, ``mirror_diagonal``, ``monitor_enable``.
- ``readout``: ``enable`` (off: outputs are read from the monitor bus).
- ``nirc``: what samna does not store but a reader needs: layer names and
  source nodes, the quantization scale, input and output cores.

Output layers (no destinations) have ``monitor_enable`` set, so their spikes
reach the host; note that monitored events are not pooled. The JSON is
deterministic: keys sorted, integers only except the scales (printed with
Python's shortest round-trip float repr).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from nirc.diagnostics import NircError

from .layer import Destination, SpeckLayer
from .memory import layer_memory
from .rules import check_network
from .spec import SPECK, SpeckSpec

FORMAT = "nirc-speck-samna/1"


# -- writing -----------------------------------------------------------------


def _xy(x: int, y: int) -> dict[str, int]:
    return {"x": int(x), "y": int(y)}


def _disabled_destination() -> dict[str, Any]:
    return {"layer": 0, "enable": False, "pooling": 1}


def _default_cnn_layer() -> dict[str, Any]:
    return {
        "dimensions": {
            "input_shape": {"size": _xy(0, 0), "feature_count": 0},
            "output_shape": {"size": _xy(0, 0), "feature_count": 0},
            "padding": _xy(0, 0),
            "stride": _xy(1, 1),
            "kernel_size": 1,
        },
        "weights": [],
        "biases": [],
        "neurons_initial_value": [],
        "threshold_high": 0,
        "threshold_low": 0,
        "return_to_zero": False,
        "leak_enable": False,
        "leak_internal_slow_clk_enable": False,
        "monitor_enable": False,
        "input_congestion_balancer_enable": False,
        "output_decimator_enable": False,
        "output_decimator_interval": 0,
        "destinations": [_disabled_destination(), _disabled_destination()],
    }


def _ints(a: np.ndarray) -> list:
    return np.asarray(a).astype(np.int64).tolist()


def _cnn_layer(
    layer: SpeckLayer, placement: Sequence[int], monitor: bool, spec: SpeckSpec
) -> dict[str, Any]:
    c, h, w = layer.input_shape
    f, oh, ow = layer.output_shape
    ky, kx = layer.kernel_size
    entry = _default_cnn_layer()
    entry["dimensions"] = {
        "input_shape": {"size": _xy(w, h), "feature_count": c},
        "output_shape": {"size": _xy(ow, oh), "feature_count": f},
        "padding": _xy(*layer.padding),
        "stride": _xy(*layer.stride),
        "kernel_size": kx,
    }
    entry["weights"] = _ints(np.asarray(layer.weights).transpose(0, 1, 3, 2))
    entry["biases"] = _ints(layer.biases)
    entry["neurons_initial_value"] = _ints(layer.initial_state().transpose(0, 2, 1))
    entry["threshold_high"] = layer.threshold_high
    entry["threshold_low"] = layer.threshold_low
    entry["return_to_zero"] = layer.return_to_zero
    entry["leak_enable"] = layer.leak_enable
    entry["monitor_enable"] = monitor
    dests = [
        {"layer": int(placement[d.layer]), "enable": True, "pooling": d.pooling}
        for d in layer.destinations
    ]
    entry["destinations"] = (dests + [_disabled_destination()] * spec.max_destinations)[
        : spec.max_destinations
    ]
    return entry


def input_layers(layers: Sequence[SpeckLayer]) -> list[int]:
    """Indices of the layers no other layer sends to: they take the input."""
    targeted = {d.layer for layer in layers for d in layer.destinations}
    return [i for i in range(len(layers)) if i not in targeted]


def output_layers(layers: Sequence[SpeckLayer]) -> list[int]:
    """Indices of the layers without destinations: their spikes are the output."""
    return [i for i, layer in enumerate(layers) if not layer.destinations]


def _dvs_layer(
    layers: Sequence[SpeckLayer], placement: Sequence[int], dvs: bool, spec: SpeckSpec
) -> dict[str, Any]:
    """The DVS pre-processing layer. With ``dvs``, sensor events go to the
    input layers: polarities merged for a 1-channel input, sum-pooled by 2 or
    4 when the input is the sensor's size divided by that, otherwise cut to
    the top-left ``w x h`` corner (``cut`` is in pooled coordinates, as in
    Sinabs)."""
    size = spec.max_input_size
    dests: list[dict[str, Any]] = [
        {"layer": 0, "enable": False} for _ in range(spec.max_destinations)
    ]
    merge, pooling, cut = False, 1, (size - 1, size - 1)
    if dvs:
        entries = input_layers(layers)
        shapes = {layers[i].input_shape for i in entries}
        names = ", ".join(layers[i].label for i in entries)
        if len(entries) > spec.max_destinations or len(shapes) != 1:
            raise NircError(
                "the DVS layer feeds at most two cores, with one input shape",
                where="dvs_layer",
                expected=f"at most {spec.max_destinations} input layers of one shape",
                found=f"{len(entries)} input layers ({names}) of shapes {sorted(shapes)}",
            )
        ((c, h, w),) = shapes
        if c not in (1, 2) or h > size or w > size:
            raise NircError(
                "a layer fed by the DVS sensor takes 1 (merged) or 2 (on/off) "
                f"channels of at most {size}x{size}",
                where=names,
                expected=f"(1 or 2, <= {size}, <= {size})",
                found=str((c, h, w)),
                hint="compile without the DVS input and send events from the host",
            )
        merge = c == 1
        pooling = next((p for p in spec.poolings if h == w == size // p), 1)
        cut = (w - 1, h - 1)
        for slot, i in enumerate(entries):
            dests[slot] = {"layer": int(placement[i]), "enable": True}
    return {
        "pass_sensor_events": bool(dvs),
        "destinations": dests,
        "merge": merge,
        "on_channel": True,
        "off_channel": True,
        "pooling": _xy(pooling, pooling),
        "origin": _xy(0, 0),
        "cut": _xy(*cut),
        "mirror": {"x": False, "y": False},
        "mirror_diagonal": False,
        "monitor_enable": False,
    }


def to_samna_config(
    layers: Sequence[SpeckLayer],
    placement: Sequence[int],
    *,
    dvs: bool = False,
    monitor: Sequence[int] = (),
    spec: SpeckSpec = SPECK,
) -> dict[str, Any]:
    """The configuration as a plain dict (see the module docstring). The
    layers are checked against Speck's rules first.

    ``placement[i]`` is the core of ``layers[i]``; ``dvs`` routes the on-chip
    sensor to the input layers; ``monitor`` lists extra layer indices whose
    spikes should also go to the host.
    """
    check_network(layers, spec, warnings=False)
    if len(placement) != len(layers):
        raise NircError(
            "placement does not match the layers",
            expected=f"{len(layers)} core indices",
            found=f"{len(placement)}",
        )
    if len(set(placement)) != len(placement) or not all(0 <= k < spec.num_cores for k in placement):
        raise NircError(
            "placement must put each layer on its own core",
            expected=f"distinct cores in 0..{spec.num_cores - 1}",
            found=str(list(placement)),
        )
    outputs = set(output_layers(layers)) | set(monitor)
    cnn_layers = [_default_cnn_layer() for _ in range(spec.num_cores)]
    for i, layer in enumerate(layers):
        cnn_layers[placement[i]] = _cnn_layer(layer, placement, i in outputs, spec)
    return {
        "cnn_layers": cnn_layers,
        "dvs_layer": _dvs_layer(layers, placement, dvs, spec),
        "readout": {"enable": False},
        "nirc": {
            "format": FORMAT,
            "layers": [
                {
                    "core": int(placement[i]),
                    "name": layer.name,
                    "sources": list(layer.sources),
                    "scale": None if layer.scale is None else float(layer.scale),
                }
                for i, layer in enumerate(layers)
            ],
            "input_cores": [int(placement[i]) for i in input_layers(layers)],
            "output_cores": [int(placement[i]) for i in output_layers(layers)],
        },
    }


def _dump(obj: Any, indent: int = 0) -> str:
    """JSON with sorted keys: objects one key per line, arrays of numbers on
    one line (weights stay compact)."""
    pad = "  " * indent
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [
            f"{pad}  {json.dumps(str(k))}: {_dump(v, indent + 1)}" for k, v in sorted(obj.items())
        ]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list) and any(isinstance(v, dict) for v in obj):
        items = [f"{pad}  {_dump(v, indent + 1)}" for v in obj]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(obj, separators=(",", ":"), allow_nan=False)


def to_samna_json(
    layers: Sequence[SpeckLayer],
    placement: Sequence[int],
    *,
    dvs: bool = False,
    monitor: Sequence[int] = (),
    spec: SpeckSpec = SPECK,
) -> str:
    """The configuration as deterministic JSON text (byte-identical for equal
    inputs)."""
    config = to_samna_config(layers, placement, dvs=dvs, monitor=monitor, spec=spec)
    return _dump(config) + "\n"


# -- reading -----------------------------------------------------------------


class SamnaConfig(NamedTuple):
    """What :func:`from_samna_json` recovers."""

    layers: list[SpeckLayer]
    placement: tuple[int, ...]
    dvs: bool


def _narrow(a: np.ndarray, dtype) -> np.ndarray:
    info = np.iinfo(dtype)
    if a.size == 0 or (a.min() >= info.min and a.max() <= info.max):
        return a.astype(dtype)
    return a


def from_samna_json(text: str) -> SamnaConfig:
    """Read a configuration written by :func:`to_samna_json` (or any JSON with
    samna's ``cnn_layers`` layout; without the ``nirc`` block, every core with
    output features is a layer, in core order)."""
    try:
        doc = json.loads(text)
        cnn = doc["cnn_layers"]
    except (ValueError, KeyError, TypeError) as e:
        raise NircError(
            "not a Speck configuration", expected="JSON with a 'cnn_layers' list", found=str(e)
        ) from None
    meta = doc.get("nirc") or {}
    if meta.get("layers"):
        infos = meta["layers"]
    else:
        infos = [
            {"core": k, "name": f"core{k}", "sources": [], "scale": None}
            for k, e in enumerate(cnn)
            if e["dimensions"]["output_shape"]["feature_count"] > 0
        ]
    core_to_layer = {info["core"]: i for i, info in enumerate(infos)}
    layers = []
    for info in infos:
        e = cnn[info["core"]]
        dim = e["dimensions"]
        c = dim["input_shape"]["feature_count"]
        size = dim["input_shape"]["size"]
        f = dim["output_shape"]["feature_count"]
        osize = dim["output_shape"]["size"]
        k = dim["kernel_size"]
        weights = np.asarray(e["weights"], np.int64).reshape(f, c, k, k).transpose(0, 1, 3, 2)
        state = np.asarray(e["neurons_initial_value"], np.int64).reshape(f, osize["x"], osize["y"])
        dests = []
        for d in e["destinations"]:
            if d["enable"]:
                if d["layer"] not in core_to_layer:
                    raise NircError(
                        "destination core is not configured",
                        where=f"cnn_layers[{info['core']}]",
                        expected=f"one of cores {sorted(core_to_layer)}",
                        found=str(d["layer"]),
                    )
                dests.append(Destination(core_to_layer[d["layer"]], int(d["pooling"])))
        layers.append(
            SpeckLayer(
                name=info["name"],
                sources=tuple(info.get("sources", ())),
                input_shape=(c, size["y"], size["x"]),
                weights=_narrow(weights, np.int8),
                biases=_narrow(np.asarray(e["biases"], np.int64), np.int8),
                stride=(dim["stride"]["x"], dim["stride"]["y"]),
                padding=(dim["padding"]["x"], dim["padding"]["y"]),
                threshold_high=e["threshold_high"],
                threshold_low=e["threshold_low"],
                return_to_zero=e["return_to_zero"],
                leak_enable=e["leak_enable"],
                destinations=tuple(dests),
                neurons_initial_value=_narrow(state.transpose(0, 2, 1), np.int16),
                scale=info.get("scale"),
            )
        )
    placement = tuple(int(info["core"]) for info in infos)
    dvs = bool(doc.get("dvs_layer", {}).get("pass_sensor_events", False))
    return SamnaConfig(layers, placement, dvs)


# -- resource report -----------------------------------------------------------


def _usage(used: int, capacity: int) -> dict[str, Any]:
    return {
        "used": int(used),
        "capacity": int(capacity),
        "utilization": round(100.0 * used / capacity, 1) if capacity else 0.0,
    }


def resource_report(
    layers: Sequence[SpeckLayer], placement: Sequence[int], spec: SpeckSpec = SPECK
) -> dict[str, Any]:
    """Per core: which layer, kernel/neuron/bias words used against capacity
    (utilization in percent), and totals over the chip."""
    by_core = {int(k): i for i, k in enumerate(placement)}
    cores = []
    totals = {"kernel": 0, "neuron": 0, "bias": 0}
    for k, cap in enumerate(spec.cores):
        i = by_core.get(k)
        if i is None:
            need = {"kernel": 0, "neuron": 0, "bias": 0}
            entry: dict[str, Any] = {"core": k, "layer": None, "name": None}
        else:
            m = layer_memory(layers[i])
            need = {"kernel": m.kernel, "neuron": m.neuron, "bias": m.bias}
            layer = layers[i]
            entry = {
                "core": k,
                "layer": i,
                "name": layer.name,
                "sources": list(layer.sources),
                "input_shape": list(layer.input_shape),
                "output_shape": list(layer.output_shape),
                "scale": layer.scale,
            }
        for what in ("kernel", "neuron", "bias"):
            entry[what] = _usage(need[what], getattr(cap, what))
            totals[what] += need[what]
        cores.append(entry)
    return {
        "chip": spec.name,
        "cores_used": len(layers),
        "cores_total": spec.num_cores,
        "cores": cores,
        "total": {
            what: _usage(totals[what], sum(getattr(c, what) for c in spec.cores))
            for what in ("kernel", "neuron", "bias")
        },
    }


def format_resource_report(report: dict[str, Any]) -> str:
    """The report as a readable table."""
    rows = [("core", "layer", "kernel", "neuron", "bias")]

    def cell(u):
        return f"{u['used']}/{u['capacity']} ({u['utilization']:.1f}%)"

    for e in report["cores"]:
        name = "-" if e["layer"] is None else f"{e['layer']} {e['name']}"
        rows.append((str(e["core"]), name, cell(e["kernel"]), cell(e["neuron"]), cell(e["bias"])))
    t = report["total"]
    rows.append(
        (
            "all",
            f"{report['cores_used']}/{report['cores_total']} cores",
            cell(t["kernel"]),
            cell(t["neuron"]),
            cell(t["bias"]),
        )
    )
    widths = [max(len(r[j]) for r in rows) for j in range(5)]
    return "\n".join(
        "  ".join(
            v.ljust(wd) if j < 2 else v.rjust(wd) for j, (v, wd) in enumerate(zip(r, widths))
        ).rstrip()
        for r in rows
    )
