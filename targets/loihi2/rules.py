"""What lava-dl's netx can hold, and the diagnostic for everything it cannot.

netx 0.6.0 loads a *chain*: one input, then layers each made of one synapse
(dense, self-recurrent dense, or conv) and one group of CUBA neurons with one
decay pair and one threshold, each reading exactly the layer before it; the
network's one output is the last layer. Each function here builds the
:class:`~nirc.diagnostics.NircError` for one way a graph can fall outside
that, naming the node, what was found, what netx expects and the way out;
:mod:`.lower` raises them while it walks the graph. Checks that need no walk
are here too (``check_*``).
"""

from __future__ import annotations

import numpy as np
from xdsl.ir import Operation

from nirc.diagnostics import NircError

from .netx import MAX_DELAY

CHAIN = "a chain: one Input, then layers each reading the one before, the Output last"


def _name(op: Operation | None) -> str:
    if op is None:
        return "?"
    from nirc.dialects import snn

    return snn.node_name(op) or op.name


def _names(ops) -> str:
    return ", ".join(f"`{_name(o)}`" for o in ops)


# --------------------------------------------------------------------------------------
# checks without a walk
# --------------------------------------------------------------------------------------


def check_ops(graph) -> None:
    """Ops netx has no counterpart for, and quantized `snn` (nirc's own
    integer forms are not Loihi's)."""
    from nirc.dialects import snn

    for op in snn.flat_ops(graph):
        if isinstance(op, snn.ScaleOp):
            raise NircError(
                "a Scale node that could not be folded into weights: netx layers have no "
                "elementwise gain",
                where=_name(op),
                expected="a Scale next to a Linear/Affine/Conv (fold-weights moves it into the "
                "weights) or before a neuron",
                found=f"a Scale read by {_names([u.operation for u in op.out.uses])}",
                hint="put the scale into the adjacent weights in the model",
            )
        if isinstance(op, snn.Conv1dOp):
            raise conv1d(op)
        if isinstance(op, snn.NeuronOp) and op.quantized or (
            isinstance(op, snn.SYNAPSE_OPS) and snn.param(op, "weight").dtype.kind in "iu"
        ):
            raise NircError(
                "a quantized `snn` module: lower-loihi2 quantizes for Loihi itself",
                where=_name(op),
                expected="the float `snn` level (discretize, fold-weights, fuse)",
                found="integer weights or states",
                hint="drop the `quantize` pass from the pipeline",
            )


def check_value_shape(name: str, shape: tuple[int, ...]) -> None:
    if len(shape) not in (1, 3):
        raise NircError(
            f"a {len(shape)}-D value: netx layers are [N] (dense) or [C, H, W] (conv)",
            where=name,
            expected="a vector or a [channels, height, width] map",
            found=str(list(shape)),
            hint="flatten it in the model (a Flatten before the next Linear)",
        )


def check_decay_range(name: str, label: str, alpha: np.ndarray) -> None:
    if np.any(alpha < 0) or np.any(alpha > 1):
        bad = alpha[(alpha < 0) | (alpha > 1)]
        raise NircError(
            f"`{label}` outside [0, 1]: Loihi's 12-bit decays keep a fraction of the state",
            where=name,
            expected=f"{label} = 1 - decay/4096 with decay in 0..4096 (time constants >= dt)",
            found=f"{float(bad.reshape(-1)[0]):.6g}",
            hint="use time constants of at least one step (tau >= dt), or a smaller dt",
        )


def check_delays(name: str, delay: np.ndarray) -> None:
    if delay.size and delay.max() > MAX_DELAY:
        raise NircError(
            f"a delay of {int(delay.max())} steps: netx clamps delays to {MAX_DELAY}",
            where=name,
            expected=f"delays of 0..{MAX_DELAY} steps (including one step for a membrane that "
            "reads the previous step's current)",
            found=f"{int(delay.max())} steps",
            hint="use a larger dt, or shorter delays",
        )


# --------------------------------------------------------------------------------------
# structure
# --------------------------------------------------------------------------------------


def inputs_count(inputs) -> NircError:
    return NircError(
        f"{len(inputs)} Input nodes: a netx network has exactly one input layer",
        where=_names(inputs) or "the graph",
        expected="one Input",
        found=f"{len(inputs)}",
        hint="merge the inputs into one (concatenate the channels) in the model",
    )


def output_not_last(output: Operation, rest, producer) -> NircError:
    if producer is None:
        return NircError(
            "an Output reads the Input directly: netx's output is the last layer's spikes",
            where=_name(output),
            expected=CHAIN,
            found="Input -> Output",
        )
    return NircError(
        f"an Output reads `{_name(producer)}`, which also feeds {_names(rest)}: netx's Network "
        "has one output port, the last layer",
        where=_name(output),
        expected=CHAIN,
        found=f"an Output in the middle of the chain, at `{_name(producer)}`",
        hint="read only the last layer (record inner layers with `nirc run --record "
        f"{_name(producer)}`)",
    )


def output_after_pending(output: Operation, names: list[str]) -> NircError:
    return NircError(
        f"the Output reads the last layer through {', '.join(f'`{n}`' for n in names)}: netx's "
        "output is the last layer's spikes as they are",
        where=_name(output),
        expected="an Output reading the last neuron layer directly",
        found=f"{', '.join(names)} between them",
        hint="pool or delay on the host after reading the spikes",
    )


def fan_out(op: Operation, users) -> NircError:
    return NircError(
        f"`{_name(op)}` feeds {len(users)} nodes ({_names(users)}): a netx chain has no branches",
        where=_name(op),
        expected=CHAIN,
        found=f"fan-out to {_names(users)}",
        hint="keep one path from the Input to the Output",
    )


def dead_end(op: Operation) -> NircError:
    return NircError(
        "the chain ends without reaching an Output",
        where=_name(op),
        expected=CHAIN,
        found=f"nothing reads `{_name(op)}`",
    )


def cycle_into(op: Operation, source: Operation) -> NircError:
    return NircError(
        f"`{_name(source)}` comes back into `{_name(op)}` from elsewhere in the network: netx "
        "holds self-recurrent dense layers (dense_rec) only",
        where=_name(op),
        expected="cycles only from a layer's spikes to its own input (one step later)",
        found=f"a feedback edge from `{_name(source)}`",
        hint="make the recurrence a layer's own (a recurrent Linear from the layer to itself)",
    )


def synapse_without_neurons(op: Operation) -> NircError:
    return NircError(
        f"a {op.name} not followed by its own neuron layer: netx layers are a synapse and "
        "the neurons it feeds",
        where=_name(op),
        expected="Linear/Affine/Conv -> neurons (LIF, CubaLIF, IF, LI...)",
        found=f"`{_name(op)}` read by {_names([u.operation for u in op.out.uses])}",
        hint="put a neuron layer after every weight layer (an LI readout for real outputs)",
    )


def input_with_and_without_weights(op: Operation) -> NircError:
    return NircError(
        "a layer reads its input both through weights and directly: a netx layer has one "
        "synapse",
        where=_name(op),
        expected="the input through one Linear/Affine/Conv",
        found="a synapse and a direct edge from the same input",
        hint="add the identity to the weights in the model",
    )

def readout_not_last(name: str) -> NircError:
    return NircError(
        "a non-spiking layer (LI, CubaLI, I) in the middle of the network: lava's CUBA neurons "
        "send binary spikes, so a real-valued voltage cannot reach the next layer",
        where=name,
        expected="non-spiking neurons only in the last layer (a readout)",
        found="a non-spiking layer read by another layer",
        hint="use spiking neurons (LIF, CubaLIF, IF) in hidden layers",
    )


def average_pool(op: Operation) -> NircError:
    return NircError(
        "an average pool whose 1/k could not be folded into the next weights: netx cannot "
        "load pooling",
        where=_name(op),
        expected="an AvgPool2d read only by weights (fold-weights moves 1/k into them)",
        found=f"an average pool read by {_names([u.operation for u in op.out.uses])}",
        hint="put a Linear or Conv right after the pool",
    )


def delay_before_pool(op: Operation) -> NircError:
    return NircError(
        "delays that differ per neuron before a pool: netx delays are per synapse of one layer",
        where=_name(op),
        expected="uniform delays before a pool, or per-neuron delays right before a Linear",
        found="per-neuron delays mixed by a pool",
    )


def delay_after_pool(op: Operation) -> NircError:
    return NircError(
        "per-neuron delays after a pool: netx delays belong to the synapses of the next layer",
        where=_name(op),
        expected="uniform delays here, or the delays before the pool",
        found="per-neuron delays of pooled values",
    )


def pool_not_foldable(op: Operation, pool, size: int) -> NircError:
    return NircError(
        f"the sum-pool `{pool.name}` before `{_name(op)}` cannot be folded into the conv exactly "
        "(its padding reaches pooled cells that cover real inputs), and as one dense layer it "
        f"would hold {size:,} weights: netx cannot load pooling",
        where=_name(op),
        expected="pool windows that tile the map (stride = kernel, no remainder) or no conv "
        "padding, or a smaller layer",
        found=f"pool {pool.kernel} stride {pool.stride} padding {pool.padding} on "
        f"{list(pool.in_shape)}",
        hint="crop the map to a multiple of the pool, or drop the conv's padding",
    )


def recurrent_conv(op: Operation) -> NircError:
    return NircError(
        "a recurrent convolutional layer: netx holds recurrence in dense layers only "
        "(dense_rec)",
        where=_name(op),
        expected="a recurrent Linear/Affine layer",
        found="recurrence on a conv layer",
    )


def recurrent_delay(op: Operation) -> NircError:
    return NircError(
        "delays into a recurrent layer: netx 0.6.0 reuses the input delays for the recurrent "
        "weights (failing unless the shapes agree) and drops the weight exponent",
        where=_name(op),
        expected="a recurrent layer without input delays (and a CubaLIF whose membrane reads "
        "the current of the same step, or a LIF)",
        found="delays on the input synapse of a dense_rec layer",
    )


def recurrent_steps(op: Operation, steps: int | None) -> NircError:
    return NircError(
        "a recurrent connection through more than one step: lava's dense_rec delivers a "
        "layer's spikes to itself in the next step",
        where=_name(op),
        expected="recurrence with a delay of exactly 1 step",
        found=f"a delay of {steps if steps is not None else 'non-uniform'} steps",
    )


def recurrent_synapse(op: Operation) -> NircError:
    return NircError(
        "a recurrent path that is not one dense synapse: netx's dense_rec holds one matrix from "
        "the layer's spikes to its input",
        where=_name(op),
        expected="layer -> Linear/Affine -> (one step) -> the same layer",
        found="a convolution or several synapses on the recurrent path",
    )


def nonpositive_threshold(name: str, thr: np.ndarray) -> NircError:
    return NircError(
        "a threshold <= 0: Loihi's threshold mantissa is unsigned",
        where=name,
        expected="v_threshold > 0",
        found=f"{float(thr.min()):.6g}",
    )


def identity_gain(op: Operation) -> NircError:
    return NircError(
        "a [C, H, W] neuron layer read without weights, with input gains that differ within a "
        "channel: its identity synapse is a one-to-one conv, one weight per channel",
        where=_name(op),
        expected="one input gain per channel",
        found="gains that differ across positions",
    )


def two_synapses(op: Operation) -> NircError:
    return NircError(
        "several conv synapses from one source into one layer: netx has one synapse per layer",
        where=_name(op),
        expected="one synapse per layer",
        found="two or more",
        hint="add the kernels in the model",
    )


def dense_output_shape(op: Operation, neuron_shape) -> NircError:
    return NircError(
        "a dense synapse with [..., N] outputs: netx's dense layers have [N] neurons",
        where=_name(op),
        expected="a Linear/Affine on a vector",
        found=f"neurons of shape {list(neuron_shape)}",
    )


def conv1d(op: Operation) -> NircError:
    return NircError(
        "a Conv1d: netx convolutions are 2-D",
        where=_name(op),
        expected="Conv2d on [C, H, W] maps",
        found="Conv1d",
        hint="export it as a Conv2d of height 1",
    )


def asymmetric_padding(op: Operation, pads) -> NircError:
    return NircError(
        "asymmetric conv padding: netx stores one padding per axis (both sides)",
        where=_name(op),
        expected="the same padding before and after on each axis",
        found=str([list(p) for p in pads]),
    )


def conv_gain(op: Operation) -> NircError:
    return NircError(
        "input gains that differ within a channel of a conv layer: conv weights are shared "
        "over positions",
        where=_name(op),
        expected="one gain (r, w_in) per output channel",
        found="gains that differ across positions",
    )


def conv_delay(op: Operation) -> NircError:
    return NircError(
        "delays before a conv layer: netx's conv layers have no synaptic delays",
        where=_name(op),
        expected="delays only before dense (Linear/Affine) layers",
        found="a Delay feeding a convolution",
        hint="drop the delay, or move it before a dense layer",
    )


__all__ = [name for name in dir() if not name.startswith("_") and name not in (
    "np", "Operation", "NircError", "MAX_DELAY", "annotations")]  # fmt: skip
