// RUN: nirc opt %s --split-input-file | filecheck %s
// RUN: nirc opt %s --split-input-file | %roundtrip | filecheck %s

// Two facts a framework's file leaves out, on `snn.neuron`: `max_spikes`, the
// most spikes a multi-spike neuron emits per step (Rockpool's
// max_spikes_per_dt, Xylo's 31 per hidden neuron), and `v_min`, a lower
// bound of the membrane after the reset (Sinabs' min_v_mem, Speck's
// threshold_low). Both are optional: a neuron without them is what it was.
builtin.module {
  snn.graph attributes {dt = 1.0e-03 : f64} {
    %in = snn.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %h = snn.neuron "h"(%in : tensor<2xf32>) {alpha_mem = dense<0.875> : tensor<f64>, v_threshold = dense<1.0> : tensor<f64>, reset = "subtract", compare = "ge", spikes = "multi", max_spikes = 31 : i64, v_min = dense<-1.0> : tensor<f64>} : tensor<2xf32>
    snn.output "output"(%h : tensor<2xf32>)
  }
}
// CHECK: snn.neuron "h"
// CHECK-SAME: spikes = "multi", max_spikes = 31 : i64, v_min = dense<-1.000000e+00> : tensor<f64>

// -----
// A quantized neuron's v_min is in state units, an integer that fits.
builtin.module {
  snn.graph attributes {dt = 1.0e-03 : f64} {
    %in = snn.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %q = snn.neuron "q"(%in : tensor<2xf32>) {alpha_mem = dense<65536> : tensor<i64>, v_threshold = dense<100> : tensor<i64>, spikes = "multi", max_spikes = 3 : i64, v_min = dense<-100> : tensor<i64>, scale = dense<100.0> : tensor<f64>, frac_bits = 16 : i64, state_bits = 16 : i64} : tensor<2xf32>
    snn.output "output"(%q : tensor<2xf32>)
  }
}
// CHECK: snn.neuron "q"
// CHECK-SAME: max_spikes = 3 : i64, v_min = dense<-100> : tensor<i64>
