// RUN: nirc opt %s --split-input-file -p canonicalize | filecheck %s
// RUN: nirc opt %s --split-input-file -p canonicalize --verify-each --print-generic | nirc opt - --split-input-file | filecheck %s

// `canonicalize` on the `snn` dialect (exact rewrites): a scale by 1, a delay
// of 0 steps and a reshape to the same shape go; a delay of a delay merges
// (2 + 3 steps), as does a reshape of a reshape; neuron parameters equal to
// their defaults go, uniform ones become 0-d.
builtin.module {
  snn.graph attributes {dt = 1.0e-03 : f64} {
    %in = snn.input "input" {shape = dense<[2, 2]> : tensor<2xi64>} : tensor<2x2xf32>
    %one = snn.scale "one"(%in : tensor<2x2xf32>) {scale = dense<1.0> : tensor<2x2xf32>} : tensor<2x2xf32>
    %zero = snn.delay "zero"(%one : tensor<2x2xf32>) {steps = dense<0> : tensor<i64>} : tensor<2x2xf32>
    %same = snn.reshape "same"(%zero : tensor<2x2xf32>) : tensor<2x2xf32>
    %r1 = snn.reshape "r1"(%same : tensor<2x2xf32>) : tensor<1x4xf32>
    %r2 = snn.reshape "r2"(%r1 : tensor<1x4xf32>) : tensor<4xf32>
    %d1 = snn.delay "d1"(%r2 : tensor<4xf32>) {steps = dense<2> : tensor<i64>} : tensor<4xf32>
    %d2 = snn.delay "d2"(%d1 : tensor<4xf32>) {steps = dense<3> : tensor<4xi64>} : tensor<4xf32>
    %n = snn.neuron "n"(%d2 : tensor<4xf32>) {alpha_mem = dense<[0.9, 0.9, 0.9, 0.9]> : tensor<4xf64>, gain_mem = dense<1.0> : tensor<f64>, bias_mem = dense<0.0> : tensor<4xf64>, v_threshold = dense<1.0> : tensor<4xf64>, v_reset = dense<0.0> : tensor<f64>, reset = "zero"} : tensor<4xf32>
    %q = snn.neuron "q"(%n : tensor<4xf32>) {alpha_mem = dense<60000> : tensor<4xi64>, gain_mem = dense<65536> : tensor<i64>, v_threshold = dense<100> : tensor<i32>, v_reset = dense<0> : tensor<i32>, scale = dense<100.0> : tensor<4xf64>, frac_bits = 16 : i64, state_bits = 16 : i64} : tensor<4xf32>
    snn.output "output"(%q : tensor<4xf32>)
  }
}
// CHECK:      %in = snn.input "input"
// CHECK-NEXT: %r2 = snn.reshape "r2"(%in : tensor<2x2xf32>) : tensor<4xf32>
// CHECK-NEXT: %d2 = snn.delay "d2"(%r2 : tensor<4xf32>) {steps = dense<5> : tensor<i64>} : tensor<4xf32>
// CHECK-NEXT: %n = snn.neuron "n"(%d2 : tensor<4xf32>) {alpha_mem = dense<9.000000e-01> : tensor<f64>, v_threshold = dense<1.000000e+00> : tensor<f64>, reset = "zero"} : tensor<4xf32>
// CHECK-NEXT: %q = snn.neuron "q"(%n : tensor<4xf32>) {alpha_mem = dense<60000> : tensor<i64>, v_threshold = dense<100> : tensor<i32>, scale = dense<1.000000e+02> : tensor<f64>, frac_bits = 16 : i64, state_bits = 16 : i64} : tensor<4xf32>
// CHECK-NEXT: snn.output "output"(%q : tensor<4xf32>)

// -----
// Kept: a scale that scales, per-element delays, a delay read twice, an
// identity with two inputs (it sums them), and a bias of -0.0.
builtin.module {
  snn.graph attributes {dt = 1.0e-03 : f64} {
    %in = snn.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %s = snn.scale "s"(%in : tensor<2xf32>) {scale = dense<[1.0, 2.0]> : tensor<2xf32>} : tensor<2xf32>
    %d1 = snn.delay "d1"(%s : tensor<2xf32>) {steps = dense<[1, 2]> : tensor<2xi64>} : tensor<2xf32>
    %d2 = snn.delay "d2"(%d1 : tensor<2xf32>) {steps = dense<1> : tensor<i64>} : tensor<2xf32>
    %two = snn.delay "two"(%d2, %in : tensor<2xf32>, tensor<2xf32>) {steps = dense<0> : tensor<i64>} : tensor<2xf32>
    %n = snn.neuron "n"(%two : tensor<2xf32>) {alpha_mem = dense<0.5> : tensor<f64>, bias_mem = dense<-0.0> : tensor<f64>} : tensor<2xf32>
    snn.output "output"(%n, %d2 : tensor<2xf32>, tensor<2xf32>)
  }
}
// CHECK:      %s = snn.scale "s"
// CHECK-NEXT: %d1 = snn.delay "d1"
// CHECK-NEXT: %d2 = snn.delay "d2"(%d1 : tensor<2xf32>)
// CHECK-NEXT: %two = snn.delay "two"(%d2, %in : tensor<2xf32>, tensor<2xf32>)
// CHECK-NEXT: %n = snn.neuron "n"(%two : tensor<2xf32>) {alpha_mem = dense<5.000000e-01> : tensor<f64>, bias_mem = dense<-0.000000e+00> : tensor<f64>}
