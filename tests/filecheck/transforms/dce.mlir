// RUN: nirc opt %s --split-input-file -p dce | filecheck %s
// RUN: xdsl-opt %s --split-input-file -p nir-dce | filecheck %s

// Nodes whose value reaches no Output go, dead recurrent loops included;
// Inputs and Outputs stay, even unconnected ones.
builtin.module {
  nir.graph {
    %in = nir.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %unused = nir.input "unused" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %live = nir.li "live"(%in : tensor<2xf32>) {tau = dense<1.0e-02> : tensor<2xf32>, r = dense<1.0> : tensor<2xf32>, v_leak = dense<0.0> : tensor<2xf32>} : tensor<2xf32>
    %probe = nir.threshold "probe"(%live : tensor<2xf32>) {threshold = dense<0.5> : tensor<2xf32>} : tensor<2xf32>
    %chain = nir.scale "chain"(%probe : tensor<2xf32>) {scale = dense<2.0> : tensor<2xf32>} : tensor<2xf32>
    %loop_a = nir.linear "loop_a"(%in, %loop_b : tensor<2xf32>, tensor<2xf32>) {weight = dense<1.0> : tensor<2x2xf32>} : tensor<2xf32>
    %loop_b = nir.if "loop_b"(%loop_a : tensor<2xf32>) {r = dense<1.0> : tensor<2xf32>, v_threshold = dense<1.0> : tensor<2xf32>} : tensor<2xf32>
    nir.output "output"(%live : tensor<2xf32>) {shape = dense<2> : tensor<1xi64>}
    nir.output "spare" {shape = dense<2> : tensor<1xi64>}
  }
}
// CHECK:      nir.graph {
// CHECK-NEXT:   %in = nir.input "input"
// CHECK-NEXT:   %unused = nir.input "unused"
// CHECK-NEXT:   %live = nir.li "live"(%in : tensor<2xf32>)
// CHECK-NEXT:   nir.output "output"(%live : tensor<2xf32>)
// CHECK-NEXT:   nir.output "spare" {shape = dense<2> : tensor<1xi64>}
// CHECK-NEXT: }

// -----
// A nested graph whose results feed nothing is one dead node; inside a live
// nested graph, nodes that reach none of its outputs go. The remaining edges
// keep their file order (here a permutation).
builtin.module {
  nir.graph attributes {edge_order = dense<[3, 0, 1, 2, 4]> : tensor<5xi64>} {
    %in = nir.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %live = nir.graph "live" -> tensor<2xf32> {
      %i = nir.input "input"(%in : tensor<2xf32>) {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
      %keep = nir.scale "keep"(%i : tensor<2xf32>) {scale = dense<3.0> : tensor<2xf32>} : tensor<2xf32>
      %drop = nir.scale "drop"(%i : tensor<2xf32>) {scale = dense<4.0> : tensor<2xf32>} : tensor<2xf32>
      nir.output "output"(%keep : tensor<2xf32>) {shape = dense<2> : tensor<1xi64>}
    }
    %dead = nir.graph "dead" -> tensor<2xf32> {
      %i = nir.input "input"(%in : tensor<2xf32>) {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
      nir.output "output"(%i : tensor<2xf32>) {shape = dense<2> : tensor<1xi64>}
    }
    %sink = nir.scale "sink"(%dead : tensor<2xf32>) {scale = dense<1.0> : tensor<2xf32>} : tensor<2xf32>
    nir.output "output"(%live, %in : tensor<2xf32>, tensor<2xf32>) {shape = dense<2> : tensor<1xi64>}
  }
}
// CHECK:      nir.graph attributes {edge_order = dense<[1, 0, 2]> : tensor<3xi64>} {
// CHECK-NEXT:   %in = nir.input "input"
// CHECK-NEXT:   %live = nir.graph "live" -> tensor<2xf32> {
// CHECK-NEXT:     %i = nir.input "input"(%in : tensor<2xf32>)
// CHECK-NEXT:     %keep = nir.scale "keep"(%i : tensor<2xf32>)
// CHECK-NEXT:     nir.output "output"(%keep : tensor<2xf32>)
// CHECK-NEXT:   }
// CHECK-NEXT:   nir.output "output"(%live, %in : tensor<2xf32>, tensor<2xf32>)
// CHECK-NEXT: }
