// RUN: nirc opt %s | filecheck %s
// RUN: nirc opt %s | %roundtrip | filecheck %s

// Two cores: a 3x3 convolution on core 0 sends its spikes, sum-pooled by 2,
// to a whole-input convolution (a Linear) on core 5, whose spikes go to the host.

builtin.module {
  speck.chip attributes {dt = 1.000000e+00 : f64, spike_mode = "single"} {
    %input = speck.input "input" {shape = array<i64: 1, 6, 6>} : tensor<1x6x6xi32>
    %c0 = speck.core "conv"(%input : tensor<1x6x6xi32>) {core = 0 : i64, input_shape = array<i64: 1, 6, 6>, weights = dense<1> : tensor<2x1x3x3xi8>, biases = dense<[0, -1]> : tensor<2xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -32768 : i64, return_to_zero = true, leak_enable = true, monitor_enable = false, destinations = array<i64: 5>, pooling = array<i64: 2>, scale = 1.000000e+01 : f64, sources = ["c", "if"]} : tensor<2x6x6xi32>
    %c5 = speck.core "fc"(%c0 : tensor<2x6x6xi32>) {core = 5 : i64, input_shape = array<i64: 2, 3, 3>, weights = dense<-3> : tensor<4x2x3x3xi8>, biases = dense<0> : tensor<4xi8>, stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, threshold_high = 7 : i64, threshold_low = -7 : i64, return_to_zero = false, leak_enable = false, monitor_enable = true, destinations = array<i64>, pooling = array<i64>} : tensor<4x1x1xi32>
    speck.output "output"(%c5 : tensor<4x1x1xi32>) {shape = array<i64: 4>}
  }
}

// CHECK:      speck.chip attributes {dt = 1.000000e+00 : f64, spike_mode = "single"} {
// CHECK-NEXT:   %input = speck.input "input" {shape = array<i64: 1, 6, 6>} : tensor<1x6x6xi32>
// CHECK-NEXT:   %c0 = speck.core "conv"(%input : tensor<1x6x6xi32>) {core = 0 : i64, input_shape = array<i64: 1, 6, 6>, weights = dense<1> : tensor<2x1x3x3xi8>, biases = dense<[0, -1]> : tensor<2xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -32768 : i64, return_to_zero = true, leak_enable = true, monitor_enable = false, destinations = array<i64: 5>, pooling = array<i64: 2>, scale = 1.000000e+01 : f64, sources = ["c", "if"]} : tensor<2x6x6xi32>
// CHECK-NEXT:   %c5 = speck.core "fc"(%c0 : tensor<2x6x6xi32>) {core = 5 : i64, input_shape = array<i64: 2, 3, 3>, weights = dense<-3> : tensor<4x2x3x3xi8>, biases = dense<0> : tensor<4xi8>, stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, threshold_high = 7 : i64, threshold_low = -7 : i64, return_to_zero = false, leak_enable = false, monitor_enable = true, destinations = array<i64>, pooling = array<i64>} : tensor<4x1x1xi32>
// CHECK-NEXT:   speck.output "output"(%c5 : tensor<4x1x1xi32>) {shape = array<i64: 4>}
// CHECK-NEXT: }
