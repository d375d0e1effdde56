// RUN: not nirc opt %s -p lower-loihi2 2>&1 | filecheck %s

// A delay before a conv layer: netx's conv layers have no synaptic delays.
builtin.module {
  snn.graph attributes {dt = 1.000000e+00 : f64, integrator = "euler", reset = "zero"} {
    %x = snn.input "x" {shape = dense<[1, 3, 3]> : tensor<3xi64>} : tensor<1x3x3xf32>
    %d = snn.delay "d"(%x : tensor<1x3x3xf32>) {steps = dense<2> : tensor<i64>} : tensor<1x3x3xf32>
    %c = snn.layer "c"(%d : tensor<1x3x3xf32>) : tensor<1x3x3xf32> {
    ^bb0(%a: tensor<1x3x3xf32>):
      %w = snn.conv2d "w"(%a : tensor<1x3x3xf32>) {weight = dense<1.0> : tensor<1x1x1x1xf32>, stride = dense<1> : tensor<2xi64>, padding = dense<0> : tensor<2x2xi64>, dilation = dense<1> : tensor<2xi64>, groups = dense<1> : tensor<i64>} : tensor<1x3x3xf32>
      %n = snn.neuron "c"(%w : tensor<1x3x3xf32>) {alpha_mem = dense<1.0> : tensor<f64>, v_threshold = dense<1.0> : tensor<f64>, reset = "zero"} : tensor<1x3x3xf32>
      snn.yield %n : tensor<1x3x3xf32>
    }
    snn.output "out"(%c : tensor<1x3x3xf32>)
  }
}

// CHECK:      error: c: delays before a conv layer: netx's conv layers have no synaptic delays
// CHECK-NEXT:   expected: delays only before dense (Linear/Affine) layers
