"""What SpiNNaker2 cannot run, as diagnostics naming the node and the limit.

Where the rules are checked:

- on the fused float `snn` ops (:func:`check_float`): float weights and
  neurons only (quantization is the target's), no op without a SpiNNaker2
  form;
- while extracting (:mod:`.lower`): a non-spiking neuron feeding weights, an
  Output not reading one population, a recurrent loop shorter than its
  projections' latency;
- which projections can be a ``Conv2DProjection`` (:func:`conv_structure`,
  :func:`lif_conv2d_eligible`: not a refusal, the others become connection
  lists);
- on the integer network and its placement (:func:`check_network`, also the
  ``spinnaker2.network`` verifier): weight and delay ranges of each model,
  every neuron placed once, every PE within its neurons and data memory
  (a table of needs against capacity), the router entries of each chip, the
  chips available; a placement py-spinnaker2 can load (:func:`check_capacity`,
  :func:`check_loadable`: one population per PE, spike sources and
  Conv2DProjection populations in index-order slices).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from xdsl.ir import Operation

from nirc.diagnostics import NircError

from .spec import SPINNAKER2


def check_float(ops: Iterable[Operation]) -> None:
    """Refuse a quantized `snn` module and ops that have no SpiNNaker2 form."""
    from nirc.dialects import snn

    for op in ops:
        name = snn.node_name(op) or op.name
        shape = op.declared_shape() if isinstance(op, snn.InputOp) else (
            op.out_shape() if isinstance(op, snn.NeuronOp) else None)  # fmt: skip
        if shape == ():
            raise NircError(
                "a 0-D value: py-spinnaker2 populations are sized by a neuron count",
                where=name,
                expected="a shape with at least one axis ([1] for one neuron)",
                found="shape []",
                hint="give the Input (and the layers it feeds) shape [1]",
            )
        if isinstance(op, snn.NeuronOp) and op.quantized:
            raise NircError(
                "a quantized neuron: lower-spinnaker2 quantizes for the chip itself",
                where=name,
                expected="a float snn module (discretize, fold-weights, fuse)",
                found="state_bits on the neuron",
                hint="run lower-spinnaker2 before (instead of) `quantize`",
            )
        if isinstance(op, snn.NeuronOp):
            for field, model_field in (("alpha_mem", "alpha_decay"), ("alpha_syn", "exc_decay")):
                a = snn.param(op, field)
                if a is not None and np.size(a) and not (np.all(a >= 0) and np.all(a <= 1)):
                    raise NircError(
                        f"a decay the chip cannot hold: `{model_field}` must be in [0, 1]",
                        where=f"{name}: {field}",
                        expected="a decay factor per step in [0, 1] (the time step at most the "
                        "time constant)",
                        found=f"values in [{float(np.min(a)):.6g}, {float(np.max(a)):.6g}]",
                        hint="check --dt against the neuron's tau (a negative decay is a time "
                        "step longer than tau), or the framework profile (--source)",
                    )
        if isinstance(op, snn.DenseOp | snn.Conv1dOp | snn.Conv2dOp):
            w = snn.param(op, "weight")
            if w is not None and w.dtype.kind in "iu":
                raise NircError(
                    "integer weights: lower-spinnaker2 quantizes for the chip itself",
                    where=name,
                    expected="float weights",
                    found=f"{w.dtype} weights",
                    hint="run lower-spinnaker2 before (instead of) `quantize`",
                )


def conv_structure(pop, entry, gain: np.ndarray) -> tuple[Any, np.ndarray] | None:
    """The ``(Conv2d, kernel [C_out, C_in, kH, kW])`` of a projection that is
    one 2-D convolution of the whole source, optionally sum-pooled first
    (kernel = stride, no padding, dividing the input), without dilation or
    groups, with the same input gain for every neuron of an output channel;
    None otherwise. Such a projection can be a py-spinnaker2
    ``Conv2DProjection`` (into a ``lif_conv2d`` population) and is simulated
    as a convolution either way."""
    from nirc.dialects import snn

    from .network import Conv2d

    src, d, matrix, _, term = entry
    if term is None or not term.chain or len(term.chain) > 2:
        return None
    chain = list(term.chain)
    conv = chain[-1]
    pool = chain[0] if len(chain) == 2 else None
    if not isinstance(conv, snn.Conv2dOp):
        return None
    stride, pads, dil, groups = conv.conv_params()
    if dil != (1, 1) or groups != 1:
        return None
    w = snn.param(conv, "weight").astype(np.float64)
    c_out, c_in, kh, kw = w.shape
    in_shape = tuple(int(x) for x in (snn.shape_of(conv.operands[0].type) or ()))
    if len(in_shape) != 3:
        return None
    ph = pw = 1
    height, width = in_shape[1], in_shape[2]
    if pool is not None:
        if not isinstance(pool, snn.SumPool2dOp) or pool.divisor is not None:
            return None
        (ky, kx), (sy, sx), (py, px) = pool.window()
        pool_in = tuple(int(x) for x in (snn.shape_of(pool.operands[0].type) or ()))
        if (ky, kx) != (sy, sx) or (py, px) != (0, 0) or len(pool_in) != 3:
            return None
        if pool_in[1] % ky or pool_in[2] % kx:
            return None
        ph, pw = ky, kx
        height, width = pool_in[1], pool_in[2]
    geometry = Conv2d(
        in_channels=c_in, in_height=height, in_width=width, out_channels=c_out,
        kernel_h=kh, kernel_w=kw, stride_y=stride[0], stride_x=stride[1], pool_y=ph, pool_x=pw,
        pad_top=pads[0][0], pad_bottom=pads[0][1], pad_left=pads[1][0], pad_right=pads[1][1],
    )  # fmt: skip
    if geometry.out_shape != tuple(pop.shape) or matrix.shape[1] != c_in * height * width:
        return None
    # the matrix is the convolution (after the pool) with the neuron's input
    # gain ``gain`` folded into its rows: a kernel when that is per channel
    per_channel = np.broadcast_to(gain, (pop.size,)).reshape(c_out, -1)
    if not np.all(per_channel == per_channel[:, :1]):
        return None
    return geometry, w * per_channel[:, 0][:, None, None, None]


def lif_conv2d_eligible(fn, entries, hs, structures) -> bool:
    """Whether a population can be py-spinnaker2's ``lif_conv2d``: a spiking
    LIF/IF without synaptic current or refractory step, fed by exactly one
    projection, a convolution (:func:`conv_structure`), with no extra delay
    and no bias source."""
    return (
        len(entries) == 1 and structures[0] is not None and entries[0][1] == 0 and hs[0] == 0
        and fn.alpha_syn is None and fn.reset != "zero_refractory" and not fn.source_biases
        and fn.threshold is not None
    )  # fmt: skip


# --------------------------------------------------------------------------------------
# the integer network
# --------------------------------------------------------------------------------------


def check_ranges(net) -> None:
    """Weights and delays within each post population's model."""
    models = SPINNAKER2.models
    for pr in net.projections:
        post = net.population(pr.post)
        m = models[post.model]
        lo, hi = m.weight_range or (0, 0)
        w = pr.weights.data
        if w.size and (np.any(w != np.rint(w)) or w.min() < lo or w.max() > hi):
            raise NircError(
                f"weights outside the range of `{post.model}`",
                where=f"projection {pr.name}",
                expected=f"integers in [{lo}, {hi}]",
                found=f"values in [{w.min():g}, {w.max():g}]",
            )
        d = pr.delay_of()
        dlo, dhi = m.delay_range or (0, 0)
        if d.size and (d.min() < dlo or d.max() > dhi):
            raise NircError(
                f"synaptic delays outside the range of `{post.model}`",
                where=f"projection {pr.name}",
                expected=f"delays in {dlo}..{dhi}",
                found=f"delays in {d.min()}..{d.max()}",
                hint="the delayed models (lif, lif_curr_exp) take 0..7; relays carry longer ones",
            )


def requirements_table(rows: list[tuple[str, float, float]], header: tuple[str, str, str]) -> str:
    """An aligned table of needs against capacity (the worst first)."""
    rows = sorted(rows, key=lambda r: -(r[1] / r[2] if r[2] else np.inf))
    width = max(len(header[0]), *(len(r[0]) for r in rows)) if rows else len(header[0])
    lines = [f"{header[0]:<{width}}  {header[1]:>10}  {header[2]:>10}"]
    for what, need, cap in rows[:12]:
        flag = "  <- over" if need > cap else ""
        lines.append(f"{what:<{width}}  {need:>10,.0f}  {cap:>10,.0f}{flag}")
    if len(rows) > 12:
        lines.append(f"... {len(rows) - 12} more")
    return "\n".join(lines)


def check_pe_loads(loads: dict[int, Any], memory: dict[int, float], capacity, where: str) -> None:
    """Every PE within its neuron count and data memory, else a table."""
    over = [
        pe for pe, ld in loads.items()
        if ld.neurons > capacity.neurons_per_core or memory[pe] > capacity.memory_per_core
    ]  # fmt: skip
    if not over:
        return
    rows = []
    for pe in over:
        chip, local = divmod(pe, capacity.cores_per_chip)
        rows.append((f"chip {chip} PE {local} neurons", loads[pe].neurons, capacity.neurons_per_core))
        rows.append((f"chip {chip} PE {local} data bytes", memory[pe], capacity.memory_per_core))
    raise NircError(
        f"{len(over)} processing element(s) over capacity",
        where=where,
        expected=f"at most {capacity.neurons_per_core} neurons and {capacity.memory_per_core:,} "
        "bytes of LIF-app regions per PE",
        found="\n" + requirements_table(rows, ("PE", "needs", "capacity")),
        hint="lower max atoms per core (--core-neurons), record fewer steps or neurons, or "
        "give the PEs more memory (--core-synapse-memory) if your build allows it",
    )


def check_capacity(capacity) -> None:
    """A capacity model py-spinnaker2 can place by: one population per PE."""
    if not capacity.exclusive_cores:
        raise NircError(
            "SpiNNaker2 PEs cannot be shared between populations",
            where="capacity: exclusive_cores",
            expected="true (py-spinnaker2 runs one population slice per PE)",
            found="false",
            hint="leave exclusive_cores out of the --capacity file",
        )


def check_loadable(populations: dict[str, Any], whole: dict[str, str], where: str) -> None:
    """A placement py-spinnaker2 can load: no PE shared by two populations;
    the populations in ``whole`` (name -> why) in index-order slices of one
    size (``set_max_atoms_per_core``)."""
    owner: dict[int, str] = {}
    for name, pp in populations.items():
        for s in pp.slices:
            other = owner.setdefault(s.pe, name)
            if other != name:
                raise NircError(
                    f"PE {s.pe} holds neurons of two populations, {other} and {name}",
                    where=where,
                    expected="one population slice per PE (py-spinnaker2's mapper)",
                    found=f"{other} and {name} on PE {s.pe}",
                )
        if name in whole and pp.max_atoms_per_core is None:
            sizes = sorted({int(s.neurons.size) for s in pp.slices})
            gaps = "" if all(s.contiguous for s in pp.slices) else ", not all contiguous"
            raise NircError(
                f"population {name} is not placed in index-order slices of one size",
                where=where,
                expected=f"runs of consecutive neurons, all of one size but the last "
                f"({whole[name]})",
                found=f"{len(pp.slices)} slices of {', '.join(map(str, sizes))} neurons{gaps}",
            )


def check_router(entries: dict[int, int], where: str) -> None:
    """Each chip's router within its entries."""
    cap = SPINNAKER2.router_entries
    over = {c: n for c, n in entries.items() if n > cap}
    if over:
        rows = [(f"chip {c} router entries", n, cap) for c, n in sorted(over.items())]
        raise NircError(
            "router tables over capacity",
            where=where,
            expected=f"at most {cap:,} entries per chip",
            found="\n" + requirements_table(rows, ("chip", "needs", "capacity")),
            hint="fewer, larger slices per population (--core-neurons) need fewer entries",
        )


__all__ = [
    "check_capacity",
    "check_float",
    "check_loadable",
    "check_pe_loads",
    "check_ranges",
    "check_router",
    "conv_structure",
    "lif_conv2d_eligible",
    "requirements_table",
]
