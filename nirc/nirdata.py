"""NIRData files (nir 1.0.8's data format): simulation inputs in, outputs and probes out.

The format (``nir.write_data`` / ``nir.read_data``) is an HDF5 file whose root
has the attribute ``__type__ = "NIRGraphData"`` and a group ``nodes``; each
node is a group of ``__type__`` ``NIRNodeData`` (with a group ``observables``)
or ``NIRGraphData`` (a nested graph, with its own ``nodes``). An observable
is one of:

- ``TimeGriddedData``: dataset ``data`` ``[samples, steps, neurons]`` and
  attribute ``dt``: spikes (bool or counts) or a real-valued signal;
- ``EventData``: datasets ``idx`` and ``time`` ``[samples, events]`` (``-1`` /
  ``inf`` pad), attributes ``n_neurons`` and ``t_max``;
- ``ValuedEventData``: the same plus ``value``.

Reading inputs (:func:`read_inputs`): each graph Input is the node of its name
(dotted names reach into nested graph data), holding one observable (or one
called ``spikes``); time-gridded data must have the simulation's ``dt``;
events are binned into steps of ``dt`` (``floor(time / dt)``, several events
of one neuron in one step count). Neurons are the Input's elements in C order.

Writing (:func:`write_outputs`): every Output and probe becomes node data
keyed by node name: a probe ``lif1.v`` is observable ``v`` of node ``lif1``,
a node's or Output's own value is observable ``spikes`` when it holds spike
counts, else ``value``. Spikes are ``EventData`` (a count of n is n events in
the middle of the step: ``(t + 1/2) dt``, which any ``floor(time / dt)``
binning, nir's own included, puts back in step t) or, with ``spikes="grid"``, ``TimeGriddedData``; real values
are ``TimeGriddedData`` (float64). Every observable records ``dt``.

Files are read with the bounds of :mod:`nirc.nirfile` (no links out of the
file, no dataset larger than the byte limit) and written atomically.
"""

from __future__ import annotations

import io
import math
import os
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from nirc.atomic import note_input, write_bytes
from nirc.diagnostics import NircError

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
Shape = tuple[int, ...]


def is_nirdata(path: str | os.PathLike) -> bool:
    """Whether ``path`` is an HDF5 file (NIRData) rather than an .npz."""
    try:
        with open(path, "rb") as f:
            return f.read(8) == HDF5_MAGIC
    except OSError:
        return False


# ----------------------------------------------------------------------------
# reading


def _err(path: Path, where: str, message: str, **kw: Any) -> NircError:
    return NircError(message, where=f"{path}:{where}", **kw)


def _member(group: h5py.Group, name: str, path: Path, where: str):
    """A child that lives in this file (hard link), else a NircError."""
    link = group.get(name, getlink=True)
    if link is None:
        return None
    if not isinstance(link, h5py.HardLink):
        raise _err(path, f"{where}/{name}", "links out of the file are not read",
                   found=type(link).__name__, expected="an object stored in the file")  # fmt: skip
    return group[name]


def _dataset(group: h5py.Group, name: str, path: Path, where: str, limit: int) -> np.ndarray:
    ds = _member(group, name, path, where)
    if not isinstance(ds, h5py.Dataset):
        raise _err(path, f"{where}/{name}", "missing dataset", expected=f"a dataset `{name}`",
                   found="nothing" if ds is None else type(ds).__name__)  # fmt: skip
    if ds.dtype.kind not in "biuf" or ds.is_virtual or ds.external:
        raise _err(path, f"{where}/{name}", "not a plain numeric dataset",
                   expected="numbers stored in the file", found=str(ds.dtype))  # fmt: skip
    size = math.prod(ds.shape or ()) * ds.dtype.itemsize
    if size > limit:
        raise _err(path, f"{where}/{name}", "dataset too large",
                   expected=f"at most {limit:,} bytes (NIRC_MAX_DATASET_BYTES)",
                   found=f"{size:,} bytes")  # fmt: skip
    return np.asarray(ds[()])


def _attr(obj, key: str, path: Path, where: str) -> float:
    if key not in obj.attrs:
        raise _err(path, where, f"missing attribute `{key}`")
    value = np.asarray(obj.attrs[key])
    if value.size != 1 or value.dtype.kind not in "iuf" or not np.isfinite(value).all():
        raise _err(path, where, f"attribute `{key}` must be one finite number",
                   found=repr(value.tolist()))  # fmt: skip
    return float(value.reshape(-1)[0])


def _type(obj) -> str:
    t = obj.attrs.get("__type__")
    return t.decode() if isinstance(t, bytes) else str(t)


def _node_group(root: h5py.Group, name: str, path: Path):
    """The NIRNodeData group of ``name`` (plain, or dotted into nested graph data)."""
    group, where = root, ""
    parts = name.split(".")
    i = 0
    while i < len(parts):
        nodes = _member(group, "nodes", path, where or "/")
        if not isinstance(nodes, h5py.Group):
            return None
        # the longest dotted prefix naming a node at this level (names may hold dots)
        for j in range(len(parts), i, -1):
            key = ".".join(parts[i:j])
            child = _member(nodes, key, path, f"{where}/nodes") if key in nodes else None
            if isinstance(child, h5py.Group):
                where = f"{where}/nodes/{key}"
                if j == len(parts):
                    return child if _type(child) == "NIRNodeData" else None
                if _type(child) != "NIRGraphData":
                    return None
                group, i = child, j
                break
        else:
            return None
    return None


def _observable(group: h5py.Group, name: str, path: Path, where: str, limit: int, dt, n: int):
    """One observable as counts/values [samples, steps, n], and its dt (None for events)."""
    kind = _type(group)
    if kind == "TimeGriddedData":
        data = _dataset(group, "data", path, where, limit)
        if data.ndim != 3:
            raise _err(path, f"{where}/data", "time-gridded data must be [samples, steps, neurons]",
                       found=f"shape {list(data.shape)}")  # fmt: skip
        return data, _attr(group, "dt", path, where)
    if kind in ("EventData", "ValuedEventData"):
        idx = _dataset(group, "idx", path, where, limit)
        time = _dataset(group, "time", path, where, limit)
        value = _dataset(group, "value", path, where, limit) if kind == "ValuedEventData" else None
        t_max = _attr(group, "t_max", path, where)
        if idx.shape != time.shape or idx.ndim != 2 or (value is not None and value.shape != idx.shape):
            raise _err(path, where, "event arrays must share one [samples, events] shape",
                       found=f"idx {list(idx.shape)}, time {list(time.shape)}")  # fmt: skip
        if dt is None:
            raise _err(path, where, "events need the simulation's time step to be binned",
                       hint="pass --dt (seconds per step)")  # fmt: skip
        steps = int(math.floor(t_max / dt + 1e-9))
        if not 0 < steps <= 10**8:
            raise _err(path, where, "t_max / dt gives no sensible number of steps",
                       found=f"t_max {t_max:g} s, dt {dt:g} s")  # fmt: skip
        real = idx >= 0
        if np.any(idx[real] >= n) or np.any(~np.isfinite(time[real])) or np.any(time[real] < 0):
            raise _err(path, where, "events outside the Input",
                       expected=f"indices in 0..{n - 1}, finite times >= 0")  # fmt: skip
        out = np.zeros((idx.shape[0], steps, n), np.float64 if value is not None else np.int64)
        s, e = np.nonzero(real)
        step = np.minimum(np.floor(time[s, e] / dt + 1e-9).astype(np.int64), steps - 1)
        np.add.at(out, (s, step, idx[s, e]), 1 if value is None else value[s, e])
        return out, None
    raise _err(path, where, f"unknown observable type {kind!r}",
               expected="TimeGriddedData, EventData or ValuedEventData")  # fmt: skip


def read_inputs(
    path: str | os.PathLike, shapes: dict[str, Shape], dt: float | None
) -> dict[str, np.ndarray]:
    """``{Input name: [T, B, *shape]}`` from a NIRData file (see the module docstring)."""
    from nirc.nirfile import max_dataset_bytes

    p = Path(path)
    note_input(p)
    limit = max_dataset_bytes()
    try:
        f = h5py.File(p, "r", locking=False)
    except (OSError, ValueError) as e:
        raise NircError("cannot read the NIRData file", where=str(p), found=str(e)) from None
    with f:
        if _type(f) != "NIRGraphData":
            raise NircError("not a NIRData file", where=str(p),
                            expected="an HDF5 file written by nir.write_data (root NIRGraphData)",
                            found=f"root __type__ {_type(f)!r}")  # fmt: skip
        out: dict[str, np.ndarray] = {}
        for name, shape in shapes.items():
            node = _node_group(f, name, p)
            if node is None:
                raise NircError("the NIRData file has no data for an Input", where=str(p),
                                expected=f"node data for {', '.join(map(repr, shapes))}",
                                found=f"nodes {sorted(f['nodes'].keys()) if 'nodes' in f else []}")  # fmt: skip
            obs = _member(node, "observables", p, name)
            names = sorted(obs.keys()) if isinstance(obs, h5py.Group) else []
            pick = ["spikes"] if "spikes" in names else names
            if len(pick) != 1:
                raise NircError("cannot tell which observable is the input", where=f"{p}:{name}",
                                expected="one observable, or one called `spikes`",
                                found=f"observables {names}")  # fmt: skip
            n = math.prod(shape)
            data, data_dt = _observable(obs[pick[0]], pick[0], p, f"{name}/{pick[0]}", limit, dt, n)
            if data.shape[2] != n:
                raise NircError("the data does not fit the Input", where=f"{p}:{name}",
                                expected=f"{n} neurons (shape {list(shape)})",
                                found=f"{data.shape[2]} neurons")  # fmt: skip
            if data_dt is not None and dt is not None and not math.isclose(data_dt, dt, rel_tol=1e-9):
                raise NircError("the data's time step differs from the simulation's",
                                where=f"{p}:{name}", expected=f"dt = {dt:g} s",
                                found=f"dt = {data_dt:g} s", hint="pass --dt to match the data")  # fmt: skip
            out[name] = np.ascontiguousarray(data.transpose(1, 0, 2)).reshape(
                (data.shape[1], data.shape[0]) + tuple(shape)
            )
        return out


# ----------------------------------------------------------------------------
# writing


def _split(key: str, nodes: set[str]) -> tuple[str, str | None]:
    """A result key -> (node, state): ``lif1.v`` -> (lif1, v) when lif1 is a node."""
    if key in nodes:
        return key, None
    node, _, state = key.rpartition(".")
    return (node, state) if node in nodes else (key, None)


def write_outputs(
    path: str | os.PathLike,
    results: dict[str, np.ndarray],
    dt: float,
    *,
    nodes: set[str],
    spikes: str = "events",
    batched: bool = True,
) -> None:
    """Write ``results`` (``{key: [T, B, *shape]}``, or ``[T, *shape]`` unbatched) as
    NIRData (see the module docstring); ``nodes`` names the graph's nodes, so that
    ``lif1.v`` is told apart from a node called ``lif1.v``."""
    if spikes not in ("events", "grid"):
        raise NircError("unknown spike format", expected="events or grid", found=spikes)
    grouped: dict[str, dict[str, np.ndarray]] = {}
    for key, arr in results.items():
        a = np.asarray(arr)
        if not batched:
            a = a[:, None]
        node, state = _split(key, nodes)
        a = a.reshape(a.shape[0], a.shape[1], -1).transpose(1, 0, 2)  # [B, T, n]
        is_counts = state is None and (a.dtype.kind in "biu" or bool(np.all(a == np.round(a)) and
                                                                      np.all(a >= 0)))  # fmt: skip
        name = state or ("spikes" if is_counts else "value")
        grouped.setdefault(node, {})[name] = a
    buf = io.BytesIO()
    with h5py.File(buf, "w", track_order=True) as f:
        f.attrs["__type__"] = "NIRGraphData"
        top = f.create_group("nodes", track_order=True)
        for node in sorted(grouped):
            g = top.create_group(node, track_order=True)
            g.attrs["__type__"] = "NIRNodeData"
            obs = g.create_group("observables", track_order=True)
            for name in sorted(grouped[node]):
                a = grouped[node][name]
                og = obs.create_group(name)
                if name == "spikes" and spikes == "events":
                    _write_events(og, a, dt)
                else:
                    og.attrs["__type__"] = "TimeGriddedData"
                    data = a.astype(np.int64 if name == "spikes" else np.float64)
                    og.create_dataset("data", data=data, track_times=False)
                    og.attrs["dt"] = float(dt)
    write_bytes(path, buf.getvalue())


def _write_events(group: h5py.Group, counts: np.ndarray, dt: float) -> None:
    """Spike counts [B, T, n] as EventData: a count of k is k events mid-step."""
    counts = np.rint(counts).astype(np.int64)
    samples, steps, n = counts.shape
    per: list[tuple[np.ndarray, np.ndarray]] = []
    for b in range(samples):
        t, i = np.nonzero(counts[b])
        reps = counts[b][t, i]
        per.append((np.repeat(i, reps), (np.repeat(t, reps) + 0.5) * dt))
    width = max((len(i) for i, _ in per), default=0)
    idx = np.full((samples, width), -1, np.int64)
    time = np.full((samples, width), np.inf, np.float64)
    for b, (i, t) in enumerate(per):
        idx[b, : len(i)] = i
        time[b, : len(t)] = t
    group.attrs["__type__"] = "EventData"
    group.create_dataset("idx", data=idx, track_times=False)
    group.create_dataset("time", data=time, track_times=False)
    group.attrs["n_neurons"] = int(n)
    group.attrs["t_max"] = float(steps * dt)
    group.attrs["dt"] = float(dt)


__all__ = ["is_nirdata", "read_inputs", "write_outputs"]
