// RUN: nirc opt %s -p lower-speck | filecheck %s
// RUN: nirc opt %s -p lower-speck | %roundtrip | filecheck %s

// A conv -> IF -> sum-pool layer feeding a Linear -> IF readout (the Linear
// becomes a convolution covering its 2x2x2 input), as `fuse` leaves it.

builtin.module {
  snn.graph attributes {dt = 1.000000e+00 : f64, integrator = "euler", reset = "zero"} {
    %input = snn.input "input" {shape = dense<[1, 5, 5]> : tensor<3xi64>} : tensor<1x5x5xf32>
    %pool1 = snn.layer "if1"(%input : tensor<1x5x5xf32>) : tensor<2x2x2xf32> {
    ^bb0(%input_1: tensor<1x5x5xf32>):
      %conv1 = snn.conv2d "conv1"(%input_1 : tensor<1x5x5xf32>) {weight = dense<[[[[5.000000e-01, -2.500000e-01], [2.500000e-01, 1.000000e+00]]], [[[1.000000e+00, 5.000000e-01], [-5.000000e-01, 2.500000e-01]]]]> : tensor<2x1x2x2xf32>, stride = dense<1> : tensor<2xi64>, padding = dense<0> : tensor<2x2xi64>, dilation = dense<1> : tensor<2xi64>, groups = dense<1> : tensor<i64>} : tensor<2x4x4xf32>
      %if1 = snn.neuron "if1"(%conv1 : tensor<2x4x4xf32>) {alpha_mem = dense<1.000000e+00> : tensor<f64>, v_threshold = dense<1.000000e+00> : tensor<f64>, reset = "zero"} : tensor<2x4x4xf32>
      %pool1_1 = snn.sum_pool2d "pool1"(%if1 : tensor<2x4x4xf32>) {kernel_size = dense<2> : tensor<2xi64>, stride = dense<2> : tensor<2xi64>, padding = dense<0> : tensor<2xi64>} : tensor<2x2x2xf32>
      snn.yield %pool1_1 : tensor<2x2x2xf32>
    }
    %if2 = snn.layer "if2"(%pool1 : tensor<2x2x2xf32>) : tensor<3xf32> {
    ^bb0(%pool1_2: tensor<2x2x2xf32>):
      %fc = snn.dense "fc"(%pool1_2 : tensor<2x2x2xf32>) {weight = dense<[[[[-5.000000e-01, -2.500000e-01], [0.000000e+00, 2.500000e-01]], [[5.000000e-01, -5.000000e-01], [-2.500000e-01, 0.000000e+00]]], [[[2.500000e-01, 5.000000e-01], [-5.000000e-01, -2.500000e-01]], [[0.000000e+00, 2.500000e-01], [5.000000e-01, -5.000000e-01]]], [[[-2.500000e-01, 0.000000e+00], [2.500000e-01, 5.000000e-01]], [[-5.000000e-01, -2.500000e-01], [0.000000e+00, 2.500000e-01]]]]> : tensor<3x2x2x2xf32>, in_rank = 3 : i64} : tensor<3xf32>
      %if2_1 = snn.neuron "if2"(%fc : tensor<3xf32>) {alpha_mem = dense<1.000000e+00> : tensor<f64>, v_threshold = dense<1.500000e+00> : tensor<f64>, reset = "zero"} : tensor<3xf32>
      snn.yield %if2_1 : tensor<3xf32>
    }
    snn.output "output"(%if2 : tensor<3xf32>)
  }
}

// CHECK:      speck.chip attributes {dt = 1.000000e+00 : f64, spike_mode = "single"} {
// CHECK-NEXT:   %input = speck.input "input" {shape = array<i64: 1, 5, 5>} : tensor<1x5x5xi32>
// CHECK-NEXT:   %c0 = speck.core "if1"(%input : tensor<1x5x5xi32>) {core = 0 : i64, input_shape = array<i64: 1, 5, 5>,
// CHECK-SAME:     weights = dense<[{{\[\[}}[64, -32], [32, 127]]], {{\[\[}}[127, 64], [-64, 32]]]]> : tensor<2x1x2x2xi8>
// CHECK-SAME:     stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, threshold_high = 128 : i64, threshold_low = -32768 : i64,
// CHECK-SAME:     return_to_zero = true, leak_enable = false, monitor_enable = false, destinations = array<i64: 1>, pooling = array<i64: 2>,
// CHECK-SAME:     sources = ["conv1", "if1", "pool1"]} : tensor<2x4x4xi32>
// CHECK-NEXT:   %c1 = speck.core "if2"(%c0 : tensor<2x4x4xi32>) {core = 1 : i64, input_shape = array<i64: 2, 2, 2>,
// CHECK-SAME:     : tensor<3x2x2x2xi8>
// CHECK-SAME:     monitor_enable = true, destinations = array<i64>, pooling = array<i64>
// CHECK-SAME:     sources = ["fc", "if2"]} : tensor<3x1x1xi32>
// CHECK-NEXT:   speck.output "output"(%c1 : tensor<3x1x1xi32>) {shape = array<i64: 3>}
// CHECK-NEXT: }
