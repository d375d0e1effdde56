// RUN: nirc opt %s --split-input-file --verify-diagnostics | filecheck %s

// Each chunk breaks one rule of the `snn` dialect's verifiers.
// A cycle without a delay: one step's values would depend on themselves.
builtin.module {
  snn.graph attributes {dt = 1.0e-03 : f64} {
    %in = snn.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %a = snn.dense "a"(%in, %b : tensor<2xf32>, tensor<2xf32>) {weight = dense<1.0> : tensor<2x2xf32>} : tensor<2xf32>
    %b = snn.neuron "b"(%a : tensor<2xf32>) {alpha_mem = dense<0.9> : tensor<f64>, v_threshold = dense<1.0> : tensor<f64>} : tensor<2xf32>
    snn.output "output"(%b : tensor<2xf32>)
  }
}
// CHECK: snn.graph: a cycle without a delay: the values of one step would depend on themselves (nodes on or after the cycle: a, b, output); put an snn.delay with steps >= 1 on the feedback edge

// -----
// A delay of zero steps does not break a cycle either.
builtin.module {
  snn.graph attributes {dt = 1.0e-03 : f64} {
    %in = snn.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %a = snn.dense "a"(%in, %d : tensor<2xf32>, tensor<2xf32>) {weight = dense<1.0> : tensor<2x2xf32>} : tensor<2xf32>
    %d = snn.delay "d"(%a : tensor<2xf32>) {steps = dense<[1, 0]> : tensor<2xi64>} : tensor<2xf32>
  }
}
// CHECK: snn.graph: a cycle without a delay: the values of one step would depend on themselves (nodes on or after the cycle: a, d); put an snn.delay with steps >= 1 on the feedback edge

// -----
// The weight's input axes must end the input's shape.
builtin.module {
  snn.graph attributes {dt = 1.0e-03 : f64} {
    %in = snn.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %a = snn.dense "a"(%in : tensor<2xf32>) {weight = dense<1.0> : tensor<4x3xf32>} : tensor<4xf32>
  }
}
// CHECK: snn.dense "a": input of shape [2] does not end with the weight's input axes [3]

// -----
// The result type must be what the op computes.
builtin.module {
  snn.graph attributes {dt = 1.0e-03 : f64} {
    %in = snn.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %a = snn.dense "a"(%in : tensor<2xf32>) {weight = dense<1.0> : tensor<4x2xf32>} : tensor<3xf32>
  }
}
// CHECK: snn.dense "a": result type says shape [3] but the op computes [4] from its input of shape [2]

// -----
// Neuron parameters have the layer's shape or are 0-d.
builtin.module {
  snn.graph attributes {dt = 1.0e-03 : f64} {
    %in = snn.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %n = snn.neuron "n"(%in : tensor<2xf32>) {alpha_mem = dense<0.9> : tensor<3xf64>} : tensor<2xf32>
  }
}
// CHECK: snn.neuron "n": `alpha_mem` has shape [3]; expected the layer's shape [2] or a 0-d tensor (one value for every neuron)

// -----
// Reset modes are a closed set.
builtin.module {
  snn.graph attributes {dt = 1.0e-03 : f64} {
    %in = snn.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %n = snn.neuron "n"(%in : tensor<2xf32>) {alpha_mem = dense<0.9> : tensor<f64>, v_threshold = dense<1.0> : tensor<f64>, reset = "clamp"} : tensor<2xf32>
  }
}
// CHECK: snn.neuron "n": `reset` must be one of zero, subtract, subtract_undecayed, zero_refractory, found "clamp"

// -----
// A reset needs a spiking neuron.
builtin.module {
  snn.graph attributes {dt = 1.0e-03 : f64} {
    %in = snn.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %n = snn.neuron "n"(%in : tensor<2xf32>) {alpha_mem = dense<0.9> : tensor<f64>, reset = "zero"} : tensor<2xf32>
  }
}
// CHECK: snn.neuron "n": `reset` needs a spiking neuron (`v_threshold`)

// -----
// A synaptic gain needs a synaptic stage.
builtin.module {
  snn.graph attributes {dt = 1.0e-03 : f64} {
    %in = snn.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %n = snn.neuron "n"(%in : tensor<2xf32>) {alpha_mem = dense<0.9> : tensor<f64>, gain_syn = dense<0.5> : tensor<f64>} : tensor<2xf32>
  }
}
// CHECK: snn.neuron "n": `gain_syn` needs a synaptic stage (`alpha_syn`)

// -----
// Multi-spike neurons count floor(v / thr): thr must be positive.
builtin.module {
  snn.graph attributes {dt = 1.0e-03 : f64} {
    %in = snn.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %n = snn.neuron "n"(%in : tensor<2xf32>) {alpha_mem = dense<1.0> : tensor<f64>, v_threshold = dense<[1.0, 0.0]> : tensor<2xf64>, spikes = "multi"} : tensor<2xf32>
  }
}
// CHECK: snn.neuron "n": multi-spike neurons need v_threshold > 0 (spike count = floor(v / thr))

// -----
// A quantized neuron holds integers.
builtin.module {
  snn.graph attributes {dt = 1.0e-03 : f64} {
    %in = snn.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %n = snn.neuron "n"(%in : tensor<2xf32>) {alpha_mem = dense<60000> : tensor<i64>, v_threshold = dense<1.0> : tensor<f64>, scale = dense<100.0> : tensor<f64>, frac_bits = 16 : i64, state_bits = 16 : i64} : tensor<2xf32>
  }
}
// CHECK: snn.neuron "n": `v_threshold` of a quantized neuron must be an integer tensor, found float64

// -----
// Its threshold must fit in the state.
builtin.module {
  snn.graph attributes {dt = 1.0e-03 : f64} {
    %in = snn.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %n = snn.neuron "n"(%in : tensor<2xf32>) {alpha_mem = dense<60000> : tensor<i64>, v_threshold = dense<40000> : tensor<i32>, scale = dense<100.0> : tensor<f64>, frac_bits = 16 : i64, state_bits = 16 : i64} : tensor<2xf32>
  }
}
// CHECK: snn.neuron "n": `v_threshold` does not fit in 16-bit state: found values in [40000, 40000], the state holds [-32768, 32767]

// -----
// A quantized neuron needs its scale.
builtin.module {
  snn.graph attributes {dt = 1.0e-03 : f64} {
    %in = snn.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %n = snn.neuron "n"(%in : tensor<2xf32>) {alpha_mem = dense<60000> : tensor<i64>, v_threshold = dense<400> : tensor<i32>, frac_bits = 16 : i64, state_bits = 16 : i64} : tensor<2xf32>
  }
}
// CHECK: snn.neuron "n": a quantized neuron needs `scale` (floats > 0: state units per real unit)

// -----
// Integer weights need a shift (and a scale).
builtin.module {
  snn.graph attributes {dt = 1.0e-03 : f64} {
    %in = snn.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %a = snn.dense "a"(%in : tensor<2xf32>) {weight = dense<3> : tensor<4x2xi8>, scale = dense<1.0> : tensor<f64>} : tensor<4xf32>
  }
}
// CHECK: snn.dense "a": a quantized weight (integer) needs `shift`, an integer in 0..31

// -----
// Float weights have no shift.
builtin.module {
  snn.graph attributes {dt = 1.0e-03 : f64} {
    %in = snn.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %a = snn.dense "a"(%in : tensor<2xf32>) {weight = dense<0.5> : tensor<4x2xf32>, shift = 2 : i64} : tensor<4xf32>
  }
}
// CHECK: snn.dense "a": `shift` and `scale` belong to quantized (integer) weights only

// -----
// Delays are never negative.
builtin.module {
  snn.graph attributes {dt = 1.0e-03 : f64} {
    %in = snn.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %d = snn.delay "d"(%in : tensor<2xf32>) {steps = dense<-1> : tensor<i64>} : tensor<2xf32>
  }
}
// CHECK: snn.delay "d": `steps` must hold integers >= 0

// -----
// A reshape keeps the number of elements.
builtin.module {
  snn.graph attributes {dt = 1.0e-03 : f64} {
    %in = snn.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %r = snn.reshape "r"(%in : tensor<2xf32>) : tensor<3xf32>
  }
}
// CHECK: snn.reshape "r": cannot view [2] as [3]: sizes differ

// -----
// Names are unique.
builtin.module {
  snn.graph attributes {dt = 1.0e-03 : f64} {
    %in = snn.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %r = snn.scale "input"(%in : tensor<2xf32>) {scale = dense<2.0> : tensor<2xf32>} : tensor<2xf32>
  }
}
// CHECK: snn.scale "input": node name "input" is used twice; names must be unique

// -----
// An unknown field is most likely misspelt.
builtin.module {
  snn.graph attributes {dt = 1.0e-03 : f64} {
    %in = snn.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %n = snn.neuron "n"(%in : tensor<2xf32>) {alpha_mem = dense<0.9> : tensor<f64>, treshold = dense<1.0> : tensor<f64>} : tensor<2xf32>
  }
}
// CHECK: snn.neuron "n": unknown field(s) treshold; snn.neuron has alpha_mem, alpha_syn, bias_mem, compare, current_order, frac_bits, gain_mem, gain_syn, i_init, max_spikes, reset, scale, spikes, state_bits, v_init, v_min, v_reset, v_threshold

// -----
// A layer holds exactly one neuron.
builtin.module {
  snn.graph attributes {dt = 1.0e-03 : f64} {
    %in = snn.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %l = snn.layer "l"(%in : tensor<2xf32>) : tensor<2xf32> {
    ^bb0(%x: tensor<2xf32>):
      %w = snn.dense "w"(%x : tensor<2xf32>) {weight = dense<1.0> : tensor<2x2xf32>} : tensor<2xf32>
      snn.yield %w : tensor<2xf32>
    }
  }
}
// CHECK: snn.layer "l": a layer holds exactly one snn.neuron, found 0

// -----
// A layer's synapses read its arguments.
builtin.module {
  snn.graph attributes {dt = 1.0e-03 : f64} {
    %in = snn.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %l = snn.layer "l"(%in : tensor<2xf32>) : tensor<2xf32> {
    ^bb0(%x: tensor<2xf32>):
      %w = snn.dense "w"(%x : tensor<2xf32>) {weight = dense<1.0> : tensor<2x2xf32>} : tensor<2xf32>
      %w2 = snn.dense "w2"(%w : tensor<2xf32>) {weight = dense<1.0> : tensor<2x2xf32>} : tensor<2xf32>
      %n = snn.neuron "n"(%w2 : tensor<2xf32>) {alpha_mem = dense<0.9> : tensor<f64>} : tensor<2xf32>
      snn.yield %n : tensor<2xf32>
    }
  }
}
// CHECK: snn.dense "w2": a layer's synapse reads the layer's arguments only
