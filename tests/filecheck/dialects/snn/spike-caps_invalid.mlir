// RUN: nirc opt %s --split-input-file --verify-diagnostics | filecheck %s

// The rules of `max_spikes` and `v_min` (see spike-caps.mlir), one broken per chunk.
// A cap belongs to multi-spike neurons: a binary neuron emits one spike at most.
builtin.module {
  snn.graph attributes {dt = 1.0e-03 : f64} {
    %in = snn.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %n = snn.neuron "n"(%in : tensor<2xf32>) {alpha_mem = dense<1.0> : tensor<f64>, v_threshold = dense<1.0> : tensor<f64>, max_spikes = 4 : i64} : tensor<2xf32>
  }
}
// CHECK: snn.neuron "n": `max_spikes` caps multi-spike neurons (`spikes = "multi"`); binary neurons emit at most one spike per step already

// -----
// A cap of one spike is binary spikes; below one, nothing could spike.
builtin.module {
  snn.graph attributes {dt = 1.0e-03 : f64} {
    %in = snn.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %n = snn.neuron "n"(%in : tensor<2xf32>) {alpha_mem = dense<1.0> : tensor<f64>, v_threshold = dense<1.0> : tensor<f64>, spikes = "multi", max_spikes = 1 : i64} : tensor<2xf32>
  }
}
// CHECK: snn.neuron "n": `max_spikes` must be an integer >= 2, found 1 (a cap of 1 is `spikes = "binary"`)

// -----
// Both need a spiking neuron.
builtin.module {
  snn.graph attributes {dt = 1.0e-03 : f64} {
    %in = snn.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %n = snn.neuron "n"(%in : tensor<2xf32>) {alpha_mem = dense<0.9> : tensor<f64>, v_min = dense<-1.0> : tensor<f64>} : tensor<2xf32>
  }
}
// CHECK: snn.neuron "n": `v_min` needs a spiking neuron (`v_threshold`)

// -----
// A quantized neuron's bound must fit its state.
builtin.module {
  snn.graph attributes {dt = 1.0e-03 : f64} {
    %in = snn.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %q = snn.neuron "q"(%in : tensor<2xf32>) {alpha_mem = dense<65536> : tensor<i64>, v_threshold = dense<100> : tensor<i64>, v_min = dense<-40000> : tensor<i64>, scale = dense<100.0> : tensor<f64>, frac_bits = 16 : i64, state_bits = 16 : i64} : tensor<2xf32>
  }
}
// CHECK: snn.neuron "q": `v_min` does not fit in 16-bit state: found values in [-40000, -40000], the state holds [-32768, 32767]
