"""`nirc targets`: the chips nirc compiles for, with their limits and the
published figures their energy and latency estimates use, each with its
source (see docs/estimates.md)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", help="show only this target")


def run(args: argparse.Namespace) -> int:
    from nirc.targets import TARGETS, get_target

    names = [args.name] if args.name else list(TARGETS)
    for i, name in enumerate(names):
        target = get_target(name)
        if i:
            print()
        print(f"{target.name}: {target.description}")
        rows = target.limits()
        width = max(len(k) for k, _ in rows)
        for what, value in rows:
            print(f"  {what:<{width}}  {value}")
    return 0
