"""The artifacts py-spinnaker2 users run: network.json, network.npz, run_spinnaker2.py.

Everything is printed from the ``spinnaker2`` dialect (:func:`~.dialect.read_network`):

- ``network.json`` (schema :data:`FORMAT`): ``dt``; ``timesteps``
  (``per_sample``: the calibration inputs' length, ``latency``: the chip
  steps a run needs beyond its input); ``populations`` in creation order, each
  with ``name``, ``neuron_model`` (py-spinnaker2's), ``size``, ``shape``,
  ``role`` (``input``, ``bias``, ``neuron``, ``relay``), ``params`` under
  py-spinnaker2's names (numbers, or ``{"npz": key}`` for per-neuron
  arrays), ``record``, ``max_atoms_per_core``, ``weight_scale`` (chip units per
  float unit of the membrane), ``spike_gain``, ``lag``, ``copies`` (chip
  neurons per element, along the first axis: element ``(e0, r)``'s copy ``j``
  is neuron ``(e0 * copies + j) * R + r``, ``R`` the size of the other axes),
  ``start`` (bias sources), ``split`` and ``slices`` (the placement: which
  neurons on which PE of which chip); ``projections`` (``type``
  ``Projection`` with ``connections`` in the npz, or ``Conv2DProjection``
  with ``weights`` and ``conv_params``); ``inputs``, ``outputs``; and
  ``placement`` (PEs and chips used, the per-PE memory model, the method
  and, from the partitioner, this placement's ``traffic`` and index order's
  ``baseline_traffic`` in spike copies per step sent to other PEs).
- ``network.npz``: ``connections/<projection>`` int32 ``[n, 4]`` rows
  ``(pre, post, weight, delay)`` in py-spinnaker2's neuron numbering;
  ``conv/<projection>`` int8
  ``(C_in, C_out, kH, kW)``; ``param/<population>/<name>`` float32 per-neuron
  parameters; ``neurons/<population>/<pe>`` int64, the neurons of a split
  population on one PE. Member timestamps are fixed: the same network gives
  the same bytes.
- ``run_spinnaker2.py``: :mod:`.runner`, with the output guard of
  :mod:`nirc.targets.script_io` pasted in as source.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np

from .network import BIAS

FORMAT = "nirc-spinnaker2-network/1"
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def npz_bytes(members: dict[str, np.ndarray]) -> bytes:
    """An .npz (no pickles) with fixed member timestamps, members sorted."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in sorted(members):
            arr = io.BytesIO()
            np.lib.format.write_array(arr, np.ascontiguousarray(members[name]), allow_pickle=False)
            info = zipfile.ZipInfo(name + ".npy", date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, arr.getvalue(), compresslevel=1)
    return buf.getvalue()


def _param(value, key: str, members: dict) -> object:
    a = np.asarray(value)
    if a.ndim == 0:
        v = float(a) if a.dtype.kind == "f" else int(a) if a.dtype.kind in "iu" else str(value)
        return v
    members[key] = a.astype(np.float32)
    return {"npz": key}


def network_files(module, *, steps: int) -> tuple[dict, dict[str, np.ndarray]]:
    """(network.json's object, network.npz's members) of a spinnaker2 module."""
    from .dialect import placement_op, read_network
    from .placement import _population_placement

    net, table, cap = read_network(module)
    members: dict[str, np.ndarray] = {}
    pops = []
    cpc = cap.cores_per_chip if cap is not None else 1
    for p in net.populations:
        entry: dict = {
            "name": p.name,
            "neuron_model": p.model,
            "size": p.size,
            "shape": list(p.shape),
            "role": p.role,
            "params": {k: _param(v, f"param/{p.name}/{k}", members)
                       for k, v in sorted(p.params.items())},
            "record": list(p.record),
            "max_atoms_per_core": p.max_atoms_per_core,
            "weight_scale": p.v_scale,
            "spike_gain": p.spike_gain,
            "lag": p.lag,
        }  # fmt: skip
        entry["copies"] = p.copies
        if p.role == BIAS:
            entry["start"] = p.start
        if table is not None:
            pp = _population_placement(p.name, table[p.name])
            entry["split"] = pp.split
            if not pp.split and len(pp.slices) > 1:  # py-spinnaker2's slicing = the placement
                entry["max_atoms_per_core"] = int(pp.max_atoms_per_core)  # type: ignore[arg-type]
            slices = []
            for s in pp.slices:
                item: dict = {"pe": s.pe, "chip": s.pe // cpc, "pe_on_chip": s.pe % cpc}
                if s.contiguous:
                    item["neurons"] = [int(s.neurons[0]), int(s.neurons[-1]) + 1]
                if pp.split:
                    key = f"neurons/{p.name}/{s.pe}"
                    members[key] = s.neurons.astype(np.int64)
                    item["neurons"] = {"npz": key}
                slices.append(item)
            entry["slices"] = slices
        else:
            entry["split"] = False
        pops.append(entry)
    projections = []
    for pr in net.projections:
        if net.is_conv2d(pr):
            key = f"conv/{pr.name}"
            members[key] = np.asarray(pr.kernel).astype(np.int8).swapaxes(0, 1).copy()
            projections.append({"name": pr.name, "type": "Conv2DProjection", "pre": pr.pre,
                                "post": pr.post, "weights": {"npz": key},
                                "conv_params": pr.conv.conv_params(),
                                "synapses": int(np.count_nonzero(pr.weights.data))})  # fmt: skip
            continue
        key = f"connections/{pr.name}"
        rows = pr.connection_list().astype(np.int32)
        members[key] = rows
        projections.append({"name": pr.name, "type": "Projection", "pre": pr.pre,
                            "post": pr.post, "connections": {"npz": key},
                            "synapses": int(len(rows)),
                            "max_delay": int(rows[:, 3].max(initial=0))})  # fmt: skip
    placement: dict = {"chips_used": 1, "pes_used": 0}
    if table is not None:
        pes = sorted({int(x) for a in table.values() for x in np.unique(a)})
        placement = {
            "pes_per_chip": cap.cores_per_chip,
            "chips_available": cap.chips,
            "pes_used": len(pes),
            "chips_used": len({pe // cap.cores_per_chip for pe in pes}),
            "neurons_per_pe": cap.neurons_per_core,
            "memory_per_pe": cap.memory_per_core,
            "recorded_steps": cap.recorded_steps,
            **placement_op(module).figures(),  # type: ignore[union-attr]
            "note": "slices give which neurons share a PE; py-spinnaker2's mapper numbers the PEs",
        }
    spec = {
        "format": FORMAT,
        "dt": net.dt,
        "source": net.source,
        "reset": net.reset,
        "timesteps": {"per_sample": steps, "latency": net.latency,
                      "run": "T + latency chip steps for an input of T steps"},
        "populations": pops,
        "projections": projections,
        "inputs": [{"name": p.name, "shape": list(p.shape), "copies": p.copies}
                   for p in net.inputs],
        "outputs": [{"name": o.name, "population": o.population, "shape": list(o.shape),
                     "reads": o.reads, "lag": net.population(o.population).lag}
                    for o in net.outputs],
        "placement": placement,
    }  # fmt: skip
    return spec, members


def runner_source() -> str:
    """:mod:`.runner`'s text with the output guard pasted in (the script
    needs only numpy and py-spinnaker2)."""
    from nirc.targets import script_io

    text = (Path(__file__).with_name("runner.py")).read_text(encoding="utf-8")
    line = "from nirc.targets.script_io import check_output, write_npz  # noqa: E402 - nirc pastes their source here on copy\n"
    assert line in text, "runner.py lost its script_io line"
    return text.replace(line, script_io.source(), 1)


def artifacts(module, *, steps: int) -> dict[str, str | bytes]:
    spec, members = network_files(module, steps=steps)
    return {
        "network.json": json.dumps(spec, indent=1, sort_keys=False, allow_nan=False) + "\n",
        "network.npz": npz_bytes(members),
        "run_spinnaker2.py": runner_source(),
    }


__all__ = ["FORMAT", "artifacts", "network_files", "npz_bytes"]
