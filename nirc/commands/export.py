"""`nirc export model.mlir -o model.nir`: a `nir` dialect module as a NIR file."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="a .mlir module of the nir dialect (or a .nir file)")
    parser.add_argument("-o", "--output", required=True, help="the .nir file to write")
    parser.add_argument(
        "--compression",
        choices=("gzip", "none"),
        default="gzip",
        help="dataset compression (default gzip, like nir.write)",
    )
    parser.add_argument("--strict", action="store_true", help="refuse to repair imperfect files")


def run(args: argparse.Namespace) -> int:
    from nirc.load import load_graph
    from nirc.nirfile import write

    graph, _ = load_graph(args.model)
    write(args.output, graph, compression=None if args.compression == "none" else "gzip")
    print(f"wrote {args.output}")
    return 0
