"""`nirc import model.nir [-o out.mlir]`: a NIR file as `nir` dialect IR."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="a .nir file")
    parser.add_argument("-o", "--output", help="write the IR here instead of stdout")
    parser.add_argument("--generic", action="store_true", help="print the generic op syntax")
    parser.add_argument("--strict", action="store_true", help="refuse to repair imperfect files")


def run(args: argparse.Namespace) -> int:
    import io

    from xdsl.printer import Printer

    from nirc.load import load_module

    buf = io.StringIO()
    Printer(stream=buf, print_generic_format=args.generic).print_op(load_module(args.model))
    text = buf.getvalue() + "\n"
    if args.output:
        from nirc.atomic import write_text

        write_text(args.output, text)
    else:
        print(text, end="")
    return 0
