"""The SpiNNaker2 resource report (JSON and text).

Holds, per population, its model, neurons, synapses, weight scale, spike gain
and lag; per PE its neurons, synapses, synapse rows, master population table
entries and recording memory against the PE's data memory; the PEs and chips
used and the router entries per chip; the latency in steps; the measured
agreement with the float network on the calibration inputs (prediction
agreement, spike counts within +-1, and task accuracy when the calibration
file has ``labels``); what is exact and what is approximated; which
population models the simulator verified and which it models.
"""

from __future__ import annotations

import numpy as np

from nirc.metrics import mean_spike_count
from nirc.targets.estimates import ReportSections, assemble_report, estimate_lines, summary_estimate
from nirc.targets.estimates import report_text as report_text_of

from .spec import WORD

REPORT_FORMAT = "nirc-spinnaker2-report/1"


def _pe_rows(low) -> list[dict]:
    cap = low.capacity
    pl = low.placement
    rows = []
    for pe, ld in sorted(pl.loads.items()):
        chip, local = divmod(pe, cap.cores_per_chip)
        pops = sorted(n for n, pp in pl.populations.items() if np.any(pp.pes == pe))
        rec = cap.recording_bytes(ld.recorded)
        rows.append({
            "pe": pe, "chip": chip, "pe_on_chip": local, "populations": pops,
            "neurons": ld.neurons, "synapses": ld.synapses, "synapse_rows": ld.input_axons,
            "master_population_table": ld.source_slices, "conv_kernel_weights": ld.shared_weights,
            "recorded_neurons": ld.recorded,
            "bytes": {
                "fixed": cap.fixed_bytes, "neurons": cap.bytes_per_neuron * ld.neurons,
                "synapses": cap.bytes_per_synapse * ld.synapses,
                "synapse_rows": cap.bytes_per_input_axon * ld.input_axons,
                "master_population_table": cap.bytes_per_source_slice * ld.source_slices,
                "conv_kernels": cap.bytes_per_shared_weight * ld.shared_weights,
                "recording": rec,
            },
            "memory": round(float(pl.memory[pe]), 1),
            "capacity": cap.memory_per_core,
        })  # fmt: skip
    return rows


def _accuracy(low) -> dict | None:
    """Task accuracy of the float network and of the chip on the labelled
    calibration inputs (all of them)."""
    from nirc.interpreter.snn import run_snn

    from .quantize import predictions
    from .simulator import simulate

    cal = low.calibration
    if cal.labels is None or len(low.network.outputs) != 1:
        return None
    ref = run_snn(low.float_module, cal.inputs)
    chip = simulate(low.network, cal.inputs)
    name = low.network.outputs[0].name
    b = cal.labels.shape[0]
    rf = predictions(ref[name].sum(axis=0).reshape(b, -1))
    cf = predictions(chip[name].sum(axis=0).reshape(b, -1))
    return {
        "samples": int(b),
        "float": round(float(np.mean(rf == cal.labels)), 6),
        "spinnaker2": round(float(np.mean(cf == cal.labels)), 6),
        "prediction_agreement": round(float(np.mean(rf == cf)), 6),
    }


def _check(low, o) -> dict | None:
    """``--check-steps T``: the agreement on fresh random spikes (seed + 1,
    the calibration's rate and batch), which no choice of the quantizer saw."""
    from nirc.interpreter.snn import calibration_inputs, run_snn

    from .quantize import score
    from .simulator import simulate

    steps = int(o.extra.get("check_steps", 0) or 0)
    if steps <= 0:
        return None
    batch, rate = int(o.extra.get("calib_batch", 2)), float(o.extra.get("calib_rate", 0.05))
    fresh = calibration_inputs(low.float_module, None, steps=steps, rate=rate, batch=batch,
                               seed=o.seed + 1, role="check")  # fmt: skip
    ref = run_snn(low.float_module, fresh)
    sc = score(ref, simulate(low.network, fresh))
    return {
        "inputs": f"{batch} x {steps} steps of random spikes, p = {rate:g}, seed {o.seed + 1}",
        "samples": batch,
        "prediction_agreement": round(sc["prediction_agreement"], 6),
        "agreement": round(sc["count_agreement"], 6),
        "count_error": round(sc["count_error"], 6),
        "reference_spikes_per_output_neuron": round(mean_spike_count(ref), 4),
    }


def build_report(low, model_name: str, o, warnings: list[str],
                 estimates: dict | None = None) -> dict:  # fmt: skip
    """The machine-readable report, in the sections every target shares
    (:mod:`nirc.targets.estimates`); ``populations``, ``projections`` and
    ``placement`` stay under their names beside them."""
    from .simulator import MODELLED_MODELS, VERIFIED_MODELS

    net, q, pl, cap = low.network, low.quantization, low.placement, low.capacity
    pops = []
    for p in net.populations:
        pp = pl.populations[p.name]
        syn = sum(pr.synapses for pr in net.incoming(p.name))
        pops.append({
            "name": p.name, "model": p.model, "role": p.role, "neurons": p.size,
            "shape": list(p.shape), "synapses": int(syn), "weight_scale": p.v_scale,
            "spike_gain": p.spike_gain, "lag": p.lag, "max_atoms_per_core": p.max_atoms_per_core,
            "pes": len(pp.slices), "split": pp.split,
            "copies": p.copies,
            **({"start": p.start} if p.role == "bias" else {}),
            "simulator": "verified" if p.model in VERIFIED_MODELS else "modelled",
        })  # fmt: skip
    ref = low.reference
    agreement = {
        "metric": "on the calibration inputs: prediction agreement (argmax of output spike "
                  "counts, ties to the lowest index) and per-output spike counts within +-1, "
                  "float snn reference vs SpiNNaker2 simulation",
        "calibration": {
            "inputs": low.calibration.label, "samples": low.samples,
            "prediction_agreement": round(q.score.get("prediction_agreement", 1.0), 6),
            "agreement": round(q.score.get("count_agreement", 1.0), 6),
            "count_error": round(q.score.get("count_error", 0.0), 6),
            "max_abs_prediction_agreement": round(
                q.max_abs_score.get("prediction_agreement", q.score.get("prediction_agreement", 1.0)), 6),
            "reference_spikes_per_output_neuron": round(mean_spike_count(ref), 4),
        },
    }  # fmt: skip
    acc = _accuracy(low)
    if acc is not None:
        agreement["task_accuracy"] = acc
    check = _check(low, o)
    if check is not None:
        agreement["check"] = check
    placement = {
        "method": pl.method, "pes_used": pl.pes_used, "chips_used": pl.chips_used,
        "traffic": pl.traffic, "baseline_traffic": pl.baseline_traffic,
        "baseline_pes": pl.baseline_pes,
        "router_entries": {str(c): n for c, n in pl.router.items()},
        "capacity": {"pes_per_chip": cap.cores_per_chip, "chips": cap.chips,
                     "neurons_per_pe": cap.neurons_per_core,
                     "memory_per_pe": cap.memory_per_core, "word_bytes": WORD,
                     "bytes_per_neuron": cap.bytes_per_neuron,
                     "recorded_steps": cap.recorded_steps,
                     "record_voltages": cap.record_voltages},
        "notes": list(pl.notes),
        "pes": _pe_rows(low),
    }  # fmt: skip
    return assemble_report(ReportSections(
        header={
            "format": REPORT_FORMAT,
            "target": "spinnaker2",
            "model": model_name,
            "options": {"dt": net.dt, "source": net.source, "reset": net.reset,
                        "calibrate": o.calibrate, "seed": o.seed,
                        "delays": str(o.extra.get("delays", "auto")),
                        "partition": str(o.extra.get("partition", "auto"))},
        },
        resources={
            "pes_used": pl.pes_used, "chips_used": pl.chips_used,
            "neurons": int(sum(p["neurons"] for p in pops if p["role"] != "input")),
            "synapses": int(sum(pr.synapses for pr in net.projections)),
            "router_entries": {str(c): n for c, n in pl.router.items()},
            "fullest_pe": round(max((row["memory"] / row["capacity"] for row in placement["pes"]),
                                    default=0.0), 6),
            "details": "populations, projections, placement",
        },
        quantization=q.to_dict(),
        fidelity=agreement,
        approximations=list(net.approximations),
        warnings=warnings,
        estimates=estimates or {},
        details={
            "latency_steps": net.latency,
            "populations": pops,
            "projections": [
                {"name": pr.name, "pre": pr.pre, "post": pr.post,
                 "type": "Conv2DProjection" if net.is_conv2d(pr) else "Projection",
                 "synapses": pr.synapses, "max_delay": int(pr.delay_of().max(initial=0)),
                 "sources": list(pr.sources)}
                for pr in net.projections
            ],
            "placement": placement,
            "simulator": {"verified": list(VERIFIED_MODELS), "modelled": list(MODELLED_MODELS)},
            "exact": list(net.exact),
            "ir": "model.mlir",
        },
    ))  # fmt: skip


def report_text(r: dict) -> str:
    pl = r["placement"]
    title = [
        f"nirc: {r['model']} compiled for SpiNNaker2 (py-spinnaker2)",
        f"dt = {r['options']['dt']:g} s per step, source {r['options']['source']}, reset "
        f"{r['options']['reset']}; latency {r['latency_steps']} step(s) (outputs read that much "
        "later)",
    ]
    res = [
        "populations",
        f"  {'name':<24} {'model':<22} {'neurons':>8} {'synapses':>10} {'w scale':>10} "
        f"{'gain':>4} {'lag':>3} {'PEs':>4}",
    ]
    for p in r["populations"]:
        res.append(f"  {p['name']:<24} {p['model']:<22} {p['neurons']:>8} {p['synapses']:>10} "
                   f"{p['weight_scale']:>10.4g} {p['spike_gain']:>4} {p['lag']:>3} {p['pes']:>4}"
                   + (" split" if p["split"] else ""))  # fmt: skip
    res += [f"placement: {pl['method']}, {pl['pes_used']} PEs on {pl['chips_used']} chip(s); "
            f"router entries per chip: "
            + ", ".join(f"chip {c}: {n}" for c, n in pl["router_entries"].items()),
            f"  traffic {pl['traffic']:.6g} spike copies per step to other PEs; index order "
            f"{pl['baseline_traffic']:.6g} on {pl['baseline_pes']} PEs",
            f"  per PE (bytes of the {pl['capacity']['memory_per_pe']:,} for the LIF app's "
            f"regions; recordings sized for {pl['capacity']['recorded_steps']} steps)",
            f"  {'chip/PE':<9} {'neurons':>7} {'synapses':>9} {'rows':>6} {'MPT':>4} "
            f"{'record B':>9} {'memory B':>9}  populations"]  # fmt: skip
    for row in pl["pes"][:64]:
        res.append(f"  {row['chip']:>3}/{row['pe_on_chip']:<5} {row['neurons']:>7} "
                   f"{row['synapses']:>9} {row['synapse_rows']:>6} "
                   f"{row['master_population_table']:>4} {row['bytes']['recording']:>9,} "
                   f"{row['memory']:>9,.0f}  {', '.join(row['populations'])}")  # fmt: skip
    if len(pl["pes"]) > 64:
        res.append(f"  ... {len(pl['pes']) - 64} more PEs (report.json has them all)")
    for n in pl["notes"]:
        res.append(f"  note: {n}")
    q = r["quantization"]
    quant = [f"{q['method']} ({q['simulations']} simulations)"]
    for name, c in q["populations"].items():
        quant.append(f"  {name}: weight scale {c['weight_scale']:.6g} "
                     f"({c['weight_scale'] / c['max_abs_scale']:.3g} x max-abs)"
                     + (f", spike gain {c['spike_gain']}" if c["spike_gain"] != 1 else ""))  # fmt: skip
    quant += [f"  note: {n}" for n in q.get("notes", ())]
    a = r["fidelity"]["calibration"]
    fidelity = [f"agreement on {a['inputs']} ({a['samples']} samples): predictions "
                f"{a['prediction_agreement']:.4f} (max-abs scales: "
                f"{a['max_abs_prediction_agreement']:.4f}), spike counts within +-1 "
                f"{a['agreement']:.4f}"]  # fmt: skip
    c = r["fidelity"].get("check")
    if c:
        fidelity.append(f"check on {c['inputs']}: predictions {c['prediction_agreement']:.4f}, "
                        f"spike counts within +-1 {c['agreement']:.4f}")  # fmt: skip
    acc = r["fidelity"].get("task_accuracy")
    if acc:
        fidelity.append(f"task accuracy on the {acc['samples']} labelled calibration samples: "
                        f"float {acc['float']:.4f}, SpiNNaker2 {acc['spinnaker2']:.4f}")  # fmt: skip
    fidelity.append("simulator: verified " + ", ".join(r["simulator"]["verified"])
                    + "; modelled from their description " + ", ".join(r["simulator"]["modelled"]))
    return report_text_of(title, {
        "resources": res,
        "quantization": quant,
        "fidelity": fidelity,
        "approximations": list(r["approximations"]) + ["exact: " + "; ".join(r["exact"])],
        "warnings": r["warnings"],
        "estimates": estimate_lines(r.get("estimates")),
    }, [f"final IR: {r['ir']}"])  # fmt: skip


def summary(r: dict) -> list[str]:
    pl = r["placement"]
    a = r["agreement"]["calibration"]
    n = sum(p["neurons"] for p in r["populations"] if p["role"] != "input")
    worst = max((row["memory"] / row["capacity"] for row in pl["pes"]), default=0.0)
    lines = [
        f"compiled {r['model']} for spinnaker2: {len(r['populations'])} populations, {n} neurons "
        f"on {pl['pes_used']} PEs of {pl['chips_used']} chip(s) (fullest PE {worst:.0%} of its "
        f"data memory), latency {r['latency_steps']} steps",
        f"  quantization: {r['quantization']['method']}; prediction agreement "
        f"{a['prediction_agreement']:.4f} (max-abs {a['max_abs_prediction_agreement']:.4f}), "
        f"counts within +-1 {a['agreement']:.4f} on {a['inputs']}",
    ]
    c = r["agreement"].get("check")
    if c:
        lines.append(f"  check: prediction agreement {c['prediction_agreement']:.4f}, counts "
                     f"within +-1 {c['agreement']:.4f} on {c['inputs']}")  # fmt: skip
    acc = r["agreement"].get("task_accuracy")
    if acc:
        lines.append(f"  task accuracy (calibration labels): float {acc['float']:.2%}, "
                     f"SpiNNaker2 {acc['spinnaker2']:.2%}")  # fmt: skip
    if r["approximations"]:
        lines.append("  approximated: " + "; ".join(r["approximations"]))
    return lines + [summary_estimate(r.get("estimates"))]


__all__ = ["REPORT_FORMAT", "build_report", "report_text", "summary"]
