// RUN: nirc opt %s | filecheck %s
// RUN: nirc opt %s | %roundtrip | filecheck %s
// RUN: nirc opt %s --print-generic | nirc opt - | filecheck %s
// RUN: xdsl-opt %s | filecheck %s

// Every op of the `nir` dialect in its custom syntax: name, operands with
// their types, NIR fields in the attribute dictionary, result type.

builtin.module {
  nir.graph attributes {metadata = {dt = dense<1.000000e-04> : tensor<f64>, note = "custom syntax"}} {
    %in = nir.input "input" {shape = dense<[2, 6, 6]> : tensor<3xi64>} : tensor<2x6x6xf32>
    %conv = nir.conv2d "conv"(%in : tensor<2x6x6xf32>) {weight = dense<0.5> : tensor<4x2x3x3xf32>, stride = dense<1> : tensor<2xi64>, padding = "same", dilation = dense<1> : tensor<2xi64>, groups = dense<1> : tensor<i64>, bias = dense<0.0> : tensor<4xf32>} : tensor<4x6x6xf32>
    %sum = nir.sum_pool2d "sum"(%conv : tensor<4x6x6xf32>) {kernel_size = dense<2> : tensor<2xi64>, stride = dense<2> : tensor<2xi64>, padding = dense<0> : tensor<2xi64>} : tensor<4x3x3xf32>
    %avg = nir.avg_pool2d "avg"(%sum : tensor<4x3x3xf32>) {kernel_size = dense<[2, 1]> : tensor<2xi64>, stride = dense<1> : tensor<2xi64>, padding = dense<0> : tensor<2xi64>} : tensor<4x2x3xf32>
    %flat = nir.flatten "flat"(%avg : tensor<4x2x3xf32>) {start_dim = dense<0> : tensor<i64>, end_dim = dense<-1> : tensor<i64>, input_type = dense<[4, 2, 3]> : tensor<3xi64>} : tensor<24xf32>
    %aff = nir.affine "aff"(%flat : tensor<24xf32>) {weight = dense<0.25> : tensor<3x24xf32>, bias = dense<[1.0, 2.0, 3.0]> : tensor<3xf32>, metadata = {unit = "mA", ids = dense<[1, 2]> : tensor<2xui8>}} : tensor<3xf32>
    // a recurrent loop: %lif is used before it is defined
    %lin = nir.linear "w_rec"(%lif : tensor<3xf32>) {weight = dense<[[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]> : tensor<3x3xf32>} : tensor<3xf32>
    %lif = nir.lif "lif.0"(%aff, %lin : tensor<3xf32>, tensor<3xf32>) {tau = dense<[1.0e-02, 2.0e-02, 3.0e-02]> : tensor<3xf64>, r = dense<1.0> : tensor<3xf64>, v_leak = dense<0.0> : tensor<3xf64>, v_threshold = dense<1.0> : tensor<3xf64>, v_reset = dense<0.0> : tensor<3xf64>} : tensor<3xf32>
    %scale = nir.scale "scale"(%lif : tensor<3xf32>) {scale = dense<2.0> : tensor<3xf32>} : tensor<3xf32>
    %delay = nir.delay "delay"(%scale : tensor<3xf32>) {delay = dense<1.0e-03> : tensor<3xf32>} : tensor<3xf32>
    %thr = nir.threshold "thr"(%delay : tensor<3xf32>) {threshold = dense<0.5> : tensor<3xf32>} : tensor<3xf32>
    %i = nir.i "i"(%thr : tensor<3xf32>) {r = dense<1.0> : tensor<3xf32>} : tensor<3xf32>
    %li = nir.li "li"(%i : tensor<3xf32>) {tau = dense<1.0e-02> : tensor<3xf32>, r = dense<1.0> : tensor<3xf32>, v_leak = dense<0.0> : tensor<3xf32>} : tensor<3xf32>
    %if = nir.if "if"(%li : tensor<3xf32>) {r = dense<1.0> : tensor<3xf32>, v_threshold = dense<1.0> : tensor<3xf32>} : tensor<3xf32>
    %cli = nir.cuba_li "cuba_li"(%if : tensor<3xf32>) {tau_syn = dense<5.0e-03> : tensor<3xf32>, tau_mem = dense<1.0e-02> : tensor<3xf32>, r = dense<1.0> : tensor<3xf32>, v_leak = dense<0.0> : tensor<3xf32>, w_in = dense<2.0> : tensor<f32>} : tensor<3xf32>
    %clif = nir.cuba_lif "cuba_lif"(%cli : tensor<3xf32>) {tau_syn = dense<5.0e-03> : tensor<3xf32>, tau_mem = dense<1.0e-02> : tensor<3xf32>, r = dense<1.0> : tensor<3xf32>, v_leak = dense<0.0> : tensor<3xf32>, v_threshold = dense<1.0> : tensor<3xf32>, v_reset = dense<0.0> : tensor<3xf32>, w_in = dense<1.0> : tensor<3xf32>} : tensor<3xf32>
    %in1 = nir.input "input1" {shape = dense<[1, 5]> : tensor<2xi64>} : tensor<1x5xf32>
    %c1 = nir.conv1d "conv1"(%in1 : tensor<1x5xf32>) {weight = dense<1.0> : tensor<2x1x2xf32>, stride = dense<1> : tensor<1xi64>, padding = dense<0> : tensor<1xi64>, dilation = dense<1> : tensor<1xi64>, groups = dense<1> : tensor<i64>, bias = dense<0.0> : tensor<2xf32>} : tensor<*xf32>
    // a nested graph: one result per nir.output, its inputs take outer values
    %sub:2 = nir.graph "sub" -> tensor<3xf32>, tensor<3xf32> attributes {node_metadata = {kind = "block"}} {
      %sin = nir.input "in"(%clif : tensor<3xf32>) {shape = dense<3> : tensor<1xi64>} : tensor<3xf32>
      %neg = nir.scale "neg"(%sin : tensor<3xf32>) {scale = dense<-1.0> : tensor<3xf32>} : tensor<3xf32>
      nir.output "pos"(%sin : tensor<3xf32>) {shape = dense<3> : tensor<1xi64>}
      nir.output "neg_out"(%neg : tensor<3xf32>) {shape = dense<3> : tensor<1xi64>}
    }
    nir.output "output"(%sub#0, %sub#1 : tensor<3xf32>, tensor<3xf32>) {shape = dense<3> : tensor<1xi64>}
  }
}

// CHECK:      builtin.module {
// CHECK-NEXT:   nir.graph attributes {metadata = {dt = dense<1.000000e-04> : tensor<f64>, note = "custom syntax"}} {
// CHECK-NEXT:     %in = nir.input "input" {shape = dense<[2, 6, 6]> : tensor<3xi64>} : tensor<2x6x6xf32>
// CHECK-NEXT:     %conv = nir.conv2d "conv"(%in : tensor<2x6x6xf32>) {weight = dense<5.000000e-01> : tensor<4x2x3x3xf32>, stride = dense<1> : tensor<2xi64>, padding = "same", dilation = dense<1> : tensor<2xi64>, groups = dense<1> : tensor<i64>, bias = dense<0.000000e+00> : tensor<4xf32>} : tensor<4x6x6xf32>
// CHECK-NEXT:     %sum = nir.sum_pool2d "sum"(%conv : tensor<4x6x6xf32>) {kernel_size = dense<2> : tensor<2xi64>, stride = dense<2> : tensor<2xi64>, padding = dense<0> : tensor<2xi64>} : tensor<4x3x3xf32>
// CHECK-NEXT:     %avg = nir.avg_pool2d "avg"(%sum : tensor<4x3x3xf32>) {kernel_size = dense<[2, 1]> : tensor<2xi64>, stride = dense<1> : tensor<2xi64>, padding = dense<0> : tensor<2xi64>} : tensor<4x2x3xf32>
// CHECK-NEXT:     %flat = nir.flatten "flat"(%avg : tensor<4x2x3xf32>) {start_dim = dense<0> : tensor<i64>, end_dim = dense<-1> : tensor<i64>, input_type = dense<[4, 2, 3]> : tensor<3xi64>} : tensor<24xf32>
// CHECK-NEXT:     %aff = nir.affine "aff"(%flat : tensor<24xf32>) {weight = dense<2.500000e-01> : tensor<3x24xf32>, bias = dense<[1.000000e+00, 2.000000e+00, 3.000000e+00]> : tensor<3xf32>, metadata = {unit = "mA", ids = dense<[1, 2]> : tensor<2xui8>}} : tensor<3xf32>
// CHECK-NEXT:     %lin = nir.linear "w_rec"(%lif : tensor<3xf32>) {weight = dense<{{\[\[}}0.000000e+00, 1.000000e+00, 0.000000e+00], [0.000000e+00, 0.000000e+00, 1.000000e+00], [1.000000e+00, 0.000000e+00, 0.000000e+00]]> : tensor<3x3xf32>} : tensor<3xf32>
// CHECK-NEXT:     %lif = nir.lif "lif.0"(%aff, %lin : tensor<3xf32>, tensor<3xf32>) {tau = dense<[1.000000e-02, 2.000000e-02, 3.000000e-02]> : tensor<3xf64>, r = dense<1.000000e+00> : tensor<3xf64>, v_leak = dense<0.000000e+00> : tensor<3xf64>, v_threshold = dense<1.000000e+00> : tensor<3xf64>, v_reset = dense<0.000000e+00> : tensor<3xf64>} : tensor<3xf32>
// CHECK-NEXT:     %scale = nir.scale "scale"(%lif : tensor<3xf32>) {scale = dense<2.000000e+00> : tensor<3xf32>} : tensor<3xf32>
// CHECK-NEXT:     %delay = nir.delay "delay"(%scale : tensor<3xf32>) {delay = dense<1.000000e-03> : tensor<3xf32>} : tensor<3xf32>
// CHECK-NEXT:     %thr = nir.threshold "thr"(%delay : tensor<3xf32>) {threshold = dense<5.000000e-01> : tensor<3xf32>} : tensor<3xf32>
// CHECK-NEXT:     %i = nir.i "i"(%thr : tensor<3xf32>) {r = dense<1.000000e+00> : tensor<3xf32>} : tensor<3xf32>
// CHECK-NEXT:     %li = nir.li "li"(%i : tensor<3xf32>) {tau = dense<1.000000e-02> : tensor<3xf32>, r = dense<1.000000e+00> : tensor<3xf32>, v_leak = dense<0.000000e+00> : tensor<3xf32>} : tensor<3xf32>
// CHECK-NEXT:     %if = nir.if "if"(%li : tensor<3xf32>) {r = dense<1.000000e+00> : tensor<3xf32>, v_threshold = dense<1.000000e+00> : tensor<3xf32>} : tensor<3xf32>
// CHECK-NEXT:     %cli = nir.cuba_li "cuba_li"(%if : tensor<3xf32>) {tau_syn = dense<5.000000e-03> : tensor<3xf32>, tau_mem = dense<1.000000e-02> : tensor<3xf32>, r = dense<1.000000e+00> : tensor<3xf32>, v_leak = dense<0.000000e+00> : tensor<3xf32>, w_in = dense<2.000000e+00> : tensor<f32>} : tensor<3xf32>
// CHECK-NEXT:     %clif = nir.cuba_lif "cuba_lif"(%cli : tensor<3xf32>) {tau_syn = dense<5.000000e-03> : tensor<3xf32>, tau_mem = dense<1.000000e-02> : tensor<3xf32>, r = dense<1.000000e+00> : tensor<3xf32>, v_leak = dense<0.000000e+00> : tensor<3xf32>, v_threshold = dense<1.000000e+00> : tensor<3xf32>, v_reset = dense<0.000000e+00> : tensor<3xf32>, w_in = dense<1.000000e+00> : tensor<3xf32>} : tensor<3xf32>
// CHECK-NEXT:     %in1 = nir.input "input1" {shape = dense<[1, 5]> : tensor<2xi64>} : tensor<1x5xf32>
// CHECK-NEXT:     %c1 = nir.conv1d "conv1"(%in1 : tensor<1x5xf32>) {weight = dense<1.000000e+00> : tensor<2x1x2xf32>, stride = dense<1> : tensor<1xi64>, padding = dense<0> : tensor<1xi64>, dilation = dense<1> : tensor<1xi64>, groups = dense<1> : tensor<i64>, bias = dense<0.000000e+00> : tensor<2xf32>} : tensor<*xf32>
// CHECK-NEXT:     %sub, %sub_1 = nir.graph "sub" -> tensor<3xf32>, tensor<3xf32> attributes {node_metadata = {kind = "block"}} {
// CHECK-NEXT:       %sin = nir.input "in"(%clif : tensor<3xf32>) {shape = dense<3> : tensor<1xi64>} : tensor<3xf32>
// CHECK-NEXT:       %neg = nir.scale "neg"(%sin : tensor<3xf32>) {scale = dense<-1.000000e+00> : tensor<3xf32>} : tensor<3xf32>
// CHECK-NEXT:       nir.output "pos"(%sin : tensor<3xf32>) {shape = dense<3> : tensor<1xi64>}
// CHECK-NEXT:       nir.output "neg_out"(%neg : tensor<3xf32>) {shape = dense<3> : tensor<1xi64>}
// CHECK-NEXT:     }
// CHECK-NEXT:     nir.output "output"(%sub, %sub_1 : tensor<3xf32>, tensor<3xf32>) {shape = dense<3> : tensor<1xi64>}
// CHECK-NEXT:   }
// CHECK-NEXT: }
