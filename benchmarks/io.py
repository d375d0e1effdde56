"""Front-end speed: `nirc import` as a user runs it, and IR print/parse.

Prints medians over repeats:
- `nirc import` of the paper CNN (whole command, including interpreter start-up)
  - target under 1 s;
- `nirc import` of a generated graph with 10 million parameters - target under 2 s;
- in-process read / import / print / parse of the CNN's IR, and that printing then
  parsing gives the same IR back.

Run: .venv/bin/python benchmarks/io.py
"""

from __future__ import annotations

import io
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from timing import median_time

ROOT = Path(__file__).resolve().parents[1]
CNN = ROOT / "examples" / "nmnist_cnn.nir"
NIRC = Path(sys.executable).parent / "nirc"


def cli_import(path: Path) -> None:
    subprocess.run([str(NIRC), "import", str(path), "-o", "/dev/null"], check=True)


def make_big_graph(path: Path, n_params: int = 10_000_000) -> None:
    from nirc.graph import Graph, Node
    from nirc.nirfile import write

    side = int(np.sqrt(n_params / 2))
    rng = np.random.default_rng(0)
    nodes = {
        "input": Node("input", "Input", {"shape": np.array([side])}),
        "fc1": Node(
            "fc1", "Linear", {"weight": rng.standard_normal((side, side), dtype=np.float32)}
        ),
        "lif1": Node(
            "lif1",
            "LIF",
            {
                "tau": np.full(side, 1e-2),
                "r": np.ones(side),
                "v_leak": np.zeros(side),
                "v_threshold": np.ones(side),
                "v_reset": np.zeros(side),
            },
        ),
        "fc2": Node(
            "fc2", "Linear", {"weight": rng.standard_normal((side, side), dtype=np.float32)}
        ),
        "output": Node("output", "Output", {"shape": np.array([side])}),
    }
    edges = [("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "output")]
    write(path, Graph(nodes, edges), compression=None)


def main() -> None:
    from xdsl.parser import Parser
    from xdsl.printer import Printer

    from nirc.context import make_context
    from nirc.load import load_graph, load_module

    rows = []
    t = median_time(lambda: cli_import(CNN))
    rows.append(("nirc import paper CNN (whole command)", t, 1.0))
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.nir"
        make_big_graph(big)
        t = median_time(lambda: cli_import(big), repeats=3)
        rows.append(("nirc import 10M-parameter graph (whole command)", t, 2.0))
        t = median_time(lambda: load_module(big), repeats=3)
        rows.append(("  in-process read+validate+import, 10M params", t, None))

    rows.append(
        ("read+validate+infer paper CNN (in-process)", median_time(lambda: load_graph(CNN)), None)
    )
    module = load_module(CNN)
    rows.append(
        ("import paper CNN to IR (in-process)", median_time(lambda: load_module(CNN)), None)
    )

    def print_ir() -> str:
        buf = io.StringIO()
        Printer(stream=buf).print_op(module)
        return buf.getvalue()

    text = print_ir()
    rows.append(("print paper CNN IR", median_time(print_ir), None))
    ctx = make_context()
    rows.append(("parse paper CNN IR", median_time(lambda: Parser(ctx, text).parse_module()), None))
    reparsed = Parser(ctx, text).parse_module()
    buf = io.StringIO()
    Printer(stream=buf).print_op(reparsed)
    same = buf.getvalue() == text

    print(f"{'measurement':52s} {'median':>10s} {'target':>8s}")
    for name, t, target in rows:
        tgt = f"< {target:.0f} s" if target else ""
        flag = "" if target is None else ("  ok" if t < target else "  MISSED")
        print(f"{name:52s} {t * 1000:8.1f} ms {tgt:>8s}{flag}")
    print(
        f"paper CNN IR: {len(text) / 1024:.0f} KiB of text; print -> parse -> print identical: {same}"
    )


if __name__ == "__main__":
    main()
