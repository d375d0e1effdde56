// RUN: nirc opt %s --split-input-file -p canonicalize | filecheck %s
// RUN: xdsl-opt %s --split-input-file -p nir-canonicalize | filecheck %s
// RUN: nirc opt %s --split-input-file -p canonicalize --verify-each --print-generic | nirc opt - --split-input-file | filecheck %s

// Identity nodes go: Scale by exactly 1, Delay of 0 s, Flatten that keeps the
// shape. Their consumers read their input directly; the edges that replace
// d0 -> output and f -> li take the place of the edges into the removed nodes,
// hence the edge order input->li, input->output, li->output.
builtin.module {
  nir.graph {
    %in = nir.input "input" {shape = dense<3> : tensor<1xi64>} : tensor<3xf32>
    %one = nir.scale "one"(%in : tensor<3xf32>) {scale = dense<1.0> : tensor<3xf32>} : tensor<3xf32>
    %d0 = nir.delay "d0"(%one : tensor<3xf32>) {delay = dense<0.0> : tensor<3xf32>} : tensor<3xf32>
    %f = nir.flatten "f"(%d0 : tensor<3xf32>) {start_dim = dense<0> : tensor<i64>, end_dim = dense<-1> : tensor<i64>} : tensor<3xf32>
    %li = nir.li "li"(%f : tensor<3xf32>) {tau = dense<1.0e-02> : tensor<3xf32>, r = dense<1.0> : tensor<3xf32>, v_leak = dense<0.0> : tensor<3xf32>} : tensor<3xf32>
    nir.output "output"(%li, %d0 : tensor<3xf32>, tensor<3xf32>) {shape = dense<3> : tensor<1xi64>}
  }
}
// CHECK:      nir.graph attributes {edge_order = dense<[0, 2, 1]> : tensor<3xi64>} {
// CHECK-NEXT:   %in = nir.input "input"
// CHECK-NEXT:   %li = nir.li "li"(%in : tensor<3xf32>)
// CHECK-NEXT:   nir.output "output"(%li, %in : tensor<3xf32>, tensor<3xf32>)
// CHECK-NEXT: }

// -----
// Kept: a Scale that scales, a Delay that delays, a Flatten that reshapes, and
// an identity Scale with two inputs (removing it would change the fan-in).
builtin.module {
  nir.graph {
    %in = nir.input "input" {shape = dense<[2, 3]> : tensor<2xi64>} : tensor<2x3xf32>
    %s = nir.scale "s"(%in : tensor<2x3xf32>) {scale = dense<[[1.0, 1.0, 1.0], [1.0, 1.0, 2.0]]> : tensor<2x3xf32>} : tensor<2x3xf32>
    %d = nir.delay "d"(%s : tensor<2x3xf32>) {delay = dense<1.0e-03> : tensor<2x3xf32>} : tensor<2x3xf32>
    %two = nir.scale "two"(%d, %in : tensor<2x3xf32>, tensor<2x3xf32>) {scale = dense<1.0> : tensor<2x3xf32>} : tensor<2x3xf32>
    %f = nir.flatten "f"(%two : tensor<2x3xf32>) {start_dim = dense<0> : tensor<i64>, end_dim = dense<1> : tensor<i64>} : tensor<6xf32>
    nir.output "output"(%f : tensor<6xf32>) {shape = dense<6> : tensor<1xi64>}
  }
}
// CHECK:      %s = nir.scale "s"
// CHECK-NEXT: %d = nir.delay "d"
// CHECK-NEXT: %two = nir.scale "two"(%d, %in
// CHECK-NEXT: %f = nir.flatten "f"

// -----
// Affine with an all-zero bias is a Linear (name, weight, metadata kept);
// a non-zero bias stays.
builtin.module {
  nir.graph {
    %in = nir.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %a = nir.affine "a"(%in, %b : tensor<2xf32>, tensor<2xf32>) {weight = dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>, bias = dense<[0.0, -0.0]> : tensor<2xf32>, metadata = {origin = "torch"}} : tensor<2xf32>
    %b = nir.affine "b"(%a : tensor<2xf32>) {weight = dense<1.0> : tensor<2x2xf32>, bias = dense<[0.0, 1.0]> : tensor<2xf32>} : tensor<2xf32>
    nir.output "output"(%b : tensor<2xf32>) {shape = dense<2> : tensor<1xi64>}
  }
}
// CHECK:      %a = nir.linear "a"(%in, %b : tensor<2xf32>, tensor<2xf32>) {weight = dense<{{\[\[}}1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00]]> : tensor<2x2xf32>, metadata = {origin = "torch"}} : tensor<2xf32>
// CHECK-NEXT: %b = nir.affine "b"

// -----
// Edge order: the edges out of a removed node take the place of the edge into
// it, so a depth-first search from the Inputs still meets x before y
// (file order input->x, input->y; block order puts y first).
builtin.module {
  nir.graph {
    %in = nir.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %s = nir.scale "s"(%in : tensor<2xf32>) {scale = dense<1.0> : tensor<2xf32>} : tensor<2xf32>
    %y = nir.threshold "y"(%in : tensor<2xf32>) {threshold = dense<0.5> : tensor<2xf32>} : tensor<2xf32>
    %x = nir.threshold "x"(%s : tensor<2xf32>) {threshold = dense<0.5> : tensor<2xf32>} : tensor<2xf32>
    nir.output "output"(%x, %y : tensor<2xf32>, tensor<2xf32>) {shape = dense<2> : tensor<1xi64>}
  }
}
// CHECK:      nir.graph attributes {edge_order = dense<[1, 0, 2, 3]> : tensor<4xi64>} {
// CHECK-NEXT:   %in = nir.input "input"
// CHECK-NEXT:   %y = nir.threshold "y"(%in
// CHECK-NEXT:   %x = nir.threshold "x"(%in
