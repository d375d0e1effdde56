"""The Xylo target: ``nirc compile --target xylo`` and ``nirc run --target xylo``.

Pipeline::

    .nir / Graph / nir.NIRGraph / `nir` or `snn` module
      -> inline-subgraphs -> discretize{dt, reset} -> fold-weights -> fuse     (snn)
      -> map onto one hidden population (lower.map_network), rules
      -> quantize: per-neuron scales, one shift per matrix, searched for
         agreement with the float reference on calibration inputs            (xylo)
      -> artifacts: spec.npz (Rockpool's specification), report.json,
         report.txt, model.mlir

Options: ``extra["variant"]`` (``audio2`` default, ``audio3``, ``imu``),
``extra["relays"]`` (relay neurons for recurrent loops, see
:func:`.lower.map_network`),
``extra["calib_steps"/"calib_batch"/"calib_rate"]`` and
``extra["check_steps"]`` (also measure on fresh random inputs). The agreement
is :func:`nirc.metrics.outputs_agreement` (spike counts within +-1) between
the float `snn` network and :class:`~.simulator.XyloSimulator` running the
emitted specification.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from nirc.diagnostics import NircError
from nirc.evaluation import AGREEMENT_MEANING
from nirc.metrics import mean_spike_count, relative_rms
from nirc.targets.base import CompileOptions, CompileResult, Target, agreement_summary, load_fused
from nirc.targets.estimates import (
    ReportSections,
    assemble_report,
    estimate_lines,
    report_text,
    summary_estimate,
)

from .dialect import NetworkOp
from .spec import AUDIO2, get_variant

REPORT_FORMAT = "nirc-xylo-report/1"


def _npz_bytes(sp) -> bytes:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "spec.npz"
        sp.to_npz(path)
        return path.read_bytes()


def _print_ir(module) -> str:
    import io

    from xdsl.printer import Printer

    buf = io.StringIO()
    Printer(stream=buf).print_op(module)
    buf.write("\n")
    return buf.getvalue()


def resources(net, sp, spec) -> dict:
    """Neurons and synapses used against each limit."""
    w_rec = np.asarray(sp.weights_rec)
    fan_out = np.count_nonzero(np.any(w_rec != 0, axis=2), axis=1)
    syn = 2 if (np.any(sp.weights_in[:, :, 1]) or np.any(w_rec[:, :, 1])) else 1
    fed = np.flatnonzero(np.any(sp.weights_in != 0, axis=(0, 2)))
    feeding = np.flatnonzero(np.any(sp.weights_out != 0, axis=1))

    def row(used, limit):
        return {"used": int(used), "limit": None if limit is None else int(limit)}

    return {
        "variant": spec.name,
        "part": spec.part,
        "input_channels": row(sp.n_in, spec.input_channels),
        "hidden_neurons": row(sp.n_hidden, spec.hidden_neurons),
        "output_neurons": row(sp.n_out, spec.output_neurons),
        "synapses_per_hidden": row(syn, spec.synapses_per_hidden),
        "max_fan_out": row(fan_out.max(initial=0), spec.max_fan_out),
        "alias_neurons": {
            "used": int(net.n_alias),  # hidden neurons that are alias copies
            "layers": {p.alias_of: p.size for p in net.hidden if p.alias_of is not None},
        },
        "synapses": {
            "weights_in": int(np.count_nonzero(sp.weights_in)),
            "weights_rec": int(np.count_nonzero(sp.weights_rec)),
            "weights_out": int(np.count_nonzero(sp.weights_out)),
        },
        "input_window": {
            "last_hidden_fed": int(fed.max()) if fed.size else None,
            "limit": spec.input_window,
        },  # fmt: skip
        "output_window": {
            "first_hidden_read": int(feeding.min()) if feeding.size else None,
            "limit": spec.output_window,
        },  # fmt: skip
        "hidden_layers": [
            {"name": p.name, "neurons": [p.start, p.start + p.size - 1], "recurrent": p.recurrent}
            | ({"alias_of": p.alias_of} if p.alias_of is not None else {})
            for p in net.hidden
        ],  # fmt: skip
        "output_layers": [
            {"name": p.name, "neurons": [p.start, p.start + p.size - 1]} for p in net.output
        ],  # fmt: skip
    }


def layer_errors(net, sp, target: float, scales=None) -> list[dict]:
    """Per layer: relative RMS error of its quantized input weights (all
    matrices and synapses into it) against the float effective weights, at
    the quantization's per-neuron ``scales`` (hidden, output; integer units
    per real unit), or the threshold scale when it has none."""
    out = []
    s_hid = target / net.threshold if scales is None else scales[0]
    s_out = target / net.threshold_out if scales is None else scales[1]
    mats = []
    for w, q, shift in ((net.w_in, sp.weights_in, sp.weight_shift_in),
                        (net.w_rec, sp.weights_rec, sp.weight_shift_rec)):  # fmt: skip
        mats.append((w, np.asarray(q[:, :, 0], np.float64) * 2.0**shift, s_hid))
    for w, q, shift in ((net.w_in_2, sp.weights_in, sp.weight_shift_in),
                        (net.w_rec_2, sp.weights_rec, sp.weight_shift_rec)):  # fmt: skip
        mats.append((w, np.asarray(q[:, :, 1], np.float64) * 2.0**shift, s_hid))
    w_out = (net.w_out, np.asarray(sp.weights_out, np.float64) * 2.0**sp.weight_shift_out, s_out)
    for pops, is_out in ((net.hidden, False), (net.output, True)):
        for p in pops:
            if p.relay_of is not None or p.alias_of is not None:
                continue
            sl = slice(p.start, p.start + p.size)
            pairs = [(w[:, sl], q[:, sl] / s[sl][None, :]) for w, q, s in ([w_out] if is_out else mats)]
            out.append({"layer": p.name, "weight_rel_rms_error": round(relative_rms(pairs), 6)})
    return out


class XyloTarget(Target):
    name = "xylo"
    reads = frozenset({"variant"})
    top_op = NetworkOp
    description = "SynSense Xylo (Audio 2/3, IMU): one hidden population, int8 weights, bit shifts"
    spec = AUDIO2
    records = True  # `nirc run --target xylo --record LAYER[.STATE]` gives hidden probes

    def lower(self, model: Any, options: CompileOptions | None = None):
        """(the `xylo` module, the float network on the chip, the quantization,
        the float `snn` module, the calibration inputs)."""
        from nirc.interpreter.snn import calibration_inputs

        from . import quantize as q
        from .dialect import build_network
        from .lower import approximated_dashes, map_network
        from .rules import check_network

        o = options or CompileOptions()
        if o.reset not in (None, "zero", "subtract"):
            raise NircError("unknown reset mode", expected="zero or subtract", found=str(o.reset))
        spec = get_variant(str(o.extra.get("variant") or "audio2"))
        module = load_fused(model, o)
        relays = bool(o.extra.get("relays", False))

        def remap(dashes):
            other = map_network(module, spec, relays=relays, dashes=dashes)
            check_network(other, spec)
            return other

        net = remap(None)
        steps = int(o.extra.get("calib_steps", 100))
        batch = int(o.extra.get("calib_batch", 2))
        rate = float(o.extra.get("calib_rate", 0.05))
        calib = calibration_inputs(
            module, o.calibrate, steps=steps, rate=rate, batch=batch, seed=o.seed,
            samples=o.extra.get("calib_samples"),
        )  # fmt: skip
        label = calib.description or (f"inputs of {Path(o.calibrate).name}" if o.calibrate else
                                      f"{batch} x {steps} steps of random spikes, p = {rate:g}, "
                                      f"seed {o.seed}")  # fmt: skip
        reference = float_reference(module, calib)
        events = q.input_events(net, calib)
        options = approximated_dashes(module, spec) if calib.dataset else []
        quant = q.search(net, spec, events, reference, label, data_set=calib.dataset,
                         labels=calib.labels, lag=max(0, net.output_lag), remap=remap,
                         dash_options=options, refine=3 if calib.dataset else 2)  # fmt: skip
        net = quant.network or net
        xmod = build_network(
            quant.specification,
            spec.name,
            net.inputs,
            net.outputs,
            [(p.name, p.size) for p in net.hidden],
            [p.name for p in net.output],
        )
        return xmod, net, quant, module, calib

    def compile(self, model: Any, options: CompileOptions | None = None) -> CompileResult:
        from nirc import diagnostics

        o = options or CompileOptions()
        outer = diagnostics.current_sink()
        with diagnostics.collecting(strict=o.strict or outer.strict) as sink:
            result = self._compile(model, o, sink)
        outer.warnings.extend(sink.warnings)
        return result

    def _compile(self, model: Any, o: CompileOptions, sink) -> CompileResult:
        from nirc import diagnostics

        from . import quantize as q

        xmod, net, quant, float_module, calib = self.lower(model, o)
        spec = get_variant(str(o.extra.get("variant") or "audio2"))
        sp = quant.specification
        agreement = {
            "metric": "per-output spike-count agreement within +-1 (float snn reference vs "
            "Xylo simulation)",
            "meaning": AGREEMENT_MEANING,  # what the figure says, plainly
            "calibration": {"inputs": quant.calibration, "agreement": round(quant.agreement, 6),
                            "per_output": {k: round(v, 6) for k, v in sorted(quant.per_output.items())},
                            "max_abs_agreement": round(float(quant.max_abs_agreement), 6),
                            "reference_spikes_per_output_neuron": round(quant.reference_spikes, 4)},
        }  # fmt: skip
        check_steps = int(o.extra.get("check_steps", 0) or 0)
        if check_steps > 0:
            from nirc.interpreter.snn import calibration_inputs

            batch = int(o.extra.get("calib_batch", 2))
            rate = float(o.extra.get("calib_rate", 0.05))
            fresh = calibration_inputs(float_module, None, steps=check_steps, rate=rate,
                                       batch=batch, seed=o.seed + 1, role="check")  # fmt: skip
            lag = max(0, net.output_lag)
            ref = q.pad_steps(float_reference(float_module, fresh), lag)
            ev = q.pad_steps(q.input_events(net, fresh), lag)
            a, err, per = q.score(ref, q.chip_outputs(net, sp, ev))
            ba, berr, _ = q.score(ref, q.chip_outputs(net, q.max_abs(net, spec), ev))
            agreement["check"] = {
                "inputs": f"{batch} x {check_steps} steps of random spikes, p = {rate:g}, "
                f"seed {o.seed + 1}",
                "agreement": round(a, 6),
                "per_output": {k: round(v, 6) for k, v in sorted(per.items())},
                "max_abs_agreement": round(ba, 6),
                "reference_spikes_per_output_neuron": round(mean_spike_count(ref), 4),
            }
        _warn_clipped(net.inputs, calib, spec.max_input_events, "the calibration inputs",
                      o.extra.get("max_input_events"))  # fmt: skip
        quiet = [
            (where, a["reference_spikes_per_output_neuron"])
            for where, a in agreement.items()
            if isinstance(a, dict) and a.get("reference_spikes_per_output_neuron", 1.0) < 1.0
        ]
        if quiet:
            diagnostics.warn(
                "the float network's outputs hardly spike on the "
                + " and ".join(f"{w} inputs ({n:.2g} spikes per output neuron)" for w, n in quiet)
                + ": an agreement over silent outputs says little; calibrate at your data's "
                "input rate (--calib-rate) or on your data (--calibrate inputs.npz)",
                where=self.name,
            )
        if net.notes:
            diagnostics.warn(
                f"the Xylo mapping approximates the float network ({'; '.join(net.notes)}); "
                f"measured agreement (output spike counts within +-1): {quant.agreement:.1%} on "
                f"the calibration inputs"
                + (f", {agreement['check']['agreement']:.1%} on fresh inputs"
                   if "check" in agreement else ""),
                where=self.name,
            )  # fmt: skip
        name = Path(model).name if isinstance(model, (str, Path)) else type(model).__name__
        estimates = self.estimate(xmod, calib, label=f"the calibration inputs ({quant.calibration})")
        report = assemble_report(ReportSections(
            header={
                "format": REPORT_FORMAT,
                "target": self.name,
                "model": name,
                "options": {
                    "variant": spec.name,
                    "dt": net.dt,
                    "source": _graph_attr(float_module, "source", "nir"),
                    "reset": _graph_attr(float_module, "reset", "zero"),
                    "calibrate": o.calibrate,
                    "seed": o.seed,
                },
            },
            resources=resources(net, sp, spec),
            quantization=quant.to_dict(net),
            fidelity=agreement,
            approximations=list(net.notes),
            warnings=[w.render() for w in sink.warnings],
            estimates=estimates,
            details={
                "layer_errors": layer_errors(net, sp, quant.target, None if quant.scale_hidden is None
                                             else (quant.scale_hidden, quant.scale_output)),
                "exact": list(net.exact),
                "output_latency": int(net.output_lag),
            },
        ))  # fmt: skip
        report_json = json.dumps(report, indent=2, sort_keys=True, allow_nan=False) + "\n"
        artifacts: dict[str, Any] = {
            "spec.npz": _npz_bytes(sp),
            "report.json": report_json,
            "report.txt": self._report_text(report),
            "model.mlir": _print_ir(xmod),
        }
        return CompileResult(self.name, xmod, artifacts, report, self._summary(report))

    def _report_text(self, report: dict) -> str:
        r, qd, ag = report["resources"], report["quantization"], report["fidelity"]
        title = [f"nirc: {report['model']} compiled for Xylo ({r['variant']}, {r['part']})",
                 f"dt = {report['options']['dt']:g} s per step, source {report['options']['source']}, "
                 f"reset {report['options']['reset']}"]  # fmt: skip
        res = ["resources (used / limit)"]
        for k in ("input_channels", "hidden_neurons", "output_neurons", "synapses_per_hidden",
                  "max_fan_out"):  # fmt: skip
            res.append(f"  {k.replace('_', ' ')}: {r[k]['used']} / {r[k]['limit']}")
        res.append(f"  alias neurons: {r['alias_neurons']['used']}"
                   + "".join(f", {n} for {k}" for k, n in r["alias_neurons"]["layers"].items()))  # fmt: skip
        for p in r["hidden_layers"]:
            res.append(f"  hidden {p['name']}: neurons {p['neurons'][0]}..{p['neurons'][1]}"
                       + (" (recurrent)" if p["recurrent"] else "")
                       + (f" (aliases of {p['alias_of']})" if "alias_of" in p else ""))  # fmt: skip
        for p in r["output_layers"]:
            res.append(f"  output {p['name']}: neurons {p['neurons'][0]}..{p['neurons'][1]}")
        quant = [f"quantization: {qd['method']}",
                 f"  target threshold {qd['target_threshold']:g}, shifts in/rec/out "
                 f"{qd['weight_shift_in']}/{qd['weight_shift_rec']}/{qd['weight_shift_out']}"]  # fmt: skip
        for e in report["layer_errors"]:
            quant.append(
                f"  {e['layer']}: weight relative RMS error {e['weight_rel_rms_error']:.4f}"
            )
        quant += ["calibration: " + calibration_line(qd, report.get("output_latency", 0))]
        fidelity = [f"agreement: {ag['metric']}", f"  ({ag['meaning']})"]
        for key in ("calibration", "check"):
            if key in ag:
                fidelity.append(f"  {key} ({ag[key]['inputs']}): {ag[key]['agreement']:.4f} "
                                f"(max-abs quantization: {ag[key]['max_abs_agreement']:.4f})")  # fmt: skip
        approx = list(report["approximations"]) + ["exact: " + "; ".join(report["exact"])]
        return report_text(title, {
            "resources": res,
            "quantization": quant,
            "fidelity": fidelity,
            "approximations": approx,
            "warnings": report["warnings"],
            "estimates": estimate_lines(report["estimates"]),
        })  # fmt: skip

    def _summary(self, report: dict) -> list[str]:
        r, qd, ag = report["resources"], report["quantization"], report["agreement"]
        lines = [
            f"compiled {report['model']} for xylo ({r['variant']}): {r['input_channels']['used']} "
            f"inputs, {r['hidden_neurons']['used']}/{r['hidden_neurons']['limit']} hidden, "
            f"{r['output_neurons']['used']}/{r['output_neurons']['limit']} output neurons, "
            f"fan-out {r['max_fan_out']['used']}/{r['max_fan_out']['limit']}"
            + (
                f" ({r['alias_neurons']['used']} alias neurons)"
                if r["alias_neurons"]["used"]
                else ""
            )
            + f", {r['synapses_per_hidden']['used']} synapse(s) per hidden neuron",
            f"  quantization: int8 weights, shifts {qd['weight_shift_in']}/"
            f"{qd['weight_shift_rec']}/{qd['weight_shift_out']}, int16 thresholds "
            f"(target {qd['target_threshold']:g})",
        ]
        note = f"max-abs scaling: {ag['calibration']['max_abs_agreement']:.4f}"
        lines.append("  calibration: " + calibration_line(qd, report.get("output_latency", 0)))
        return lines + agreement_summary(report, note) + [summary_estimate(report["estimates"])]

    # -- simulating ------------------------------------------------------------------

    def input_shapes(self, compiled: Any) -> dict[str, tuple[int, ...]]:
        from .dialect import read_network

        module = compiled.module if isinstance(compiled, CompileResult) else compiled
        return dict(read_network(module).inputs)

    def simulate(self, compiled: Any, inputs: Mapping[str, np.ndarray], *, probes: bool = False,
                 record: str = "", membranes: bool = False,
                 **_: Any) -> dict[str, np.ndarray]:  # fmt: skip
        """Run a `xylo` module on ``{input: [T, B, *shape]}`` event counts;
        returns ``{output: [T, B, *shape]}`` spike counts, and with ``probes``
        also ``<layer>.spikes`` / ``.vmem`` / ``.isyn`` / ``.isyn2`` of every
        hidden layer ([T, B, n], sampled at the end of each step, as xylosim
        records them). ``record`` (``"lif1,lif2.vmem"``) keeps only the named
        layers or layer states. ``membranes``: also ``{output}.v``, the output
        neurons' membrane at the end of each step in units of each one's
        threshold. The whole batch runs at once
        (:meth:`~.simulator.XyloSimulator.run_batch`)."""
        from .dialect import read_network
        from .quantize import simulate

        module = compiled.module if isinstance(compiled, CompileResult) else compiled
        xn = read_network(module)
        wanted = [r.strip() for r in record.split(",") if r.strip()]
        if wanted:
            probes = True
            layers = {n for n, _ in xn.hidden_layers}
            states = ("spikes", "vmem", "isyn", "isyn2")
            for w in wanted:
                if w not in layers and not (w.rpartition(".")[0] in layers
                                            and w.rpartition(".")[2] in states):  # fmt: skip
                    raise NircError(
                        "--record names no hidden layer or state of the chip",
                        where=f"--record {w}",
                        expected=f"a hidden layer ({', '.join(sorted(layers))}), optionally "
                        f"with .{'/.'.join(states)}",
                    )
        events = _events(xn, inputs)
        from .simulator import MAX_INPUT_EVENTS as limit

        if events.size and events.max() > limit:
            from nirc import diagnostics

            diagnostics.warn(f"input event counts above {limit} per channel and step: Xylo "
                             f"delivers {limit} of each (the float network takes them all)",
                             where=self.name)  # fmt: skip
        run = simulate(xn.specification, events, record=probes or membranes)
        return _results(xn, run, probes, membranes, wanted)

    def estimate(self, compiled: Any, inputs: Mapping[str, np.ndarray], *, label: str = "",
                 max_samples: int = 64) -> dict:  # fmt: skip
        """The ``estimates`` section (:func:`nirc.targets.estimates.estimate`):
        the chip runs on ``inputs`` (the first ``max_samples`` samples) with
        the hidden and output spikes recorded. Xylo is one core stepping every
        neuron each step: input, recurrent and output synapses count where a
        weight is nonzero; no spike leaves the core."""
        from nirc.targets.estimates import Population, count_activity, dense_synapses, estimate

        from .dialect import read_network
        from .quantize import simulate

        module = compiled.module if isinstance(compiled, CompileResult) else compiled
        xn = read_network(module)
        sp = xn.specification
        cut = {k: np.asarray(v)[:, :max_samples] for k, v in inputs.items()}
        events = _events(xn, cut)
        run = simulate(sp, events, record=True)
        hid, out = run["spikes_hidden"], run["spikes_out"]
        pops = [Population("input", events, None, "none"),
                Population("hidden", hid, np.zeros(hid.shape[2], np.int64)),
                Population("output", out, np.zeros(out.shape[2], np.int64))]  # fmt: skip
        synapses = [dense_synapses("input", "hidden", sp.weights_in),
                    dense_synapses("hidden", "hidden", sp.weights_rec),
                    dense_synapses("hidden", "output", sp.weights_out)]  # fmt: skip
        activity = count_activity(pops, synapses)
        return estimate(activity, self.spec.figures, float(xn.dt), inputs=label or "the given inputs")

    def float_approximations(self, module: Any, report: dict) -> list[tuple[str, Any]]:
        """The float `snn` network ``module`` with each approximation the
        compile ``report`` lists applied alone (and all together): ``nirc
        eval`` measures what each costs (see :mod:`.approximate`)."""
        from .approximate import float_variants

        return float_variants(module, report, get_variant(str(report.get('options', {}).get('variant') or 'audio2')))

    def limits(self) -> list[tuple[str, str]]:
        from .spec import VARIANTS

        rows = [(v.name, v.describe()) for v in VARIANTS.values()]
        s = self.spec
        rows += [
            ("weights", f"int{s.weight_bits}, one left shift 0..{s.weight_shift_max} per matrix"),
            ("states, thresholds, biases", f"int{s.state_bits}, saturating"),
            (
                "decays",
                f"right shifts dash 0..{s.dash_max}: dash = round(log2(tau / dt)), tau > dt",
            ),
            (
                "events per step",
                f"input {s.max_input_events}/channel, hidden {s.max_hidden_spikes}"
                f"/neuron, output {s.max_output_spikes}/neuron",
            ),  # fmt: skip
            (
                "network",
                "input -> weights_in -> hidden (weights_rec) -> weights_out -> output; "
                "one alias per hidden neuron",
            ),  # fmt: skip
        ]
        return rows + s.figures.rows()


def _warn_clipped(inputs, arrays: Mapping[str, np.ndarray], limit: int, what: str,
                  data_top: int | None = None) -> None:  # fmt: skip
    """Warn where input event counts exceed the ``limit`` Xylo delivers per
    channel and step: the chip takes ``limit`` of each, the float network all
    of them (``data_top``: the largest count of the data ``nirc eval``
    evaluates on, which it passes as ``max_input_events``)."""
    from nirc import diagnostics

    found = []
    for name, _shape in inputs:
        a = arrays.get(name) if hasattr(arrays, "get") else None
        if a is None or not np.asarray(a).size:
            continue
        a = np.asarray(a)
        top = a.max()
        if top > limit:
            over = int(np.count_nonzero(a > limit))
            found.append(f"{what} at `{name}` ({over:,} of {a.size:,} counts, up to {float(top):,.0f})")
    if data_top is not None and int(data_top) > limit:
        found.append(f"the evaluated data (up to {int(data_top):,})")
    if found:
        diagnostics.warn(f"input event counts above the {limit} per channel and step that Xylo "
                         f"delivers: {'; '.join(found)}; the chip takes {limit} of each, the "
                         "float network all of them", where="xylo")  # fmt: skip


def _events(xn, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
    """``{input: [T, B, *shape]}`` -> the chip's input events [T, B, Nin]."""
    parts = []
    for name, _shape in xn.inputs:
        if name not in inputs:
            raise NircError(
                "inputs missing for the chip",
                expected=", ".join(
                    f"`{k}` [T, B, {', '.join(map(str, s))}]" for k, s in xn.inputs
                ),
                found=", ".join(f"`{k}`" for k in inputs) or "none",
            )
        a = np.asarray(inputs[name])
        a = a.reshape(a.shape[0], a.shape[1], -1)
        if a.dtype.kind == "f":
            if not np.all(np.isfinite(a) & (a == np.round(a)) & (a >= 0)):
                raise NircError("Xylo inputs are events: non-negative integer counts per step",
                                where=name, found="non-integer or negative values")  # fmt: skip
        parts.append(a.astype(np.int64))
    return np.concatenate(parts, axis=2)


def _results(xn, run: dict, probes: bool, membranes: bool, wanted: list[str]) -> dict:
    """A simulation's outputs by Output name (and probes, membranes)."""
    out_spikes = run["spikes_out"]
    results: dict[str, np.ndarray] = {}
    start = 0
    thr_out = np.asarray(xn.specification.threshold_out, np.float64)
    for name, shape in xn.outputs:
        n = int(np.prod(shape)) if shape else 1
        a = out_spikes[:, :, start : start + n].astype(np.float32)
        results[name] = a.reshape(a.shape[:2] + tuple(shape))
        if membranes:
            vm = run["vmem_out"][:, :, start : start + n] / thr_out[start : start + n]
            results[f"{name}.v"] = vm.reshape(vm.shape[:2] + tuple(shape))
        start += n
    if probes:
        start = 0
        for lname, n in xn.hidden_layers:
            for key, rec in (("spikes", "spikes_hidden"), ("vmem", "vmem"), ("isyn", "isyn"),
                             ("isyn2", "isyn2")):  # fmt: skip
                results[f"{lname}.{key}"] = run[rec][:, :, start : start + n]
            start += n
        if wanted:
            results = {k: v for k, v in results.items() if k in dict(xn.outputs) or k in wanted
                       or k.rpartition(".")[0] in wanted}  # fmt: skip
    return results


def calibration_line(qd: dict, lag: int = 0) -> str:
    """The calibration figures in a line: on what, the predictions agreeing
    with the float network's, the accuracies on the calibration labels."""
    text = str(qd.get("calibration", ""))
    pa = qd.get("prediction_agreement")
    if pa is not None:
        text += f"; predictions as the float network's on {100 * pa:.2f} % of its samples"
    acc = qd.get("calibration_accuracy")
    if acc:
        text += (f"; accuracy on its labels: float {100 * acc['float']:.2f} %, chip "
                 f"{100 * acc['chip']:.2f} %")  # fmt: skip
    text += f"; mean output spike-count error {qd.get('mean_count_error', 0):.3g}"
    if lag:
        text += f" (the chip run {lag} step(s) longer: its outputs lag by as many)"
    return text


def _graph_attr(module, name: str, default: str) -> str:
    """A string attribute of the module's ``snn.graph`` (``reset``, ``source``)."""
    from nirc.dialects.snn import top_graph

    attr = getattr(top_graph(module), name, None)
    return attr.data if attr is not None else default


def float_reference(module, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The float `snn` network's outputs on ``{input: [T, B, *shape]}``."""
    from nirc.interpreter.snn import run_snn

    return run_snn(module, inputs)


__all__ = ["XyloTarget", "float_reference", "layer_errors", "resources"]
