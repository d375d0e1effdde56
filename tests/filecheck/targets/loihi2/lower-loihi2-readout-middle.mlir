// RUN: not nirc opt %s -p lower-loihi2 2>&1 | filecheck %s

// A non-spiking layer (an LI) in the middle: lava's CUBA neurons send binary spikes.
builtin.module {
  snn.graph attributes {dt = 1.000000e+00 : f64, integrator = "euler", reset = "zero"} {
    %x = snn.input "x" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %li = snn.layer "li"(%x : tensor<2xf32>) : tensor<2xf32> {
    ^bb0(%a: tensor<2xf32>):
      %wa = snn.dense "wa"(%a : tensor<2xf32>) {weight = dense<[[1.0, 0.5], [0.5, 1.0]]> : tensor<2x2xf32>} : tensor<2xf32>
      %na = snn.neuron "li"(%wa : tensor<2xf32>) {alpha_mem = dense<0.5> : tensor<f64>} : tensor<2xf32>
      snn.yield %na : tensor<2xf32>
    }
    %lif = snn.layer "lif"(%li : tensor<2xf32>) : tensor<2xf32> {
    ^bb0(%b: tensor<2xf32>):
      %wb = snn.dense "wb"(%b : tensor<2xf32>) {weight = dense<[[1.0, 0.0], [0.0, 1.0]]> : tensor<2x2xf32>} : tensor<2xf32>
      %nb = snn.neuron "lif"(%wb : tensor<2xf32>) {alpha_mem = dense<1.0> : tensor<f64>, v_threshold = dense<1.0> : tensor<f64>, reset = "zero"} : tensor<2xf32>
      snn.yield %nb : tensor<2xf32>
    }
    snn.output "out"(%lif : tensor<2xf32>)
  }
}

// CHECK:      error: li: a non-spiking layer (LI, CubaLI, I) in the middle of the network: lava's CUBA neurons send binary spikes, so a real-valued voltage cannot reach the next layer
// CHECK-NEXT:   expected: non-spiking neurons only in the last layer (a readout)
