"""The Loihi 2 compile report (``report.json``, ``report.txt``) and summary.

Per layer: neurons, synapses (connections; stored weights), weight bits and
exponent (as netx derives them), decays, threshold, bias, scale, the
quantization the search chose and the approximations. Per core (from the
placement, counted by :mod:`.resources`): its layers, neurons, synapses,
shared kernel weights, input axons, sources and memory against the capacity
model. Then cores and chips used, the latency the chip adds, the measured
agreement with the float network, and where the final IR is
(``model.mlir``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nirc.targets.base import agreement_summary
from nirc.targets.estimates import ReportSections, assemble_report, estimate_lines, summary_estimate
from nirc.targets.estimates import report_text as report_text_of

from .resources import PlacedLayer, core_loads


def _distance(d: float) -> str:
    """A count distance for the text report: 4 decimals, or 4 significant
    digits past 10,000 (a readout far beyond its float32 range is reported
    as the largest float: :func:`nirc.metrics.relative_l1`)."""
    return f"{d:.4f}" if d < 1e4 else f"{d:.4g}"


def connections(layer) -> int:
    """Synapses (one per nonzero weight between two neurons): dense: the
    nonzero weights; conv: every nonzero tap that lands inside the input, for
    every output neuron."""
    from .simulator import correlate

    n = int(np.count_nonzero(layer.weight))
    if layer.kind != "conv":
        return n + (0 if layer.weight_rec is None else int(np.count_nonzero(layer.weight_rec)))
    ones = np.ones((1,) + tuple(layer.in_shape))
    taps = (np.asarray(layer.weight) != 0).astype(np.float64)
    return int(round(float(correlate(ones, taps, layer.shape, layer.stride, layer.padding,
                                     layer.dilation, layer.groups).sum())))  # fmt: skip


def _placed(net) -> list[PlacedLayer]:
    out = []
    for layer in net.layers:
        w = layer.weight if layer.kind == "conv" else layer.weight.reshape(layer.size, -1)
        out.append(PlacedLayer(layer.name, layer.kind, tuple(layer.in_shape), tuple(layer.shape),
                               w, layer.cores, layer.weight_rec, tuple(layer.stride),
                               tuple(layer.padding), tuple(layer.dilation), int(layer.groups)))  # fmt: skip
    return out


def _decay(d) -> int | list[int]:
    """One decay, or the [min, max] of per-neuron / per-channel decays."""
    a = np.asarray(d).reshape(-1)
    return int(a[0]) if a.size == 1 else [int(a.min()), int(a.max())]


def _range(a) -> list[int] | None:
    if a is None:
        return None
    a = np.asarray(a)
    return [int(a.min()), int(a.max())] if a.size else None


def build_report(model: str, low, agreement: dict, o, warnings: list[str], graph: dict,
                 estimates: dict | None = None) -> dict:  # fmt: skip
    """The machine-readable report of a compile (``low``: :class:`~.target.Lowered`),
    in the sections every target shares (:mod:`nirc.targets.estimates`)."""
    net = low.network
    cap = net.capacity
    placed = _placed(net)
    loads = core_loads(placed)
    on_core: dict[int, list[str]] = {}
    for layer in net.layers:
        for c in np.unique(layer.cores):
            on_core.setdefault(int(c), []).append(layer.name)
    layers = []
    for layer, fl, q in zip(net.layers, low.float_net.layers, low.search.layers):
        scale = np.asarray(layer.scale, np.float64).reshape(-1)
        entry: dict[str, Any] = {
            "name": layer.name,
            "kind": layer.kind,
            "sources": list(layer.sources),
            "shape": list(layer.shape),
            "neurons": layer.size,
            "synapses": connections(layer),
            "stored_weights": int(np.count_nonzero(layer.weight))
            + (0 if layer.weight_rec is None else int(np.count_nonzero(layer.weight_rec))),
            "weight_bits": int(layer.num_weight_bits),
            "weight_exp": int(layer.weight_exp),
            "weight_range": _range(np.hstack([layer.weight.reshape(-1)] + (
                [layer.weight_rec.reshape(-1)] if layer.weight_rec is not None else []))),
            "i_decay": _decay(layer.i_decay),
            "v_decay": _decay(layer.v_decay),
            "v_th": int(layer.v_th),
            "spiking": bool(layer.spiking),
            "bias_range": _range(layer.bias),
            "scale": round(float(scale[0]), 6) if np.ptp(scale) == 0 else
            [round(float(scale.min()), 6), round(float(scale.max()), 6)],
            "max_delay": None if layer.delay is None else int(np.max(layer.delay)),
            "cores": [int(c) for c in np.unique(layer.cores)],
            "quantization": {"clip": q.choice.clip, "threshold_factor": q.choice.threshold_factor},
            "construction": fl.construction,
            "approximations": list(fl.notes),
            "exact": list(fl.exact),
            "notes": list(q.notes) + ([fl.unbuilt] if fl.unbuilt else []),
        }  # fmt: skip
        if layer.kind == "conv":
            entry["conv"] = {"kernel": list(layer.weight.shape[2:]), "stride": list(layer.stride),
                             "padding": list(layer.padding), "dilation": list(layer.dilation),
                             "groups": int(layer.groups)}  # fmt: skip
        if layer.flatten:
            entry["flatten"] = True
        if layer.lag:
            entry["lag"] = int(layer.lag)
        if q.gain is not None:
            entry["quantization"]["gains"] = [round(float(np.min(q.gain)), 6),
                                              round(float(np.max(q.gain)), 6)]  # fmt: skip
        layers.append(entry)
    cores = []
    for core, load in loads.items():
        cores.append({
            "core": core,
            "chip": core // cap.cores_per_chip,
            "layers": on_core.get(core, []),
            "neurons": load.neurons,
            "synapses": load.synapses,
            "shared_weights": load.shared_weights,
            "input_axons": load.input_axons,
            "source_slices": load.source_slices,
            "memory_bytes": round(float(cap.memory(load)), 1),
            "memory_capacity": int(cap.memory_per_core),
            "neuron_capacity": int(cap.neurons_per_core),
        })  # fmt: skip
    p = low.placement
    return assemble_report(ReportSections(
        header={
            "format": "nirc-loihi2-report/1",
            "target": "loihi2",
            "model": model,
            "options": {
                "dt": net.dt,
                "source": graph["source"],
                "reset": graph["reset"],
                "calibrate": o.calibrate,
                "seed": o.seed,
                "input_bits": int(net.input_bits),
                "partition": str(o.extra.get("partition", "auto")),
            },
        },
        resources={
            "cores_used": len(loads),
            "chips_used": len({c // cap.cores_per_chip for c in loads}),
            "neurons": int(sum(layer.size for layer in net.layers)),
            "synapses": int(sum(e["synapses"] for e in layers)),
            "capacity": {
                "neurons_per_core": cap.neurons_per_core,
                "memory_per_core": cap.memory_per_core,
                "cores_per_chip": cap.cores_per_chip,
                "chips": cap.chips,
                "bytes_per_neuron": cap.bytes_per_neuron,
                "bytes_per_synapse": cap.bytes_per_synapse,
                "bytes_per_shared_weight": cap.bytes_per_shared_weight,
                "bytes_per_input_axon": cap.bytes_per_input_axon,
                "bytes_per_source_slice": cap.bytes_per_source_slice,
                "fixed_bytes": cap.fixed_bytes,
                "sources": [list(s) for s in cap.sources] or _sources(),
            },
            "placement": {
                "method": p.method,
                "traffic": round(float(p.traffic), 6),
                "baseline_traffic": round(float(p.baseline_traffic), 6),
                "notes": list(getattr(p, "notes", []) or []) + list(low.placement_notes),
            },
        },
        quantization={
            "search": low.search_mode,
            "method": SEARCH_METHODS[low.search_mode],
            **({"outcome": low.search.note} if low.search.note else {}),
            "tried": [{k: (round(v, 6) if isinstance(v, float) else v) for k, v in t.items()}
                      for t in low.search.tried],
        },
        fidelity=agreement,
        approximations=list(low.float_net.notes),
        warnings=warnings,
        estimates=estimates or {},
        details={
            "layers": layers,
            "cores": cores,
            "timing": {
                "latency_steps": int(net.latency),
                "convention": f"outputs[t] answers inputs[t]: each run lasts T + {net.latency} "
                "steps on the chip (inputs padded with zeros), every layer's state is reset "
                "when its first input arrives (netx Network(reset_interval=T + "
                f"{net.latency}, reset_offset={net.reset_offset})), and the last T steps are "
                "kept",
            },
            "exact": [
                "sum-pools, flattens and scales folded into the next weights (exact)",
                "one step of latency per layer, absorbed by the aligned outputs",
                "lava's fixed-point arithmetic: nirc's simulator is bit-exact with it",
            ],
            "final_ir": "model.mlir",
        },
    ))  # fmt: skip


SEARCH_METHODS = {
    "fast": "layer by layer on the calibration inputs: each layer built as the replica "
    "constructions allow or as Loihi's neuron with a threshold factor (one run of its synapse "
    "for all factors) and per-channel gains; hidden layers kept for the spike counts per sample "
    "closest to the float layer's, the last layer for the agreement of the argmax predictions "
    "(within one standard error), then the count distance",
    "full": "per-layer scales searched end to end on the calibration inputs for the agreement "
    "of the argmax predictions, then the count distance (clip factors 1..2 of the max-abs "
    "scale; threshold factors and per-neuron rate gains where Loihi approximates the float "
    "neuron; refined; each replica plan compared)",
    "quick": "max-abs scales; threshold factors 1 and 0.7 for the approximated layers, judged "
    "on random calibration spikes; layers that send counts or subtract compared plain and "
    "built of replicas, all at once",
}


def _sources() -> list[list[str]]:
    from .spec import LOIHI2

    return [list(s) for s in LOIHI2.capacity.sources]


def report_text(report: dict) -> str:
    r = report["resources"]
    cap = r["capacity"]
    opts = report["options"]
    lines = [
        f"nirc: {report['model']} compiled for Intel Loihi 2 (lava-dl netx)",
        f"dt = {opts['dt']:g} s per step, source {opts['source']}, reset {opts['reset']}, input "
        + (f"graded spikes of {opts['input_bits']} bits" if opts["input_bits"] else "spikes"),
        "layers",
    ]
    for e in report["layers"]:
        conv = e.get("conv")
        shape = "x".join(map(str, e["shape"]))
        lines.append(
            f"  {e['name']}: {e['kind']}{' (after flatten)' if e.get('flatten') else ''} "
            f"[{shape}], {e['neurons']:,} neurons, {e['synapses']:,} synapses"
            + (f", kernel {conv['kernel'][0]}x{conv['kernel'][1]} stride "
               f"{conv['stride'][0]}x{conv['stride'][1]} padding {conv['padding'][0]}x"
               f"{conv['padding'][1]} groups {conv['groups']}" if conv else "")
        )  # fmt: skip
        lines.append(
            f"    weights {e['weight_range'][0]}..{e['weight_range'][1]}, {e['weight_bits']} bits, "
            f"exponent {e['weight_exp']}; iDecay {e['i_decay']}, vDecay {e['v_decay']}, "
            + (f"vThMant {e['v_th']}" if e["spiking"] else "readout (voltage out)")
            + (f", bias {e['bias_range'][0]}..{e['bias_range'][1]}" if e["bias_range"] else "")
            + (f", delays up to {e['max_delay']}" if e["max_delay"] is not None else "")
            + f"; scale {e['scale']}; clip x{e['quantization']['clip']:g}, threshold "
            f"x{e['quantization']['threshold_factor']:g}"
            + (" with per-neuron gains {}..{}".format(*e["quantization"]["gains"])
               if "gains" in e["quantization"] else "")
            + f"; cores {_cores(e['cores'])}"
        )  # fmt: skip
        if e.get("construction", "plain") != "plain":
            lines.append(f"    built of replicas: {e['construction']}"
                         + (f"; answers {e['lag']} step(s) late" if e.get("lag") else ""))  # fmt: skip
        for a in e["approximations"]:
            lines.append(f"    approximated: {a}")
        for a in e["exact"]:
            lines.append(f"    exact: {a}")
        for n in e["notes"]:
            lines.append(f"    note: {n}")
    cores = [f"cores (capacity per core: {cap['neurons_per_core']:,} neurons, "
             f"{cap['memory_per_core']:,} bytes; nirc's memory model)"]  # fmt: skip
    cores.append("  core  chip  neurons  synapses  shared  axons  sources  memory (bytes)   layers")
    for c in report["cores"]:
        cores.append(
            f"  {c['core']:>4}  {c['chip']:>4}  {c['neurons']:>7,}  {c['synapses']:>8,}  "
            f"{c['shared_weights']:>6,}  {c['input_axons']:>5,}  {c['source_slices']:>7}  "
            f"{c['memory_bytes']:>9,.0f} / {c['memory_capacity']:,}  {', '.join(c['layers'])}"
        )
    cores.append(f"  cores used {r['cores_used']} of {cap['cores_per_chip'] * cap['chips']}, "
                 f"chips used {r['chips_used']} of {cap['chips']}; placement "
                 f"{r['placement']['method']} (traffic {r['placement']['traffic']:.4g}, index "
                 f"order {r['placement']['baseline_traffic']:.4g})")  # fmt: skip
    q = report["quantization"]
    quant = [f"search {q['search']}: {q['method']}", "(per layer: see the layer lines above)"]
    if q.get("outcome"):
        quant.append(q["outcome"])
    ag = report["fidelity"]
    fidelity = [f"agreement: {ag['metric']}"]
    for key in ("calibration", "check"):
        if key in ag:
            a = ag[key]
            fidelity.append(
                f"  {key} ({a['inputs']}): predictions {a['prediction_agreement']:.4f}, counts "
                f"within +-1 {a['agreement']:.4f}, count distance {_distance(a['count_distance'])}"
                + (f" (max-abs scaling: predictions {a['max_abs_prediction_agreement']:.4f}, "
                   f"distance {_distance(a['max_abs_count_distance'])})"
                   if "max_abs_prediction_agreement" in a else "")
            )  # fmt: skip
            if "accuracy" in a:
                fidelity.append(f"    accuracy on its labels: float {a['accuracy']['float']:.4f}, "
                                f"Loihi 2 {a['accuracy']['loihi2']:.4f}")  # fmt: skip
    return report_text_of(lines[:2], {
        "resources": lines[2:] + [""] + cores,
        "quantization": quant,
        "fidelity": fidelity,
        "approximations": list(report["approximations"]) + ["exact: " + "; ".join(report["exact"])],
        "warnings": report["warnings"],
        "estimates": estimate_lines(report.get("estimates")),
    }, [f"latency: {report['timing']['latency_steps']} step(s); " + report["timing"]["convention"],
        f"final IR: {report['final_ir']} (the `loihi2` dialect)"])  # fmt: skip


def _cores(ids: list[int]) -> str:
    if len(ids) <= 4:
        return ", ".join(map(str, ids))
    return f"{ids[0]}..{ids[-1]} ({len(ids)})"


def summary(report: dict) -> list[str]:
    r = report["resources"]
    cap = r["capacity"]
    bits = sorted({e["weight_bits"] for e in report["layers"]})
    lines = [
        f"compiled {report['model']} for loihi2: {len(report['layers'])} layers, "
        f"{r['neurons']:,} neurons, {r['synapses']:,} synapses on {r['cores_used']} core(s) of "
        f"{cap['cores_per_chip'] * cap['chips']} ({r['chips_used']} chip(s)); latency "
        f"{report['timing']['latency_steps']} step(s)",
        f"  quantization: weights of {'/'.join(map(str, bits))} bits with netx's per-layer "
        "exponent, 12-bit decays, 17-bit thresholds; placement " + r["placement"]["method"],
    ]
    ag = report["agreement"]["calibration"]
    note = (f"argmax predictions agree on {ag['prediction_agreement']:.1%} of the calibration "
            f"samples (max-abs scaling: {ag['max_abs_prediction_agreement']:.1%}"
            + (f"; {report['quantization']['outcome']})"
               if report["quantization"].get("outcome") else ")"))  # fmt: skip
    if "accuracy" in ag:
        note += (f"; accuracy on their labels: float {ag['accuracy']['float']:.1%}, Loihi 2 "
                 f"{ag['accuracy']['loihi2']:.1%}")  # fmt: skip
    return lines + agreement_summary(report, note) + [summary_estimate(report.get("estimates"))]


__all__ = ["build_report", "connections", "report_text", "summary"]
