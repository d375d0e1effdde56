"""The output guard of the scripts nirc writes next to a compiled network
(``run_lava.py``, ``run_spinnaker2.py``): they need only numpy and the vendor's
package, so these functions are copied into them as source (:func:`source`),
not imported. The scripts import ``os``, ``sys`` and ``numpy as np``."""

from __future__ import annotations

import inspect
import os
import sys

import numpy as np


def check_output(path, inputs):
    """Refuse an output that is one of the inputs (same path or same file)."""
    for src in inputs:
        if os.path.abspath(path) == os.path.abspath(src) or (
                os.path.exists(path) and os.path.exists(src) and os.path.samefile(path, src)):
            sys.exit(f"error: -o {path} would overwrite the input {src}")


def write_npz(path, arrays):
    """np.savez through a temporary file beside ``path``, renamed over it:
    never a half-written file (devices and pipes are written directly)."""
    if os.path.exists(path) and not os.path.isfile(path):
        with open(path, "wb") as f:
            np.savez(f, **arrays)
        return
    tmp = os.path.join(os.path.dirname(os.path.abspath(path)), f".{os.path.basename(path)}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def source() -> str:
    """The two functions' source, to paste into a generated script."""
    return "\n\n".join(inspect.getsource(f) for f in (check_output, write_npz))
