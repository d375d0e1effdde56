"""`nirc opt`: run passes over a .nir or .mlir file (an xdsl-opt-style driver).

    nirc opt model.nir -p nir-infer-shapes,canonicalize,dce -o out.mlir
    nirc opt model.mlir -p 'canonicalize' --verify-each --print-ir-after-all
    nirc opt invalid.mlir --verify-diagnostics --split-input-file

A .nir input is read, validated and imported with its shapes inferred (the
repairs of SEMANTICS.md warn, and fail under ``--strict``); a .mlir input (or
``-`` for stdin) is parsed as is. The module is verified before and after the
pipeline (and between passes with ``--verify-each``). Parse and verification
errors become :class:`~nirc.diagnostics.NircError` (exit 2, no traceback; the
annotated IR is shown). The output is the IR (custom syntax, or generic with
``--print-generic``) on stdout or in ``-o out.mlir``, or a NIR file with
``-o out.nir``; files appear atomically.

``-p`` takes xDSL's pipeline syntax: ``pass1,pass2{option=value other=value}``
(options may also be separated by commas, and values such as file names need
no quotes: ``quantize{calibrate=inputs.npz,bits=8}``).

``--timing`` prints each pass's wall time (stderr). ``--check-equivalence``
simulates the module before and after the pipeline on random spike inputs
(``--seeds``, ``--steps``, ``--rate``) with the reference interpreter of each
level and prints the fraction of equal output entries (stderr) as
``agreement: 0.9993``; outputs holding integers of a quantized network's
non-spiking neurons are dequantized with the Output's ``scale`` and count as
equal within 1% of the float output's largest magnitude. The exit code is 0
when the pipeline is exact and the agreement is 1.0, or when the pipeline
quantizes and the agreement reaches ``--min-agreement`` (default 0.95); 1
otherwise. The `nir` side is simulated with the ``dt``/integrator/reset of
the `snn` side (from `discretize`), else with ``--dt`` or the graph's metadata.

For lit tests: ``--verify-diagnostics`` prints a verification error on stdout
and exits 0 (``--parsing-diagnostics`` does the same for syntax errors), and
``--split-input-file`` treats each ``// -----`` separated chunk as its own
module.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

SPLIT_MARKER = "// -----"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from nirc.passes import all_passes
    from nirc.profiles import SOURCES

    parser.add_argument("input", help="a .nir file, a .mlir file, or - to read MLIR from stdin")
    parser.add_argument(
        "-p",
        "--passes",
        default="",
        metavar="PIPELINE",
        help="passes to run, e.g. 'canonicalize,dce' (options: 'pass{opt=val}'); "
        f"known passes: {', '.join(all_passes())}",
    )
    parser.add_argument(
        "-o", "--output", help="write the result here (.mlir: IR text, .nir: a NIR file)"
    )
    parser.add_argument(
        "--print-ir-after-all", action="store_true", help="print the IR after every pass (stderr)"
    )
    parser.add_argument("--verify-each", action="store_true", help="verify the IR after every pass")
    parser.add_argument("--print-generic", action="store_true", help="print the generic op syntax")
    parser.add_argument("--strict", action="store_true", help="refuse to repair imperfect files")
    parser.add_argument(
        "--verify-diagnostics",
        action="store_true",
        help="print a verification error on stdout and exit 0 (for lit tests)",
    )
    parser.add_argument(
        "--parsing-diagnostics",
        action="store_true",
        help="print a syntax error on stdout and exit 0 (for lit tests)",
    )
    parser.add_argument(
        "--timing", action="store_true", help="print each pass's wall time (stderr)"
    )
    parser.add_argument(
        "--check-equivalence",
        action="store_true",
        help="simulate before and after the pipeline on random spikes and print the "
        "output agreement; exit 1 when it is below what the pipeline promises",
    )
    parser.add_argument(
        "--seeds", type=int, default=5, help="random inputs for --check-equivalence"
    )
    parser.add_argument("--steps", type=int, default=300, help="steps per random input")
    parser.add_argument(
        "--rate", type=float, default=0.1, help="spike probability per input and step"
    )
    parser.add_argument(
        "--min-agreement",
        type=float,
        default=0.95,
        help="agreement a quantizing pipeline must reach (default 0.95)",
    )
    parser.add_argument(
        "--dt", type=float, help="time step for --check-equivalence at the nir level"
    )
    parser.add_argument(
        "--source",
        metavar="FRAMEWORK[:KEY=VALUE,...]",
        help="the framework that exported the file: `discretize` in the pipeline reads it "
        f"as that framework computed it ({', '.join(SOURCES)}, with options such as "
        "sinabs:min_v_mem=-1; same as discretize{source=...}; docs/profiles.md)",
    )
    parser.add_argument(
        "--split-input-file",
        action="store_true",
        help=f"process each '{SPLIT_MARKER}' separated chunk of a .mlir input on its own",
    )


class _Reported(Exception):
    """A diagnostic already printed in --verify/--parsing-diagnostics mode."""


def run(args: argparse.Namespace) -> int:
    from nirc.context import make_context
    from nirc.diagnostics import NircError

    pipeline = build_pipeline(args.passes, args)
    ctx = make_context()
    outputs: list[str] = []
    modules = []
    code = 0
    check = bool(getattr(args, "check_equivalence", False))
    if check and args.split_input_file:
        raise NircError("--check-equivalence applies to a single module (no --split-input-file)")
    for chunk in _load(args, ctx):
        try:
            module = chunk()
            _verify(module, args, "the input")
            before = module.clone() if check else None
            pipeline.apply(ctx, module)
            _verify(module, args, "the pipeline's result")
        except _Reported:
            outputs.append("")
            continue
        modules.append(module)
        outputs.append(_print(module, args.print_generic))
        if check:
            code = max(code, _check(before, module, pipeline, args))
    if getattr(args, "timing", False):
        _print_timing(getattr(args, "_timings", []))
    out = args.output
    if out and Path(out).suffix == ".nir":
        if len(modules) != 1 or len(outputs) != 1:
            raise NircError(
                "a .nir output holds one graph",
                expected="a single module (no --split-input-file chunks, no failed chunk)",
                found=f"{len(outputs)} chunk(s)",
            )
        from nirc.convert import export_module
        from nirc.nirfile import write

        write(out, export_module(modules[0]))  # atomic
        return code
    text = f"{SPLIT_MARKER}\n".join(outputs)
    if out:
        from nirc.atomic import write_text

        write_text(out, text)
    else:
        sys.stdout.write(text)
    return code


def _print_timing(timings: list[tuple[str, float]]) -> None:
    total = sum(t for _, t in timings)
    width = max([len(n) for n, _ in timings] + [5])
    print("// pass timing (wall clock)", file=sys.stderr)
    for name, t in timings:
        print(f"//   {name:<{width}}  {t:9.4f} s", file=sys.stderr)
    print(f"//   {'total':<{width}}  {total:9.4f} s", file=sys.stderr)


def _check(before, after, pipeline, args: argparse.Namespace) -> int:
    """--check-equivalence: print the agreement, return the exit code."""
    from nirc.equivalence import check_equivalence

    quantizing = any(p.name == "quantize" for p in pipeline.passes)
    result = check_equivalence(
        before, after, seeds=args.seeds, steps=args.steps, rate=args.rate, dt=args.dt
    )
    for line in result.lines:
        print(line, file=sys.stderr)
    print(f"agreement: {result.text()}", file=sys.stderr)
    if quantizing:
        ok = result.agreement >= args.min_agreement
        why = f"quantizing pipeline, --min-agreement {args.min_agreement:g}"
    else:
        ok = result.agreement == 1.0
        why = "exact pipeline: identical spikes, real values within 1e-09 relative"
    print(f"equivalence: {'ok' if ok else 'FAILED'} ({why})", file=sys.stderr)
    return 0 if ok else 1


def build_pipeline(spec: str, args: argparse.Namespace | None = None):
    """xDSL's pipeline syntax -> a PassPipeline over nirc's registry, with the
    --verify-each / --print-ir-after-all callback."""
    from xdsl.passes import PassPipeline
    from xdsl.utils.arg_spec import parse_pipeline
    from xdsl.utils.exceptions import ArgSpecParseError

    from nirc.diagnostics import NircError
    from nirc.passes import all_passes, get_pass

    spec = normalize_spec(spec)
    source = getattr(args, "source", None) if args is not None else None
    if source is not None:
        spec = with_source(spec, source)
    try:
        specs = list(parse_pipeline(spec))
    except ArgSpecParseError as e:
        raise NircError("cannot parse the pass pipeline", found=str(e)) from None
    for s in specs:
        _check_option_names(s, get_pass(s.name))  # get_pass: unknown names listing the known
    verify_each = bool(args and args.verify_each)
    print_after = bool(args and args.print_ir_after_all)
    generic = bool(args and args.print_generic)

    timings: list[tuple[str, float]] = []
    if args is not None:
        args._timings = timings
    clock = {"t": time.perf_counter()}

    def callback(previous, module, following) -> None:
        now = time.perf_counter()
        if previous is None:
            clock["t"] = time.perf_counter()
            return
        timings.append((previous.name, now - clock["t"]))
        try:
            _after_pass(previous, module)
        finally:
            clock["t"] = time.perf_counter()

    def _after_pass(previous, module) -> None:
        if print_after:
            print(f"// -----// IR Dump After {previous.name} //----- //", file=sys.stderr)
            print(_print(module, generic), file=sys.stderr)
        if verify_each:
            _verify(module, args, f"the IR after pass `{previous.name}`")

    try:
        pipeline = PassPipeline.parse_spec(all_passes(), spec, callback)
    except (ValueError, TypeError, ArgSpecParseError) as e:
        raise NircError("invalid pass options", found=str(e).strip()) from None
    for p in pipeline.passes:
        _check_int_options(p)
    return pipeline


def _check_option_names(spec, pass_class) -> None:
    """An option ``pass_class`` does not have, named with the pass, the
    options it takes and the nearest one (xDSL's message names neither the
    pass nor a guess)."""
    import dataclasses

    from nirc.diagnostics import NircError, closest

    known = [f.name for f in dataclasses.fields(pass_class)]
    for name in spec.normalize_parameter_names().parameters:
        if name not in known:
            near = closest(name, known)
            raise NircError(
                f"pass `{spec.name}` has no option `{name}`",
                where=spec.name,
                expected=f"one of {', '.join(known)}" if known else "no options",
                found=name,
                hint=f"did you mean `{near}`?" if near else None,
            )


def _check_int_options(p) -> None:
    """xDSL's option parser takes `true` for an `int` option (a bool is an int)
    and any number of digits: `calib_steps=true` and `chips=99999999999999999999`
    were internal errors deep in the pass. Integer options are int64 values."""
    import dataclasses

    from nirc.diagnostics import NircError

    for f in dataclasses.fields(p):
        kinds = {k.strip() for k in str(f.type).split("|")}
        if "int" not in kinds or kinds & {"bool", "float", "str"}:
            continue
        v = getattr(p, f.name)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or not -(2**63) <= v < 2**63):
            raise NircError(f"pass option `{f.name}` must be an integer (64 bits)",
                            where=p.name, found=repr(v))  # fmt: skip


def with_source(spec: str, source: str) -> str:
    """``--source``: give every `discretize` of a (normalized) pipeline the source
    profile; a different ``source=`` already in the pipeline is an error."""
    from nirc.diagnostics import NircError, warn

    seen = []

    def fix(match: re.Match) -> str:
        body = match.group(1)
        seen.append(match.group(0))
        inner = body[1:-1].strip() if body else ""
        given = re.search(r"(?:^|\s)source=(\"[^\"]*\"|[^\s\"]*)", inner)
        if given:
            value = given.group(1).strip('"')
            if value != source:
                raise NircError(
                    "two source profiles given",
                    expected=f"--source {source} or discretize{{source={value}}}",
                    found="both",
                )
            return match.group(0)
        # quoted: options such as `rockpool:max_spikes=31,max_spikes_out=1`
        return "discretize{" + (inner + " " if inner else "") + f'source="{source}"' + "}"

    out = re.sub(r"(?<![\w-])discretize(\{[^{}]*\})?", fix, spec)
    if not seen and source != "nir":
        warn(
            f"--source {source} applies where the pipeline discretizes, and it has no "
            "`discretize` pass: nothing changes",
            kind="warning",
        )
    return out


_OPTION = re.compile(r"""([A-Za-z_][\w-]*)=("[^"]*"|[^\s"]*)""")
_PLAIN = re.compile(
    r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?(,[-+]?\d+(\.\d*)?)*|true|false|[A-Za-z_][\w-]*"
)


def normalize_spec(spec: str) -> str:
    """Make MLIR-ish option lists readable by xDSL's pipeline parser: options
    separated by commas or spaces, values that are not numbers or identifiers
    (file names) quoted."""

    def fix(match: re.Match) -> str:
        body = match.group(1)
        body = re.sub(r",\s*(?=[A-Za-z_][\w-]*=)", " ", body)
        items = []
        for key, value in _OPTION.findall(body):
            if not value.startswith('"') and not _PLAIN.fullmatch(value):
                value = f'"{value}"'
            items.append(f"{key}={value}")
        rest = _OPTION.sub("", body).strip()
        if rest:  # something that is not key=value: leave it to the parser's message
            return "{" + body + "}"
        return "{" + " ".join(items) + "}"

    return re.sub(r"\{([^{}]*)\}", fix, spec)


HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def _load(args: argparse.Namespace, ctx):
    """One thunk per module to process (a thunk so that errors are per chunk)."""
    from nirc.diagnostics import NircError
    from nirc.load import refuse_device

    source = args.input
    if source != "-":
        path = Path(source)
        if not path.exists():
            raise NircError("no such file", where=source)
        if path.is_dir():
            raise NircError("is a directory, expected a file", where=source)
        refuse_device(path)
        # a pipe (`<(nirc import m.nir)`) is read once: sniffing its first bytes
        # consumed them, and the IR was parsed from its ninth character on
        data = None if path.is_file() else path.read_bytes()
        if _is_nir(path, data):
            if data is not None:
                raise NircError("a .nir (HDF5) file cannot be read from a pipe", where=source,
                                hint="save it to a file, or pipe its IR (nirc import m.nir)")  # fmt: skip
            if args.split_input_file:
                raise NircError("--split-input-file applies to .mlir input only", where=source)
            return [lambda: _import_nir(path)]
        try:
            text = path.read_text(encoding="utf-8") if data is None else data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise NircError(
                "not a text file",
                where=source,
                expected="a .mlir file or a .nir file",
                found=str(e),
            ) from None
    else:
        text = sys.stdin.read()
        source = "<stdin>"
    if not args.split_input_file:
        return [lambda: _parse(text, source, ctx, args, 0)]
    chunks, offset, thunks = text.split(SPLIT_MARKER), 0, []
    for chunk in chunks:
        thunks.append(lambda c=chunk, o=offset: _parse(c, source, ctx, args, o))
        offset += chunk.count("\n")
    return thunks


def _is_nir(path: Path, data: bytes | None = None) -> bool:
    """By its suffix, else by the HDF5 signature of its first bytes (``data``:
    the whole input, already read from a pipe)."""
    if path.suffix == ".nir":
        return True
    if path.suffix == ".mlir":
        return False
    if data is not None:
        return data[:8] == HDF5_SIGNATURE
    with open(path, "rb") as f:
        return f.read(8) == HDF5_SIGNATURE


def _import_nir(path: Path):
    from nirc.convert import import_graph
    from nirc.nirfile import read
    from nirc.validate import infer_shapes, validate

    graph = read(path)
    validate(graph)
    return import_graph(graph, infer_shapes(graph))


def _parse(text: str, source: str, ctx, args: argparse.Namespace, line_offset: int):
    from xdsl.utils.exceptions import ParseError, VerifyException

    from nirc.context import ir_parser
    from nirc.diagnostics import NircError
    from nirc.load import parse_failures

    try:
        # pad with newlines so that chunk line numbers are the file's
        return ir_parser(ctx, "\n" * line_offset + text, source).parse_module()
    except (ParseError, *parse_failures()) as e:
        # attributes verify while they are parsed: treat those as verifier errors
        if isinstance(e, VerifyException) and args.verify_diagnostics:
            print(str(e).strip())
            raise _Reported from None
        if args.parsing_diagnostics:
            print(str(e).strip())
            raise _Reported from None
        raise NircError("cannot parse the IR", where=source, found=str(e).strip()) from None


def _verify(module, args: argparse.Namespace | None, what: str) -> None:
    from xdsl.utils.exceptions import DiagnosticException

    from nirc.diagnostics import NircError

    try:
        module.verify()
    except DiagnosticException as e:
        message = str(e).strip()
        if args is not None and args.verify_diagnostics:
            print(message)
            raise _Reported from None
        notes = _excerpt("\n".join(getattr(e, "__notes__", []) or []))
        raise NircError(
            f"{what} does not verify: {message}",
            found=("the IR around the error:\n" + notes) if notes else None,
        ) from None


def _excerpt(annotated: str, context: int = 6, width: int = 240) -> str:
    """The lines of xDSL's annotated IR around the error marker, long lines (hex
    parameter blobs) shortened."""
    lines = annotated.splitlines()
    marks = [i for i, line in enumerate(lines) if line.lstrip().startswith("^^^")]
    if marks:
        lo, hi = max(0, marks[0] - context), min(len(lines), marks[-1] + context + 2)
        lines = (["..."] if lo else []) + lines[lo:hi] + (["..."] if hi < len(lines) else [])
    return "\n".join(line if len(line) <= width else line[: width - 3] + "..." for line in lines)


def _print(module, generic: bool) -> str:
    import io

    from xdsl.printer import Printer

    buf = io.StringIO()
    Printer(stream=buf, print_generic_format=generic).print_op(module)
    buf.write("\n")
    return buf.getvalue()
