"""Rockpool's Xylo "specification": the integer network a Xylo chip runs.

:class:`XyloSpecification` holds exactly the keys of Rockpool's specification
dictionary (what ``rockpool.devices.xylo.*.mapper`` plus quantization produce and
``XyloSim.from_specification`` / ``config_from_specification`` accept), with the
same names, shapes and integer dtypes:

============================  ======================  ==========
key                           shape                   dtype
============================  ======================  ==========
``weights_in``                (Nin, Nhid, 2)          int8
``weights_rec``               (Nhid, Nhid, 2)         int8
``weights_out``               (Nhid, Nout)            int8
``dash_mem``, ``dash_syn``,   (Nhid,)                 uint8
``dash_syn_2``
``dash_mem_out``,             (Nout,)                 uint8
``dash_syn_out``
``threshold``, ``bias``       (Nhid,)                 int16
``threshold_out``,            (Nout,)                 int16
``bias_out``
``weight_shift_in/rec/out``   scalar                  int
``aliases``                   Nhid lists, or None     int
``dt``                        scalar (seconds)        float
============================  ======================  ==========

The last axis of ``weights_in`` / ``weights_rec`` selects the hidden neuron's
synapse (current state) 1 or 2. Rockpool also allows 2-D weights (one synapse)
and ``weights_in`` narrower than Nhid; :meth:`XyloSpecification.from_dict` and the
constructor widen those to the full shapes above (zeros), so code reading a
specification sees one layout. ``bias``/``bias_out`` are int16 as in xylosim's
neuron model (Rockpool's mapper stores them in its weight dtype).

Construction checks the number formats (every value must be an integer that fits
its dtype) and raises :class:`~nirc.diagnostics.NircError` naming the field, the
index, the limit and the value; :meth:`XyloSpecification.validate` checks a
variant's rules (sizes, dash range, shifts, windows, fan-out, aliases).
"""

from __future__ import annotations

import io
import math
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from nirc.atomic import atomic_path
from nirc.diagnostics import NircError

from .spec import AUDIO2, XyloSpec

# Rockpool's key order; also the member order inside an npz file.
KEYS: tuple[str, ...] = (
    "weights_in",
    "weights_rec",
    "weights_out",
    "dash_mem",
    "dash_mem_out",
    "dash_syn",
    "dash_syn_2",
    "dash_syn_out",
    "threshold",
    "threshold_out",
    "bias",
    "bias_out",
    "weight_shift_in",
    "weight_shift_rec",
    "weight_shift_out",
    "aliases",
    "dt",
)

ARRAY_DTYPES: dict[str, type[np.integer]] = {
    "weights_in": np.int8,
    "weights_rec": np.int8,
    "weights_out": np.int8,
    "dash_mem": np.uint8,
    "dash_mem_out": np.uint8,
    "dash_syn": np.uint8,
    "dash_syn_2": np.uint8,
    "dash_syn_out": np.uint8,
    "threshold": np.int16,
    "threshold_out": np.int16,
    "bias": np.int16,
    "bias_out": np.int16,
}
HIDDEN_VECTORS = ("dash_mem", "dash_syn", "dash_syn_2", "threshold", "bias")
OUTPUT_VECTORS = ("dash_mem_out", "dash_syn_out", "threshold_out", "bias_out")
DASH_FIELDS = ("dash_mem", "dash_mem_out", "dash_syn", "dash_syn_2", "dash_syn_out")
SHIFT_FIELDS = ("weight_shift_in", "weight_shift_rec", "weight_shift_out")
WEIGHT_FIELDS = {
    "weights_in": "weight_shift_in",
    "weights_rec": "weight_shift_rec",
    "weights_out": "weight_shift_out",
}

# keys of Rockpool's mapper output that are not part of the integer network
_IGNORED_DICT_KEYS = frozenset({"mapped_graph"})
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed member timestamps: identical bytes for identical specs


def _index(idx: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(int(i)) for i in idx) + "]"


def _first(mask: np.ndarray) -> tuple[int, tuple[int, ...]]:
    """How many entries of ``mask`` are set, and the index of the first one."""
    count = int(np.count_nonzero(mask))
    first = tuple(int(i) for i in np.argwhere(mask)[0]) if count else ()
    return count, first


def _bad_entries(name: str, count: int, first: tuple[int, ...], what: str) -> str:
    more = f" (and {count - 1} more)" if count > 1 else ""
    return f"{what} at {name}{_index(first)}{more}"


def _integer_array(name: str, value: Any, dtype: type[np.integer]) -> np.ndarray:
    """``value`` as an array of ``dtype``, refusing non-integers and values that do
    not fit (no silent wrap-around)."""
    try:
        arr = np.asarray(value)
    except Exception as e:  # ragged lists and the like
        raise NircError(f"'{name}' is not an array: {e}", where=name) from None
    if arr.dtype == np.bool_:
        arr = arr.astype(np.int64)
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr) | (arr != np.round(arr))
        if bad.any():
            count, first = _first(bad)
            raise NircError(
                _bad_entries(name, count, first, "non-integer value"),
                where=f"{name}{_index(first)}",
                expected=f"an integer ({np.dtype(dtype).name})",
                found=repr(float(arr[first])),
                hint="quantize the network first (Xylo runs integers only)",
            )
    elif arr.dtype.kind not in "iu":
        raise NircError(
            f"'{name}' must hold integers",
            where=name,
            expected=f"an integer array ({np.dtype(dtype).name})",
            found=f"dtype {arr.dtype}",
        )
    check_range(name, arr, int(np.iinfo(dtype).min), int(np.iinfo(dtype).max), np.dtype(dtype).name)
    return arr.astype(dtype)


def check_range(name: str, arr: np.ndarray, lo: int, hi: int, what: str, hint: str | None = None):
    """Raise a NircError naming the first entry of ``arr`` outside ``[lo, hi]``."""
    if arr.size == 0:
        return
    bad = (arr < lo) | (arr > hi)
    if bad.any():
        count, first = _first(bad)
        raise NircError(
            _bad_entries(name, count, first, f"value outside {what} range"),
            where=f"{name}{_index(first)}",
            expected=f"{what}: {lo} <= value <= {hi}",
            found=str(arr[first].item()),
            hint=hint,
        )


def _integer_scalar(name: str, value: Any) -> int:
    arr = np.asarray(value)
    if arr.ndim != 0 or arr.dtype.kind not in "iuf" or arr.dtype == np.bool_:
        raise NircError(f"'{name}' must be one integer", where=name, found=repr(value))
    v = arr.item()
    if isinstance(v, float) and (not math.isfinite(v) or v != round(v)):
        raise NircError(f"'{name}' must be an integer", where=name, found=repr(value))
    return int(v)


def _normalize_aliases(value: Any) -> list[list[int]] | None:
    """Rockpool's aliases: one list of targets per hidden neuron, or None.

    Also accepts the npz encoding (an int array, one row per neuron, padded with -1)."""
    if value is None:
        return None
    if isinstance(value, np.ndarray) and value.ndim == 2:
        return [[int(t) for t in row if t >= 0] for row in value]
    try:
        rows = list(value)
    except TypeError:
        raise NircError(
            "'aliases' must be a list of lists (one per hidden neuron) or None",
            where="aliases",
            found=type(value).__name__,
        ) from None
    out: list[list[int]] = []
    for i, row in enumerate(rows):
        try:
            targets = [int(t) for t in np.atleast_1d(np.asarray(row)).ravel()]
        except (TypeError, ValueError):
            raise NircError(
                "alias targets must be neuron indices",
                where=f"aliases[{i}]",
                expected="a list of int",
                found=repr(row),
            ) from None
        out.append(targets)
    return out


def _widen_synapses(name: str, w: np.ndarray) -> np.ndarray:
    """2-D (one synapse) or (..., 1) weights -> (..., 2) with a zero synapse 2."""
    if w.ndim == 2:
        w = w[:, :, None]
    if w.ndim != 3 or w.shape[2] not in (1, 2):
        raise NircError(
            f"'{name}' has the wrong shape",
            where=name,
            expected="(Nin, Nhid, 2)" if name == "weights_in" else "(Nhid, Nhid, 2)",
            found=str(w.shape),
        )
    if w.shape[2] == 1:
        w = np.concatenate([w, np.zeros_like(w)], axis=2)
    return w


@dataclass(eq=False)
class XyloSpecification:
    """A Xylo network in Rockpool's specification format (see the module doc)."""

    weights_in: np.ndarray
    weights_rec: np.ndarray
    weights_out: np.ndarray
    dash_mem: np.ndarray
    dash_mem_out: np.ndarray
    dash_syn: np.ndarray
    dash_syn_2: np.ndarray
    dash_syn_out: np.ndarray
    threshold: np.ndarray
    threshold_out: np.ndarray
    bias: np.ndarray
    bias_out: np.ndarray
    weight_shift_in: int = 0
    weight_shift_rec: int = 0
    weight_shift_out: int = 0
    aliases: list[list[int]] | None = None
    dt: float = 1e-3

    def __post_init__(self) -> None:
        for name, dtype in ARRAY_DTYPES.items():
            setattr(self, name, _integer_array(name, getattr(self, name), dtype))
        self.weights_in = _widen_synapses("weights_in", self.weights_in)
        self.weights_rec = _widen_synapses("weights_rec", self.weights_rec)
        for name in SHIFT_FIELDS:
            setattr(self, name, _integer_scalar(name, getattr(self, name)))
        try:
            self.dt = float(self.dt)
        except (TypeError, ValueError):
            raise NircError(
                "'dt' must be a number of seconds", where="dt", found=repr(self.dt)
            ) from None
        self.aliases = _normalize_aliases(self.aliases)
        self._check_shapes()

    # -- shape and format rules (independent of the variant) -----------------

    @property
    def n_in(self) -> int:
        return int(self.weights_in.shape[0])

    @property
    def n_hidden(self) -> int:
        return int(self.weights_rec.shape[0])

    @property
    def n_out(self) -> int:
        return int(self.weights_out.shape[1])

    def _check_shapes(self) -> None:
        w_rec = np.asarray(self.weights_rec)
        if w_rec.ndim != 3 or w_rec.shape[0] != w_rec.shape[1] or w_rec.shape[2] != 2:
            raise NircError(
                "'weights_rec' must be square over the hidden neurons",
                where="weights_rec",
                expected="(Nhid, Nhid, 2)",
                found=str(w_rec.shape),
            )
        n_hid = w_rec.shape[0]
        w_in = np.asarray(self.weights_in)
        if w_in.ndim != 3 or w_in.shape[1:] != (n_hid, 2):
            raise NircError(
                "'weights_in' does not match the hidden population",
                where="weights_in",
                expected=f"(Nin, {n_hid}, 2) (Nhid = {n_hid} from weights_rec)",
                found=str(w_in.shape),
            )
        w_out = np.asarray(self.weights_out)
        if w_out.ndim != 2 or w_out.shape[0] != n_hid:
            raise NircError(
                "'weights_out' does not match the hidden population",
                where="weights_out",
                expected=f"({n_hid}, Nout) (Nhid = {n_hid} from weights_rec)",
                found=str(w_out.shape),
            )
        n_out = w_out.shape[1]
        for name, n, what in [(f, n_hid, "Nhid") for f in HIDDEN_VECTORS] + [
            (f, n_out, "Nout") for f in OUTPUT_VECTORS
        ]:
            shape = np.shape(getattr(self, name))
            if shape != (n,):
                raise NircError(
                    f"'{name}' needs one entry per {'hidden' if what == 'Nhid' else 'output'} neuron",
                    where=name,
                    expected=f"shape ({n},) ({what} = {n})",
                    found=f"shape {shape}",
                )
        if self.aliases is not None and len(self.aliases) != n_hid:
            raise NircError(
                "'aliases' needs one list per hidden neuron",
                where="aliases",
                expected=f"{n_hid} lists",
                found=f"{len(self.aliases)} lists",
                hint="use [] for a neuron without alias, or aliases=None to disable aliasing",
            )

    def check_formats(self, spec: XyloSpec = AUDIO2) -> None:
        """The rules every Xylo variant shares: shapes, int8/int16 ranges, dashes,
        weight shifts, alias indices and dt. The simulator needs these to hold."""
        self._check_shapes()
        for name in ("weights_in", "weights_rec", "weights_out"):
            check_range(
                name, np.asarray(getattr(self, name)), spec.weight_min, spec.weight_max, "int8"
            )
        for name in ("threshold", "threshold_out", "bias", "bias_out"):
            check_range(
                name, np.asarray(getattr(self, name)), spec.state_min, spec.state_max, "int16"
            )
        for name in DASH_FIELDS:
            check_range(
                name,
                np.asarray(getattr(self, name)),
                0,
                spec.dash_max,
                "dash (right shift)",
                hint="dash = round(log2(tau / dt)); a time constant this long is not representable",
            )
        for name in SHIFT_FIELDS:
            shift = getattr(self, name)
            if not 0 <= shift <= spec.weight_shift_max:
                raise NircError(
                    f"weight bit shift outside the chip's range in '{name}'",
                    where=name,
                    expected=f"0 <= {name} <= {spec.weight_shift_max}",
                    found=str(shift),
                )
        # A shifted weight must fit the int16 synaptic state (xylosim truncates it).
        for name, shift_name in WEIGHT_FIELDS.items():
            shift = getattr(self, shift_name)
            if shift > spec.state_bits - spec.weight_bits:
                w = np.asarray(getattr(self, name)).astype(np.int64) << shift
                check_range(
                    f"{name} << {shift_name}",
                    w,
                    spec.state_min,
                    spec.state_max,
                    "int16",
                    hint=f"lower {shift_name} or the weights",
                )
        if not (math.isfinite(self.dt) and self.dt > 0):
            raise NircError(
                "'dt' must be a positive number of seconds", where="dt", found=repr(self.dt)
            )
        if self.aliases is not None:
            n_hid = self.n_hidden
            for i, targets in enumerate(self.aliases):
                for t in targets:
                    if not 0 <= t < n_hid:
                        raise NircError(
                            f"alias target of hidden neuron {i} does not exist",
                            where=f"aliases[{i}]",
                            expected=f"a hidden neuron index 0 <= target < {n_hid}",
                            found=str(t),
                        )

    # -- a variant's rules -----------------------------------------------------

    def validate(self, spec: XyloSpec) -> None:
        """Check every rule of variant ``spec``; raise NircError on the first
        violation, naming the field, the index, the limit and the value found."""
        self.check_formats(spec)
        n_in, n_hid, n_out = self.n_in, self.n_hidden, self.n_out
        for count, limit, what, field_name in (
            (n_in, spec.input_channels, "input channels", "weights_in"),
            (n_hid, spec.hidden_neurons, "hidden neurons", "weights_rec"),
            (n_out, spec.output_neurons, "output neurons", "weights_out"),
        ):
            if count > limit:
                raise NircError(
                    f"too many {what} for {spec.title}",
                    where=field_name,
                    expected=f"at most {limit} {what} ({spec.name})",
                    found=f"{count} {what}",
                    hint="shrink the network or choose a larger Xylo variant",
                )
        w_in, w_rec, w_out = (
            np.asarray(x) for x in (self.weights_in, self.weights_rec, self.weights_out)
        )
        if spec.synapses_per_hidden < 2:
            for name, w in (("weights_in", w_in), ("weights_rec", w_rec)):
                count, first = _first(w[:, :, 1] != 0)
                if count:
                    raise NircError(
                        _bad_entries(
                            name, count, first + (1,), f"{spec.title} has no synapse 2: weight"
                        ),
                        where=f"{name}{_index(first + (1,))}",
                        expected=f"{spec.synapses_per_hidden} synapse per hidden neuron: {name}[..., 1] == 0",
                        found=str(int(w[first + (1,)])),
                        hint="merge the two synaptic time constants, or target a variant with 2 synapses",
                    )
        if spec.input_window is not None and n_hid > spec.input_window:
            count, first = _first(w_in[:, spec.input_window :, :] != 0)
            if count:
                idx = (first[0], first[1] + spec.input_window, first[2])
                raise NircError(
                    _bad_entries("weights_in", count, idx, "input weight outside the input window"),
                    where=f"weights_in{_index(idx)}",
                    expected=f"input weights target only hidden neurons 0..{spec.input_window - 1} on {spec.title}",
                    found=f"weight {int(w_in[idx])} onto hidden neuron {idx[1]}",
                    hint="place the neurons fed by inputs first in the hidden population",
                )
        if spec.output_window is not None and n_hid > spec.output_window:
            start = n_hid - spec.output_window
            count, first = _first(w_out[:start, :] != 0)
            if count:
                raise NircError(
                    _bad_entries(
                        "weights_out", count, first, "output weight outside the output window"
                    ),
                    where=f"weights_out{_index(first)}",
                    expected=f"output weights come only from the last {spec.output_window} hidden neurons "
                    f"({start}..{n_hid - 1}) on {spec.title}",
                    found=f"weight {int(w_out[first])} from hidden neuron {first[0]}",
                    hint="place the neurons feeding outputs last in the hidden population",
                )
        fan_out = np.count_nonzero(np.any(w_rec != 0, axis=2), axis=1)
        count, first = _first(fan_out > spec.max_fan_out)
        if count:
            i = first[0]
            raise NircError(
                _bad_entries("weights_rec", count, first, "fan-out above the chip's limit"),
                where=f"weights_rec[{i}]",
                expected=f"at most {spec.max_fan_out} recurrent targets per hidden neuron ({spec.name})",
                found=f"hidden neuron {i} targets {int(fan_out[i])} neurons",
                hint="split the neuron into copies joined by an alias, or prune its weights",
            )
        if self.aliases is not None:
            for i, targets in enumerate(self.aliases):
                if len(targets) > spec.max_alias_targets:
                    raise NircError(
                        f"hidden neuron {i} has too many alias targets",
                        where=f"aliases[{i}]",
                        expected=f"at most {spec.max_alias_targets} alias target per hidden neuron",
                        found=f"{len(targets)} targets {targets}",
                    )

    # -- conversions -------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Rockpool's specification dictionary (``XyloSim.from_specification(**d)``)."""
        d: dict[str, Any] = {k: getattr(self, k) for k in KEYS}
        d["aliases"] = None if self.aliases is None else [list(a) for a in self.aliases]
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> XyloSpecification:
        """From Rockpool's dictionary (mapper + quantizer output).

        Missing ``weights_rec`` / ``bias`` / ``bias_out`` / ``dash_syn_2`` default to
        zeros as in Rockpool; ``weights_in`` narrower than Nhid targets the first
        hidden neurons and ``weights_out`` shorter than Nhid comes from the last
        ones (Rockpool's input/output expansion neurons)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known - _IGNORED_DICT_KEYS)
        if unknown:
            raise NircError(
                "unknown key(s) in Xylo specification: " + ", ".join(unknown),
                where="specification",
                expected="Rockpool's keys: " + ", ".join(KEYS),
            )
        args = {k: d[k] for k in known if k in d and d[k] is not None}
        missing = [k for k in ("weights_in", "weights_out") if k not in args]
        if missing:
            raise NircError(
                "missing key(s) in Xylo specification: " + ", ".join(missing), where="specification"
            )
        w_in = np.asarray(args["weights_in"])
        w_out = np.asarray(args["weights_out"])
        if "weights_rec" in args:
            n_hid = int(np.shape(args["weights_rec"])[0])
        else:
            n_hid = max(
                w_in.shape[1] if w_in.ndim >= 2 else 0, w_out.shape[0] if w_out.ndim == 2 else 0
            )
            args["weights_rec"] = np.zeros((n_hid, n_hid, 2), np.int8)
        if w_in.ndim >= 2 and w_in.shape[1] < n_hid:
            pad = np.zeros((w_in.shape[0], n_hid - w_in.shape[1]) + w_in.shape[2:], w_in.dtype)
            args["weights_in"] = np.concatenate([w_in, pad], axis=1)
        if w_out.ndim == 2 and w_out.shape[0] < n_hid:
            pad = np.zeros((n_hid - w_out.shape[0], w_out.shape[1]), w_out.dtype)
            args["weights_out"] = np.concatenate([pad, w_out], axis=0)
        n_out = int(np.shape(args["weights_out"])[1]) if np.ndim(args["weights_out"]) == 2 else 0
        for name in ("bias", "dash_syn_2"):
            args.setdefault(name, np.zeros(n_hid, np.int64))
        args.setdefault("bias_out", np.zeros(n_out, np.int64))
        missing = [k for k in ARRAY_DTYPES if k not in args]
        if missing:
            raise NircError(
                "missing key(s) in Xylo specification: " + ", ".join(missing), where="specification"
            )
        return cls(**args)

    def _npz_members(self) -> dict[str, np.ndarray]:
        """The arrays of the npz encoding, in Rockpool's key order."""
        members: dict[str, np.ndarray] = {}
        for k in KEYS:
            if k in ARRAY_DTYPES:
                members[k] = np.ascontiguousarray(
                    np.asarray(getattr(self, k)).astype(ARRAY_DTYPES[k])
                )
            elif k in SHIFT_FIELDS:
                members[k] = np.array(getattr(self, k), dtype=np.int64)
            elif k == "dt":
                members[k] = np.array(self.dt, dtype=np.float64)
            elif k == "aliases" and self.aliases is not None:
                width = max((len(a) for a in self.aliases), default=0)
                table = np.full((len(self.aliases), width), -1, dtype=np.int32)
                for i, targets in enumerate(self.aliases):
                    table[i, : len(targets)] = targets
                members[k] = table
        return members

    def to_npz(self, path: str | Path) -> None:
        """Write an ``.npz`` readable by ``numpy.load`` (no pickles), atomically.

        One member per key, in Rockpool's key order, with the dtypes above; the
        scalars are 0-d arrays (``weight_shift_*`` int64, ``dt`` float64).
        ``aliases`` is an int32 array (Nhid, K), row i listing neuron i's alias
        targets padded with -1 (K = the longest list, possibly 0); the member is
        absent when ``aliases`` is None. Member timestamps are fixed, so the same
        specification always gives byte-identical files. The path is used as
        given (no ``.npz`` is appended)."""
        self.check_formats()
        members = self._npz_members()
        with atomic_path(path) as tmp:
            with zipfile.ZipFile(tmp, "w") as zf:
                for name, arr in members.items():
                    buf = io.BytesIO()
                    np.lib.format.write_array(buf, arr, allow_pickle=False)
                    info = zipfile.ZipInfo(name + ".npy", date_time=_ZIP_DATE)
                    info.compress_type = zipfile.ZIP_DEFLATED
                    info.external_attr = 0o644 << 16
                    zf.writestr(info, buf.getvalue(), compresslevel=6)

    @classmethod
    def from_npz(cls, path: str | Path) -> XyloSpecification:
        """Read a file written by :meth:`to_npz` (or any npz holding Rockpool's keys)."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as z:
                data = {k: z[k] for k in z.files}
        except FileNotFoundError:
            raise NircError("no such file", where=str(path)) from None
        except (OSError, ValueError, zipfile.BadZipFile) as e:
            raise NircError(
                f"not a readable Xylo specification npz file: {e}",
                where=str(path),
                hint="write it with XyloSpecification.to_npz",
            ) from None
        if "aliases" not in data:
            data["aliases"] = None
        try:
            return cls.from_dict(data)
        except NircError as e:
            where = f"{path}:{e.where}" if e.where else str(path)
            raise NircError(
                e.message, where=where, expected=e.expected, found=e.found, hint=e.hint
            ) from None

    # -- test support --------------------------------------------------------------

    @classmethod
    def random(
        cls,
        spec: XyloSpec,
        n_in: int,
        n_hid: int,
        n_out: int,
        rng: np.random.Generator,
        *,
        in_density: float = 0.5,
        rec_density: float = 0.05,
        out_density: float = 0.5,
        weight_shifts: tuple[int, int, int] | None = None,
        threshold_range: tuple[int, int] = (1, 4096),
        dash_range: tuple[int, int] = (0, 15),
        bias: bool = True,
        alias_fraction: float = 0.0,
        dt: float = 1e-3,
    ) -> XyloSpecification:
        """A random specification that passes ``validate(spec)``: weights respect
        the input/output windows, the fan-out limit and the synapse count; thresholds
        are drawn from ``threshold_range``; a fraction of hidden neurons gets one
        alias target each. For tests and benchmarks."""
        if n_in > spec.input_channels or n_hid > spec.hidden_neurons or n_out > spec.output_neurons:
            raise ValueError(f"size ({n_in}, {n_hid}, {n_out}) does not fit {spec.name}")

        def weights(shape: tuple[int, ...], density: float) -> np.ndarray:
            w = rng.integers(spec.weight_min, spec.weight_max + 1, size=shape)
            return np.where(rng.random(shape) < density, w, 0).astype(np.int8)

        n_syn = spec.synapses_per_hidden
        w_in = np.zeros((n_in, n_hid, 2), np.int8)
        in_cols = n_hid if spec.input_window is None else min(n_hid, spec.input_window)
        w_in[:, :in_cols, :n_syn] = weights((n_in, in_cols, n_syn), in_density)
        w_rec = np.zeros((n_hid, n_hid, 2), np.int8)
        w_rec[:, :, :n_syn] = weights((n_hid, n_hid, n_syn), rec_density)
        for i in np.flatnonzero(
            np.count_nonzero(np.any(w_rec != 0, axis=2), axis=1) > spec.max_fan_out
        ):
            targets = np.flatnonzero(np.any(w_rec[i] != 0, axis=1))
            drop = rng.choice(targets, size=targets.size - spec.max_fan_out, replace=False)
            w_rec[i, drop, :] = 0
        w_out = np.zeros((n_hid, n_out), np.int8)
        out_rows = n_hid if spec.output_window is None else min(n_hid, spec.output_window)
        w_out[n_hid - out_rows :, :] = weights((out_rows, n_out), out_density)
        if weight_shifts is None:
            weight_shifts = tuple(int(s) for s in rng.integers(0, 5, size=3))

        def dashes(n: int) -> np.ndarray:
            return rng.integers(dash_range[0], dash_range[1] + 1, size=n).astype(np.uint8)

        def thresholds(n: int) -> np.ndarray:
            return rng.integers(threshold_range[0], threshold_range[1] + 1, size=n).astype(np.int16)

        def biases(n: int) -> np.ndarray:
            if not bias:
                return np.zeros(n, np.int16)
            return np.where(rng.random(n) < 0.3, rng.integers(-64, 65, size=n), 0).astype(np.int16)

        aliases = None
        if alias_fraction > 0:
            aliases = [[] for _ in range(n_hid)]
            n_alias = int(round(alias_fraction * n_hid))
            sources = rng.choice(n_hid, size=min(n_alias, n_hid), replace=False)
            for s in sources:
                aliases[int(s)] = [int(rng.integers(n_hid))]
        return cls(
            weights_in=w_in,
            weights_rec=w_rec,
            weights_out=w_out,
            dash_mem=dashes(n_hid),
            dash_mem_out=dashes(n_out),
            dash_syn=dashes(n_hid),
            dash_syn_2=dashes(n_hid) if n_syn > 1 else np.zeros(n_hid, np.uint8),
            dash_syn_out=dashes(n_out),
            threshold=thresholds(n_hid),
            threshold_out=thresholds(n_out),
            bias=biases(n_hid),
            bias_out=biases(n_out),
            weight_shift_in=weight_shifts[0],
            weight_shift_rec=weight_shifts[1],
            weight_shift_out=weight_shifts[2],
            aliases=aliases,
            dt=dt,
        )
