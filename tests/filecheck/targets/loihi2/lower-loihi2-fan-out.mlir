// RUN: not nirc opt %s -p lower-loihi2 2>&1 | filecheck %s

// A branch and a merge: the input feeds `la` and `sum`, and `sum` also reads
// `la`'s spikes. A netx chain has neither; the first node that branches is named.
builtin.module {
  snn.graph attributes {dt = 1.000000e+00 : f64, integrator = "euler", reset = "zero"} {
    %x = snn.input "x" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %la = snn.layer "la"(%x : tensor<2xf32>) : tensor<2xf32> {
    ^bb0(%a: tensor<2xf32>):
      %wa = snn.dense "wa"(%a : tensor<2xf32>) {weight = dense<[[1.0, 0.5], [0.5, 1.0]]> : tensor<2x2xf32>} : tensor<2xf32>
      %na = snn.neuron "la"(%wa : tensor<2xf32>) {alpha_mem = dense<1.0> : tensor<f64>, v_threshold = dense<1.0> : tensor<f64>, reset = "zero"} : tensor<2xf32>
      snn.yield %na : tensor<2xf32>
    }
    %sum = snn.layer "sum"(%x, %la : tensor<2xf32>, tensor<2xf32>) : tensor<2xf32> {
    ^bb0(%b: tensor<2xf32>, %c: tensor<2xf32>):
      %fb = snn.dense "fb"(%b : tensor<2xf32>) {weight = dense<[[1.0, 0.0], [0.0, 1.0]]> : tensor<2x2xf32>} : tensor<2xf32>
      %fc = snn.dense "fc"(%c : tensor<2xf32>) {weight = dense<[[0.5, 0.5], [0.5, 0.5]]> : tensor<2x2xf32>} : tensor<2xf32>
      %ns = snn.neuron "sum"(%fb, %fc : tensor<2xf32>, tensor<2xf32>) {alpha_mem = dense<1.0> : tensor<f64>, v_threshold = dense<1.0> : tensor<f64>, reset = "zero"} : tensor<2xf32>
      snn.yield %ns : tensor<2xf32>
    }
    snn.output "out"(%sum : tensor<2xf32>)
  }
}

// CHECK:      error: x: `x` feeds 2 nodes (`la`, `sum`): a netx chain has no branches
// CHECK-NEXT:   expected: a chain: one Input, then layers each reading the one before, the Output last
