// RUN: nirc opt %s -p dce | filecheck %s

// `dce` on the `snn` dialect: ops whose value reaches no snn.output go, a
// dead recurrent loop (through its delay) and a dead fused layer included;
// inputs and outputs stay.
builtin.module {
  snn.graph attributes {dt = 1.0e-03 : f64} {
    %in = snn.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %unused = snn.input "unused" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %live = snn.neuron "live"(%in : tensor<2xf32>) {alpha_mem = dense<0.5> : tensor<f64>} : tensor<2xf32>
    %loop = snn.dense "loop"(%in, %ld : tensor<2xf32>, tensor<2xf32>) {weight = dense<1.0> : tensor<2x2xf32>} : tensor<2xf32>
    %ld = snn.delay "loop.delay"(%loop : tensor<2xf32>) {steps = dense<1> : tensor<i64>} : tensor<2xf32>
    %layer = snn.layer "dead_layer"(%live : tensor<2xf32>) : tensor<2xf32> {
    ^bb0(%x: tensor<2xf32>):
      %w = snn.dense "w"(%x : tensor<2xf32>) {weight = dense<1.0> : tensor<2x2xf32>} : tensor<2xf32>
      %n = snn.neuron "n"(%w : tensor<2xf32>) {alpha_mem = dense<0.5> : tensor<f64>} : tensor<2xf32>
      snn.yield %n : tensor<2xf32>
    }
    snn.output "output"(%live : tensor<2xf32>)
    snn.output "spare"
  }
}
// CHECK:      snn.graph attributes {dt = 1.000000e-03 : f64} {
// CHECK-NEXT:   %in = snn.input "input"
// CHECK-NEXT:   %unused = snn.input "unused"
// CHECK-NEXT:   %live = snn.neuron "live"(%in : tensor<2xf32>)
// CHECK-NEXT:   snn.output "output"(%live : tensor<2xf32>)
// CHECK-NEXT:   snn.output "spare"
// CHECK-NEXT: }
