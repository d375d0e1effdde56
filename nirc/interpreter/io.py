"""Inputs and outputs of a simulation: npz files, random spikes, shape checks.

Inputs are time-major, one array per Input node keyed by its name:
``[T, *shape]`` (one sample) or ``[T, B, *shape]`` (a batch). A run's results
keep that form: ``[T, *shape]`` when the inputs had no batch axis.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nirc.atomic import atomic_path, note_input
from nirc.diagnostics import NircError
from nirc.shapes import Shape, fmt


@dataclass
class RandomSpec:
    """``random:p=0.1,T=1000,B=1,seed=0``: Bernoulli spikes on every Input."""

    p: float = 0.1
    T: int = 1000
    B: int | None = None  # None: no batch axis
    seed: int = 0


MAX_INPUT = 2.0**31  # larger per-step inputs are absurd: no count or current is that big


def is_random_spec(spec: str) -> bool:
    """Whether ``spec`` is a random-input spec (``random`` or ``random:...``), not a
    file name such as ``random_inputs.npz``."""
    return spec == "random" or spec.startswith("random:")


def parse_random(spec: str) -> RandomSpec:
    body = spec.split(":", 1)[1] if ":" in spec else ""
    out = RandomSpec()
    for item in filter(None, (s.strip() for s in body.split(","))):
        key, sep, value = item.partition("=")
        key = key.strip()
        try:
            if not sep:
                raise ValueError
            if key == "p":
                out.p = float(value)
                if not 0.0 <= out.p <= 1.0:
                    raise ValueError
            elif key == "T":
                out.T = int(value)
                if out.T < 1:
                    raise ValueError
            elif key == "B":
                out.B = int(value)
                if out.B < 1:
                    raise ValueError
            elif key == "seed":
                out.seed = int(value)
                if out.seed < 0:
                    raise ValueError
            else:
                raise KeyError(key)
        except KeyError:
            raise NircError(
                f"unknown key `{key}` in a random input",
                where=f"--input {spec}",
                expected="keys p (spike probability), T (steps), B (batch), seed",
                found=item,
            ) from None
        except ValueError:
            raise NircError(
                f"bad value for `{key}` in a random input",
                where=f"--input {spec}",
                expected="p in [0, 1], T >= 1, B >= 1, integer seed >= 0",
                found=item,
            ) from None
    return out


def random_inputs(
    shapes: dict[str, Shape], spec: RandomSpec, batch: int | None = None
) -> dict[str, np.ndarray]:
    """Bernoulli(p) spikes (0.0/1.0, as bool) for each Input, in file order,
    drawn from one generator seeded with ``spec.seed``."""
    rng = np.random.default_rng(spec.seed)
    b = spec.B if spec.B is not None else batch
    out = {}
    for name, shape in shapes.items():
        lead = (spec.T,) if b is None else (spec.T, b)
        out[name] = rng.random(lead + tuple(shape), dtype=np.float32) < spec.p
    return out


def elements(shapes: dict[str, Shape]) -> int:
    """The values of one sample-step of arrays of these shapes (per name)."""
    return sum(int(np.prod(s)) for s in shapes.values())


def machine_memory() -> int | None:
    """This machine's physical memory in bytes (None where it cannot be asked)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def check_memory(need: float, what: str, found: str, hint: str) -> None:
    """Refuse work whose arrays (``need`` bytes, estimated) exceed the machine's
    memory before allocating them: past it, the system's out-of-memory killer
    ends the process with no message (exit 137), often after minutes."""
    memory = machine_memory()
    if memory is not None and need > memory:
        raise NircError(
            f"{what} would not fit this machine's memory",
            expected=f"at most {memory / 2**30:.3g} GiB (the machine's memory)",
            found=f"{found}: about {need / 2**30:.3g} GiB",
            hint=hint,
        )


def load_npz(path: str | os.PathLike, what: str = "input",
             expected: str = "an .npz with one array per Input node, keyed by its name",
             hint: str = "save it with np.savez(path, input_name=array)",
             ) -> dict[str, np.ndarray]:  # fmt: skip
    """The named arrays of an .npz (``what``: the file's role in the messages;
    ``expected`` / ``hint``: what it should hold and how to write it)."""
    p = Path(path)
    if not p.exists():
        raise NircError(f"no such {what} file", where=str(p))
    if p.is_dir():
        raise NircError(f"the {what} path is a directory, expected an .npz file", where=str(p))
    note_input(p)
    try:
        data = np.load(p, allow_pickle=False)
        if not hasattr(data, "files"):  # a .npy (whatever its name): one bare array
            raise NircError(
                f"the {what} file holds a single array, not named arrays",
                where=str(p),
                expected=expected,
                hint=hint,
            )
        with data:
            return {k: data[k] for k in data.files}
    except NircError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise NircError(
            f"cannot read the {what} file",
            where=str(p),
            expected="an .npz written by np.savez",
            found=str(e).splitlines()[0] if str(e) else type(e).__name__,
        ) from None


def load_run_inputs(path: str | os.PathLike, shapes: dict[str, Shape]) -> dict[str, np.ndarray]:
    """An ``--input`` .npz of `nirc run` (with or without ``--target``): its
    arrays by Input name, or, for the labelled data set `nirc eval` reads, its
    samples as one batch (:func:`nirc.evaluation.as_run_inputs`)."""
    arrays = load_npz(path)
    if "labels" in arrays:  # only then the evaluation module
        from nirc.evaluation import as_run_inputs

        arrays = as_run_inputs(arrays, shapes, str(path))
    return arrays


def _expected(shapes: dict[str, Shape]) -> str:
    return ", ".join(f"`{n}`: [T, {', '.join(map(str, s))}]" for n, s in shapes.items()) or "none"


def normalize(
    inputs, shapes: dict[str, Shape], *, batch: int | None = None, where: str = "inputs"
) -> tuple[dict[str, np.ndarray], int, int, bool]:
    """Check ``inputs`` against the graph's Inputs.

    Returns (``{name: [T, B, *shape]}`` views in the caller's dtype, T, B,
    batched). ``inputs`` is a dict, or a single array when the graph has one
    Input. An input without a batch axis is shared by every sample of the
    batch (``batch`` or the others' batch size)."""
    if inputs is None:
        inputs = {}
    if not isinstance(inputs, dict):
        if len(shapes) != 1:
            raise NircError(
                f"a single input array was given but the graph has {len(shapes)} Inputs",
                where=where,
                expected=f"a dict with one array per Input: {_expected(shapes)}",
            )
        inputs = {next(iter(shapes)): inputs}
    unknown = [k for k in inputs if k not in shapes]
    missing = [k for k in shapes if k not in inputs]
    if unknown or missing:
        raise NircError(
            "the inputs do not match the graph's Input nodes",
            where=where,
            expected=_expected(shapes),
            found=", ".join(f"`{k}`" for k in inputs) or "no arrays",
            hint=(f"missing {missing}" if missing else "")
            + ("; " if missing and unknown else "")
            + (f"unknown {unknown}" if unknown else ""),
        )
    arrays: dict[str, np.ndarray] = {}
    batched: dict[str, int] = {}
    lengths = set()
    for name, shape in shapes.items():
        a = np.asarray(inputs[name])
        if a.dtype.kind not in "biuf":
            raise NircError(
                "input values must be numbers",
                where=f"{where}[{name!r}]",
                found=f"dtype {a.dtype}",
            )
        if a.dtype.kind == "f" and a.size:
            bad = ~np.isfinite(a) | (np.abs(a) > MAX_INPUT)
            if bad.any():
                k = int(np.argmax(bad.reshape(-1)))
                raise NircError(
                    "input values must be finite numbers of sensible size",
                    where=f"{where}[{name!r}]",
                    expected=f"finite values within +-{MAX_INPUT:g} (spikes or event counts "
                    "per step, or currents)",
                    found=f"{a.reshape(-1)[k]} at index "
                    f"{list(map(int, np.unravel_index(k, a.shape)))}",
                )
        shape = tuple(shape)
        if a.ndim == len(shape) + 2 and a.shape[2:] == shape:
            batched[name] = a.shape[1]
        elif not (a.ndim == len(shape) + 1 and a.shape[1:] == shape):
            raise NircError(
                f"input `{name}` has the wrong shape",
                where=f"{where}[{name!r}]",
                expected=f"[T, {', '.join(map(str, shape))}] or [T, B, {', '.join(map(str, shape))}]"
                f" (the Input's shape is {fmt(shape)})",
                found=fmt(a.shape),
            )
        lengths.add(a.shape[0])
        arrays[name] = a
    if len(lengths) > 1:
        raise NircError(
            "the inputs have different lengths",
            where=where,
            expected="the same number of steps T for every Input",
            found=", ".join(f"`{n}`: {a.shape[0]}" for n, a in arrays.items()),
        )
    sizes = set(batched.values())
    if batch is not None:
        sizes.add(batch)
    if len(sizes) > 1:
        raise NircError(
            "the inputs disagree on the batch size",
            where=where,
            expected="one batch size B",
            found=", ".join(f"`{n}`: {b}" for n, b in batched.items())
            + (f", --batch {batch}" if batch is not None else ""),
        )
    is_batched = bool(batched) or batch is not None
    b = sizes.pop() if sizes else 1
    if b < 1:
        raise NircError(
            "the inputs hold no sample (batch size 0)",
            where=where,
            expected="[T, B, *shape] with B >= 1, or [T, *shape]",
            found=", ".join(f"`{n}` {fmt(a.shape)}" for n, a in arrays.items()),
        )
    out = {}
    for name, a in arrays.items():
        if name in batched:
            out[name] = a
        else:
            out[name] = np.broadcast_to(a[:, None], (a.shape[0], b) + a.shape[1:])
    steps = lengths.pop() if lengths else 0
    return out, steps, b, is_batched


def save_npz(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` to an .npz atomically (never a half-written file)."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
