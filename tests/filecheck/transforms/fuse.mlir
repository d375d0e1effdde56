// RUN: nirc opt %s --split-input-file -p fuse | filecheck %s
// RUN: xdsl-opt %s --split-input-file -p fuse | filecheck %s
// RUN: nirc opt %s --split-input-file -p fuse --print-generic | nirc opt - --split-input-file | filecheck %s
// RUN: not nirc opt %S/inline-subgraphs.mlir -p fuse 2>&1 | filecheck %s --check-prefix=NIR

// A recurrent layer: the delay moves from the recurrent weights' output to
// the neuron's spikes (the weights have no bias), so `fc`, `rec` and `lif`
// form one layer reading the input and the delayed spikes; `out_fc` + `out`
// form a second layer.
builtin.module {
  snn.graph attributes {dt = 1.0e-03 : f64} {
    %in = snn.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %fc = snn.dense "fc"(%in : tensor<2xf32>) {weight = dense<1.0> : tensor<3x2xf32>} : tensor<3xf32>
    %lif = snn.neuron "lif"(%fc, %d : tensor<3xf32>, tensor<3xf32>) {alpha_mem = dense<0.9> : tensor<f64>, v_threshold = dense<1.0> : tensor<f64>, reset = "zero"} : tensor<3xf32>
    %rec = snn.dense "rec"(%lif : tensor<3xf32>) {weight = dense<0.5> : tensor<3x3xf32>} : tensor<3xf32>
    %d = snn.delay "rec.delay"(%rec : tensor<3xf32>) {steps = dense<1> : tensor<i64>} : tensor<3xf32>
    %out_fc = snn.dense "out_fc"(%lif : tensor<3xf32>) {weight = dense<1.0> : tensor<2x3xf32>, bias = dense<0.5> : tensor<2xf32>} : tensor<2xf32>
    %out = snn.neuron "out"(%out_fc : tensor<2xf32>) {alpha_mem = dense<0.5> : tensor<f64>} : tensor<2xf32>
    snn.output "output"(%out : tensor<2xf32>)
  }
}
// CHECK:      %in = snn.input "input"
// CHECK-NEXT: %lif = snn.layer "lif"(%in, %d : tensor<2xf32>, tensor<3xf32>) : tensor<3xf32> {
// CHECK-NEXT: ^bb0(%{{.*}}: tensor<2xf32>, %{{.*}}: tensor<3xf32>):
// CHECK-NEXT:   %fc = snn.dense "fc"(%{{.*}} : tensor<2xf32>)
// CHECK-NEXT:   %rec = snn.dense "rec"(%{{.*}} : tensor<3xf32>)
// CHECK-NEXT:   %{{.*}} = snn.neuron "lif"(%fc, %rec : tensor<3xf32>, tensor<3xf32>)
// CHECK-NEXT:   snn.yield %{{.*}} : tensor<3xf32>
// CHECK-NEXT: }
// CHECK-NEXT: %d = snn.delay "rec.delay"(%lif : tensor<3xf32>) {steps = dense<1> : tensor<i64>} : tensor<3xf32>
// CHECK-NEXT: %out = snn.layer "out"(%lif : tensor<3xf32>) : tensor<2xf32> {
// CHECK-NEXT: ^bb0(%{{.*}}: tensor<3xf32>):
// CHECK-NEXT:   %out_fc = snn.dense "out_fc"
// CHECK-NEXT:   %{{.*}} = snn.neuron "out"(%out_fc : tensor<2xf32>)
// CHECK-NEXT:   snn.yield
// CHECK-NEXT: }
// CHECK-NEXT: snn.output "output"(%out : tensor<2xf32>)

// -----
// conv -> IF -> sum-pool is one Speck-style core; a recurrent weight with a
// bias keeps its delay outside (a delayed bias is 0 in the first step); a
// weight op read by two neurons and a neuron without synapse stay unfused.
builtin.module {
  snn.graph attributes {dt = 1.0e-03 : f64} {
    %in = snn.input "input" {shape = dense<[1, 4, 4]> : tensor<3xi64>} : tensor<1x4x4xf32>
    %conv = snn.conv2d "conv"(%in : tensor<1x4x4xf32>) {weight = dense<1.0> : tensor<2x1x3x3xf32>, stride = dense<1> : tensor<2xi64>, padding = dense<1> : tensor<2x2xi64>, dilation = dense<1> : tensor<2xi64>, groups = dense<1> : tensor<i64>} : tensor<2x4x4xf32>
    %if = snn.neuron "if"(%conv : tensor<2x4x4xf32>) {alpha_mem = dense<1.0> : tensor<f64>, v_threshold = dense<1.0> : tensor<f64>, reset = "subtract"} : tensor<2x4x4xf32>
    %pool = snn.sum_pool2d "pool"(%if : tensor<2x4x4xf32>) {kernel_size = dense<2> : tensor<2xi64>, stride = dense<2> : tensor<2xi64>, padding = dense<0> : tensor<2xi64>} : tensor<2x2x2xf32>
    %flat = snn.reshape "flat"(%pool : tensor<2x2x2xf32>) : tensor<8xf32>
    %shared = snn.dense "shared"(%flat : tensor<8xf32>) {weight = dense<1.0> : tensor<2x8xf32>} : tensor<2xf32>
    %a = snn.neuron "a"(%shared, %rd : tensor<2xf32>, tensor<2xf32>) {alpha_mem = dense<0.5> : tensor<f64>, v_threshold = dense<1.0> : tensor<f64>} : tensor<2xf32>
    %b = snn.neuron "b"(%shared : tensor<2xf32>) {alpha_mem = dense<0.5> : tensor<f64>} : tensor<2xf32>
    %rec = snn.dense "rec"(%a : tensor<2xf32>) {weight = dense<1.0> : tensor<2x2xf32>, bias = dense<0.5> : tensor<2xf32>} : tensor<2xf32>
    %rd = snn.delay "rd"(%rec : tensor<2xf32>) {steps = dense<1> : tensor<i64>} : tensor<2xf32>
    snn.output "output"(%a, %b : tensor<2xf32>, tensor<2xf32>)
  }
}
// CHECK:      %pool = snn.layer "if"(%in : tensor<1x4x4xf32>) : tensor<2x2x2xf32> {
// CHECK-NEXT: ^bb0(%{{.*}}: tensor<1x4x4xf32>):
// CHECK-NEXT:   %conv = snn.conv2d "conv"
// CHECK-NEXT:   %if = snn.neuron "if"(%conv : tensor<2x4x4xf32>)
// CHECK-NEXT:   %{{.*}} = snn.sum_pool2d "pool"(%if : tensor<2x4x4xf32>)
// CHECK-NEXT:   snn.yield %{{.*}} : tensor<2x2x2xf32>
// CHECK-NEXT: }
// CHECK-NEXT: %flat = snn.reshape "flat"(%pool : tensor<2x2x2xf32>) : tensor<8xf32>
// CHECK-NEXT: %shared = snn.dense "shared"(%flat : tensor<8xf32>)
// CHECK-NEXT: %a = snn.neuron "a"(%shared, %rd : tensor<2xf32>, tensor<2xf32>)
// CHECK-NEXT: %b = snn.neuron "b"(%shared : tensor<2xf32>)
// CHECK-NEXT: %rec = snn.dense "rec"(%a : tensor<2xf32>)
// CHECK-NEXT: %rd = snn.delay "rd"(%rec : tensor<2xf32>)

// NIR: error: expected a module with one snn.graph
