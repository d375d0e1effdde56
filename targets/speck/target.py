"""The Speck target: ``nirc compile --target speck`` and ``nirc run --target speck``.

Pipeline (every step an ordinary pass or function, see ARCHITECTURE.md)::

    .nir / Graph / nir.NIRGraph / `nir` module
      -> inline-subgraphs -> discretize{dt, reset} -> fold-weights -> fuse     (snn)
      -> lower-speck: core layers, IR rules, chip rules, placement,
         quantization searched on calibration inputs                           (speck)
      -> artifacts: config.json (samna layout), report.json, report.txt, model.mlir

``dt`` defaults to the graph's metadata ``dt``, else 1 (Sinabs counts time in
steps, and a Speck time step is one slow-clock tick). The measured agreement
in the report is the per-output spike-count agreement within +-1
(:func:`nirc.metrics.spike_count_agreement`) between the float `snn` network
(the reference interpreter) and the chip simulation of the emitted cores on
the calibration inputs (the quantizer's simulation of its final choice, made
of the simulator's own functions; tests check that
:class:`~.simulator.SpeckSimulator` on ``config.json`` gives the same spikes);
``extra={"check_steps": T}`` adds the same figure on fresh random inputs of
``T`` steps, simulated by :class:`~.simulator.SpeckSimulator`. The report also
gives how often the float outputs spike: an agreement over outputs that never
spike means little.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from nirc.diagnostics import NircError
from nirc.evaluation import AGREEMENT_MEANING
from nirc.targets.base import CompileOptions, CompileResult, Target, agreement_summary
from nirc.targets.estimates import (
    ReportSections,
    assemble_report,
    estimate_lines,
    report_text,
    summary_estimate,
)

from .dialect import ChipOp
from .spec import SPECK

REPORT_FORMAT = "nirc-speck-report/1"


def _load_nir(model: Any):
    """Any model -> (a verified module, whether it is already discretized,
    whether it states its time step: an `snn` module, or `dt` in the graph's
    metadata)."""
    from nirc import load

    # a module the caller passes is cloned: compilation rewrites it
    module = load.load_module(model.clone() if type(model).__name__ == "ModuleOp" else model)
    from nirc.dialects.snn import is_snn_module

    if is_snn_module(module):
        return module, True, True
    from nirc.dialects.nir import GraphOp

    tops = [op for op in module.ops if isinstance(op, GraphOp)]
    meta = tops[0].metadata if tops else None
    return module, False, meta is not None and "dt" in meta.data


def _fmt_words(n: int) -> str:
    return f"{n // 1024} Ki" if n >= 1024 and n % 1024 == 0 else str(n)


class SpeckTarget(Target):
    name = "speck"
    top_op = ChipOp
    description = "SynSense Speck / DYNAP-CNN: 9 cores, each conv -> IAF neurons -> sum pooling"
    spec = SPECK

    # -- compiling -------------------------------------------------------------------

    def lower(self, model: Any, options: CompileOptions | None = None):
        """(the `speck` module, the lowering result, the float `snn` module)."""
        from nirc.context import make_context
        from nirc.passes import get_pass

        from .lower import lower_to_speck

        o = options or CompileOptions()
        if o.reset not in (None, "zero", "subtract"):
            raise NircError("unknown reset mode", expected="zero or subtract", found=str(o.reset))
        module, discretized, has_dt = _load_nir(model)
        from .dialect import is_speck_module

        if is_speck_module(module):
            raise NircError(
                "the model is already compiled for Speck (a speck module)",
                where=str(model) if isinstance(model, (str, Path)) else None,
                hint="simulate it with `nirc run MODEL --target speck`; compile the .nir file",
            )
        ctx = make_context()
        if not discretized:
            # a source profile is passed only when asked for (the plain reading is the default)
            profile = {"source": o.source} if o.source and o.source != "nir" else {}
            # a profile has its own dt convention (Sinabs: 1 step; snnTorch: 1e-4, ...)
            dt = o.dt if o.dt is not None else (None if has_dt or profile else 1.0)
            get_pass("inline-subgraphs")().apply(ctx, module)
            get_pass("discretize")(dt=dt, reset=o.reset, **profile).apply(ctx, module)
        elif o.dt is not None:
            from nirc.dialects.snn import top_graph

            have = top_graph(module).dt_value
            if float(o.dt) != have:
                raise NircError(
                    "an snn module has its own time step",
                    expected=f"no --dt, or --dt {have:g}",
                    found=f"--dt {o.dt:g}",
                )
        get_pass("fold-weights")().apply(ctx, module)
        get_pass("fuse")().apply(ctx, module)
        float_module = module.clone()
        extra = dict(o.extra)
        result = lower_to_speck(
            module,
            allow_approximate=o.allow_approximate,
            calibrate=o.calibrate,
            calib_steps=int(extra.get("calib_steps", 100)),
            calib_rate=float(extra.get("calib_rate", 0.05)),
            calib_batch=int(extra.get("calib_batch", 2)),
            seed=o.seed,
            calib_samples=extra.get("calib_samples"),
        )
        from nirc.load import verify

        verify(module)
        return module, result, float_module

    def compile(self, model: Any, options: CompileOptions | None = None) -> CompileResult:
        from nirc import diagnostics

        o = options or CompileOptions()
        outer = diagnostics.current_sink()
        with diagnostics.collecting(strict=o.strict or outer.strict) as sink:
            result = self._compile(model, o, sink)
        outer.warnings.extend(sink.warnings)
        return result

    def _compile(self, model: Any, o: CompileOptions, sink) -> CompileResult:
        from nirc.metrics import mean_spike_count, outputs_agreement

        from .config import format_resource_report, resource_report, to_samna_json
        from .dialect import read_chip

        module, lowering, float_module = self.lower(model, o)
        net = read_chip(module)  # the emitters print what the dialect holds
        config = to_samna_json(net.layers, net.cores, monitor=net.monitored())
        resources = resource_report(net.layers, net.cores)
        q = lowering.quantization
        # The quantizer's last simulation is the chip's: conv_events and
        # integrate_and_fire of the simulator, on the chosen configuration
        # (tests check that SpeckSimulator on config.json gives the same spikes).
        agreement = {
            "metric": "per-output spike-count agreement within +-1 (float snn reference vs "
            "Speck simulation)",
            "meaning": AGREEMENT_MEANING,  # what the figure says, plainly
            "calibration": {"inputs": q.calibration, "agreement": round(q.agreement, 6),
                            "per_output": {k: round(v, 6) for k, v in sorted(q.per_output.items())},
                            "reference_spikes_per_output_neuron": round(q.reference_spikes, 4)},
        }  # fmt: skip
        check_steps = int(o.extra.get("check_steps", 0) or 0)
        if check_steps > 0:
            from .quantize import calibration_inputs, float_reference

            batch = int(o.extra.get("calib_batch", 2))
            rate = float(o.extra.get("calib_rate", 0.05))
            fresh = calibration_inputs(float_module, None, steps=check_steps, rate=rate,
                                       batch=batch, seed=o.seed + 1, role="check")  # fmt: skip
            ref = {k: v for k, v in float_reference(float_module, fresh, []).items()
                   if k in net.outputs}  # fmt: skip
            a, per = outputs_agreement(ref, self.simulate(module, fresh))
            agreement["check"] = {
                "inputs": f"{batch} x {check_steps} steps of random spikes, p = {rate:g}, "
                f"seed {o.seed + 1}",
                "agreement": round(a, 6),
                "per_output": {k: round(v, 6) for k, v in sorted(per.items())},
                "reference_spikes_per_output_neuron": round(mean_spike_count(ref), 4),
            }
        name = Path(model).name if isinstance(model, (str, Path)) else type(model).__name__
        approximations = list(lowering.float_network.notes)
        estimates = self.estimate(module, lowering.calibration,
                                  label=f"the calibration inputs ({q.calibration})")  # fmt: skip
        report = assemble_report(ReportSections(
            header={
                "format": REPORT_FORMAT,
                "target": self.name,
                "model": name,
                "options": {
                    "dt": net.dt,
                    "source": _graph_attr(float_module, "source", "nir"),
                    "reset": _graph_attr(float_module, "reset", "zero"),
                    "spike_mode": net.spike_mode,
                    "allow_approximate": bool(o.allow_approximate),
                    "calibrate": o.calibrate,
                    "seed": o.seed,
                },
            },
            resources=resources,
            quantization=q.to_dict(),
            fidelity=agreement,
            approximations=approximations,
            warnings=[w.render() for w in sink.warnings],
            estimates=estimates,
        ))  # fmt: skip
        report_json = json.dumps(report, indent=2, sort_keys=True, allow_nan=False) + "\n"
        text = self._report_text(report, format_resource_report(resources), q)
        artifacts = {
            "config.json": config,
            "report.json": report_json,
            "report.txt": text,
            "model.mlir": _print_ir(module),
        }
        summary = self._summary(report, net)
        return CompileResult(self.name, module, artifacts, report, summary)

    def _report_text(self, report: dict, table: str, q) -> str:
        opts = report["options"]
        title = [
            f"nirc: {report['model']} compiled for Speck",
            f"dt = {opts['dt']:g} s per step, source {opts['source']}, reset {opts['reset']}, "
            f"spike mode {opts['spike_mode']}",
        ]
        ag = report["fidelity"]
        fidelity = [f"agreement: {ag['metric']}", f"  ({ag['meaning']})"]
        for key in ("calibration", "check"):
            if key in ag:
                fidelity.append(
                    f"  {key} ({ag[key]['inputs']}): {ag[key]['agreement']:.4f}; the float "
                    f"outputs spike {ag[key]['reference_spikes_per_output_neuron']:.3g} times "
                    "per neuron"
                )
        return report_text(title, {
            "resources": ["cores (memory in words: used/capacity (utilization))", table],
            "quantization": q.lines(),
            "fidelity": fidelity,
            "approximations": report["approximations"],
            "warnings": report["warnings"],
            "estimates": estimate_lines(report["estimates"]),
        })  # fmt: skip

    def _summary(self, report: dict, net) -> list[str]:
        res = report["resources"]
        cores = ", ".join(str(k) for k in net.cores)
        t = res["total"]
        mem = ", ".join(
            f"{what} {_fmt_words(t[what]['used'])}/{_fmt_words(t[what]['capacity'])} "
            f"({t[what]['utilization']:.1f}%)"
            for what in ("kernel", "neuron", "bias")
        )
        scales = [q["scale"] for q in report["quantization"]["layers"]]
        lines = [
            f"compiled {report['model']} for speck: {res['cores_used']} layers on cores {cores} "
            f"(of {res['cores_total']})",
            f"  memory: {mem}",
            f"  quantization: int8 weights, one scale per layer (S from {min(scales):.4g} to "
            f"{max(scales):.4g})",
        ]
        q = report["quantization"]
        cal = f"  calibration: {q['calibration']}"
        if q.get("prediction_agreement") is not None:
            cal += f"; predictions as the float network's on {100 * q['prediction_agreement']:.2f} %"
        if q.get("calibration_accuracy"):
            acc = q["calibration_accuracy"]
            cal += (f"; accuracy on its labels: float {100 * acc['float']:.2f} %, chip "
                    f"{100 * acc['chip']:.2f} %")  # fmt: skip
        lines.append(cal)
        return lines + agreement_summary(report) + [summary_estimate(report["estimates"])]

    # -- simulating ------------------------------------------------------------------

    def input_shapes(self, compiled: Any) -> dict[str, tuple[int, ...]]:
        from .dialect import read_chip

        module = compiled.module if isinstance(compiled, CompileResult) else compiled
        return {k: v.shape for k, v in read_chip(module).inputs.items()}

    def simulate(
        self,
        compiled: Any,
        inputs: Mapping[str, np.ndarray],
        *,
        spike_mode: str | None = None,
        overflow: str = "saturate",
        membranes: bool = False,
        **_: Any,
    ) -> dict[str, np.ndarray]:
        """Run the cores of a `speck` module on ``{input: [T, B, *shape]}`` event
        counts; returns ``{output: [T, B, *shape]}`` spike counts (pooled on
        the host when the Output asks for it). The whole batch runs at once
        (vectorized over samples; the same numbers as sample by sample).
        ``membranes``: also ``{output}.v``, the output layer's membrane at the
        end of each step in units of its ``threshold_high`` (an Output that
        pools on the host has none)."""
        from .dialect import read_chip
        from .simulator import SpeckSimulator, sum_pool

        module = compiled.module if isinstance(compiled, CompileResult) else compiled
        net = read_chip(module)
        sim = SpeckSimulator(
            net.layers, net.cores, spike_mode=spike_mode or net.spike_mode, overflow=overflow
        )
        feeds, T, B = _feeds(net, inputs)
        need_record = membranes or any(
            net.layers[o.layer].destinations for o in net.outputs.values()
        )
        run = sim.run(feeds, record=need_record)
        spikes = run["spikes"] if need_record else run["outputs"]
        results: dict[str, np.ndarray] = {}
        for name, out in net.outputs.items():
            s = spikes[out.layer]
            if out.pooling != 1:
                flat = sum_pool(s.reshape((T * B,) + s.shape[2:]), out.pooling)
                s = flat.reshape((T, B) + flat.shape[1:])
            results[name] = s.reshape((T, B) + tuple(out.shape))
            if membranes and out.pooling == 1:
                layer = net.layers[out.layer]
                v = run["membrane"][out.layer].astype(np.float64) / float(layer.threshold_high)
                results[f"{name}.v"] = v.reshape((T, B) + tuple(out.shape))
        return results

    def estimate(self, compiled: Any, inputs: Mapping[str, np.ndarray], *, label: str = "",
                 max_samples: int = 64) -> dict:  # fmt: skip
        """The ``estimates`` section (:func:`nirc.targets.estimates.estimate`):
        the cores run on ``inputs`` (the first ``max_samples`` samples) with
        every layer's spikes recorded; each core's events update only the
        neurons they reach (plus every neuron each step where a bias is
        added); an event to another core is one routed event."""
        from dataclasses import replace

        from nirc.targets.estimates import Population, conv_synapses, count_activity, estimate

        from .dialect import read_chip
        from .simulator import SpeckSimulator, sum_pool

        module = compiled.module if isinstance(compiled, CompileResult) else compiled
        net = read_chip(module)
        sim = SpeckSimulator(net.layers, net.cores, spike_mode=net.spike_mode)
        cut = {k: np.asarray(v)[:, :max_samples] for k, v in inputs.items()}
        feeds, T, B = _feeds(net, cut)
        run = sim.run(feeds, record=True)
        names = _unique(list(net.inputs) + [layer.name for layer in net.layers])
        in_names, layer_names = names[: len(net.inputs)], names[len(net.inputs):]
        pops = [Population(n, np.asarray(cut[k]).reshape(T, B, -1), None, "none")
                for n, k in zip(in_names, net.inputs)]  # fmt: skip
        synapses = []
        conv_of: dict[int, Any] = {}

        def conv(i: int, pre: str):
            layer = net.layers[i]
            if i not in conv_of:
                conv_of[i] = conv_synapses(pre, layer_names[i], layer.weights, layer.input_shape,
                                           layer.output_shape, stride=layer.stride[::-1],
                                           padding=layer.padding[::-1])  # fmt: skip
            return replace(conv_of[i], pre=pre)  # the same synapses, from another source

        for i, layer in enumerate(net.layers):
            size = int(np.prod(layer.output_shape))
            updates = "events and steps" if layer.leak_enable else "on events"
            pops.append(Population(layer_names[i], run["spikes"][i].reshape(T, B, size),
                                   np.full(size, net.cores[i]), updates))  # fmt: skip
        for n, inp in zip(in_names, net.inputs.values()):
            for i in inp.layers:
                synapses.append(conv(i, n))
        for i, layer in enumerate(net.layers):
            for d in layer.destinations:
                syn = conv(d.layer, layer_names[i])
                p = int(d.pooling)
                shape = layer.output_shape

                def pooled(x, p=p, shape=shape):
                    flat = x.reshape((-1,) + tuple(shape))
                    out = sum_pool(flat, p)
                    return out.reshape(x.shape[:2] + (-1,))

                syn.through = pooled
                syn.pre_core = np.full(int(np.prod(layer.pooled_shape(p))), net.cores[i])
                synapses.append(syn)
        activity = count_activity(pops, synapses)
        return estimate(activity, self.spec.figures, net.dt, inputs=label or "the given inputs")

    # -- limits ------------------------------------------------------------------------

    def float_approximations(self, module: Any, report: dict) -> list[tuple[str, Any]]:
        """The float `snn` network ``module`` with each approximation the
        compile ``report`` lists applied alone (and all together): ``nirc
        eval`` measures what each costs (see :mod:`.approximate`)."""
        from .approximate import float_variants

        return float_variants(module, report)

    def limits(self) -> list[tuple[str, str]]:
        s = self.spec
        kinds: dict[tuple[int, int, int], list[int]] = {}
        for k, c in enumerate(s.cores):
            kinds.setdefault((c.kernel, c.neuron, c.bias), []).append(k)
        rows = [
            ("cores", str(s.num_cores)),
            ("input feature map", f"up to {s.max_input_size}x{s.max_input_size}"),
            ("output feature map", f"up to {s.max_output_size}x{s.max_output_size}"),
            ("channels", f"up to {s.max_channels} in and out"),
            ("kernel", f"square, up to {s.max_kernel_size}x{s.max_kernel_size}"),
            ("stride", ", ".join(map(str, s.strides))),
            ("padding", f"0..{s.max_padding}"),
            ("pooling", ", ".join(map(str, s.poolings)) + " (sum, stride = kernel)"),
            ("destinations per core", str(s.max_destinations)),
            (
                "neurons",
                "integrate-and-fire (no leak but a bias per step), reset to zero or by subtraction",
            ),  # fmt: skip
            ("weights, biases", f"int{s.weight_bits}, int{s.bias_bits}, one scale per layer"),
            (
                "membrane, thresholds",
                f"int{s.state_bits}, int{s.threshold_bits} (one threshold_high/low per layer)",
            ),  # fmt: skip
        ]
        for (kern, neur, bias), cores in sorted(kinds.items(), key=lambda kv: kv[1][0]):
            label = f"cores {cores[0]}-{cores[-1]}" if len(cores) > 1 else f"core {cores[0]}"
            rows.append((f"memory, {label}", f"kernel {_fmt_words(kern)}, neuron "
                         f"{_fmt_words(neur)}, bias {_fmt_words(bias)} words"))  # fmt: skip
        return rows + s.figures.rows()


def _feeds(net, inputs: Mapping[str, np.ndarray]) -> tuple[dict[int, np.ndarray], int, int]:
    """The simulator's feeds (layer index -> ``[T, B, c, h, w]`` events) from
    ``{input: [T, B, *shape]}``, and ``T``, ``B``."""
    missing = [k for k in net.inputs if k not in inputs]
    if missing:
        raise NircError(
            "inputs missing for the chip",
            expected=", ".join(
                f"`{k}` [T, B, {', '.join(map(str, v.shape))}]" for k, v in net.inputs.items()
            ),  # fmt: skip
            found=", ".join(f"`{k}`" for k in inputs) or "none",
        )
    arrays = {k: np.asarray(inputs[k]) for k in net.inputs}
    first = next(iter(arrays.values())) if arrays else None
    if first is None:
        raise NircError("the chip has no inputs")
    T, B = int(first.shape[0]), int(first.shape[1])
    feeds: dict[int, np.ndarray] = {}
    for name, inp in net.inputs.items():
        a = arrays[name]
        if a.dtype.kind == "b":
            a = a.astype(np.int64)
        events = a.reshape((T, B) + tuple(inp.events))
        for i in inp.layers:
            feeds[i] = events if i not in feeds else feeds[i] + events
    return feeds, T, B


def _unique(names: list[str]) -> list[str]:
    """``names`` with repeats suffixed (``n``, ``n#2``)."""
    seen: dict[str, int] = {}
    out = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n}#{seen[n]}")
    return out


def _graph_attr(module, name: str, default: str) -> str:
    """A string attribute of the module's ``snn.graph`` (``reset``, ``source``)."""
    from xdsl.dialects.builtin import StringAttr

    from nirc.dialects.snn import top_graph

    attr = top_graph(module).properties.get(name)
    return attr.data if isinstance(attr, StringAttr) else default


def _print_ir(module) -> str:
    import io

    from xdsl.printer import Printer

    buf = io.StringIO()
    Printer(stream=buf).print_op(module)
    buf.write("\n")
    return buf.getvalue()


__all__ = ["SpeckTarget"]
