// RUN: nirc opt %s --split-input-file -p fold-weights | filecheck %s
// RUN: xdsl-opt %s --split-input-file -p fold-weights | filecheck %s
// RUN: nirc opt %s --split-input-file -p fold-weights --verify-each --print-generic | nirc opt - --split-input-file | filecheck %s
// RUN: not nirc opt %S/inline-subgraphs.mlir -p fold-weights 2>&1 | filecheck %s --check-prefix=NIR

// Input gains go into the weights feeding a neuron: gain_mem = 0.5 scales the
// rows of `fc` and, through the feedback delay, of `rec`; a zero bias goes.
builtin.module {
  snn.graph attributes {dt = 1.0e-03 : f64} {
    %in = snn.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %fc = snn.dense "fc"(%in : tensor<2xf32>) {weight = dense<[[1.0, 2.0], [4.0, 8.0]]> : tensor<2x2xf32>, bias = dense<[1.0, 0.0]> : tensor<2xf32>} : tensor<2xf32>
    %lif = snn.neuron "lif"(%fc, %d : tensor<2xf32>, tensor<2xf32>) {alpha_mem = dense<0.9> : tensor<f64>, gain_mem = dense<[0.5, 0.25]> : tensor<2xf64>, v_threshold = dense<1.0> : tensor<f64>, reset = "zero"} : tensor<2xf32>
    %rec = snn.dense "rec"(%lif : tensor<2xf32>) {weight = dense<[[2.0, 2.0], [4.0, 4.0]]> : tensor<2x2xf32>, bias = dense<0.0> : tensor<2xf32>} : tensor<2xf32>
    %d = snn.delay "rec.delay"(%rec : tensor<2xf32>) {steps = dense<1> : tensor<i64>} : tensor<2xf32>
    snn.output "output"(%lif : tensor<2xf32>)
  }
}
// CHECK:      %fc = snn.dense "fc"(%in : tensor<2xf32>) {weight = dense<{{\[\[}}5.000000e-01, 1.000000e+00], [1.000000e+00, 2.000000e+00]]> : tensor<2x2xf64>, bias = dense<[5.000000e-01, 0.000000e+00]> : tensor<2xf64>} : tensor<2xf32>
// CHECK-NEXT: %lif = snn.neuron "lif"(%fc, %d : tensor<2xf32>, tensor<2xf32>) {alpha_mem = dense<9.000000e-01> : tensor<f64>, v_threshold = dense<1.000000e+00> : tensor<f64>, reset = "zero"} : tensor<2xf32>
// CHECK-NEXT: %rec = snn.dense "rec"(%lif : tensor<2xf32>) {weight = dense<1.000000e+00> : tensor<2x2xf64>} : tensor<2xf32>

// -----
// A synaptic stage: gain_syn * gain_mem go into the weights together.
builtin.module {
  snn.graph attributes {dt = 1.0e-03 : f64} {
    %in = snn.input "input" {shape = dense<1> : tensor<1xi64>} : tensor<1xf32>
    %fc = snn.dense "fc"(%in : tensor<1xf32>) {weight = dense<3.0> : tensor<1x1xf32>} : tensor<1xf32>
    %cuba = snn.neuron "cuba"(%fc : tensor<1xf32>) {alpha_mem = dense<0.9> : tensor<f64>, gain_mem = dense<0.5> : tensor<f64>, bias_mem = dense<0.1> : tensor<f64>, alpha_syn = dense<0.8> : tensor<f64>, gain_syn = dense<2.0> : tensor<f64>} : tensor<1xf32>
    snn.output "output"(%cuba : tensor<1xf32>)
  }
}
// CHECK:      %fc = snn.dense "fc"(%in : tensor<1xf32>) {weight = dense<3.000000e+00> : tensor<1x1xf64>} : tensor<1xf32>
// CHECK-NEXT: %cuba = snn.neuron "cuba"(%fc : tensor<1xf32>) {alpha_mem = dense<9.000000e-01> : tensor<f64>, bias_mem = dense<1.000000e-01> : tensor<f64>, alpha_syn = dense<8.000000e-01> : tensor<f64>} : tensor<1xf32>

// -----
// Scales: `pre` goes into the columns of `fc` (it reads only the scale),
// `post` into the rows of `fc2` (the scale is its only reader).
builtin.module {
  snn.graph attributes {dt = 1.0e-03 : f64} {
    %in = snn.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %pre = snn.scale "pre"(%in : tensor<2xf32>) {scale = dense<[2.0, 3.0]> : tensor<2xf32>} : tensor<2xf32>
    %fc = snn.dense "fc"(%pre : tensor<2xf32>) {weight = dense<1.0> : tensor<2x2xf32>} : tensor<2xf32>
    %fc2 = snn.dense "fc2"(%in : tensor<2xf32>) {weight = dense<1.0> : tensor<2x2xf32>, bias = dense<1.0> : tensor<2xf32>} : tensor<2xf32>
    %post = snn.scale "post"(%fc2 : tensor<2xf32>) {scale = dense<[0.5, 4.0]> : tensor<2xf32>} : tensor<2xf32>
    snn.output "output"(%fc, %post : tensor<2xf32>, tensor<2xf32>)
  }
}
// CHECK:      %fc = snn.dense "fc"(%in : tensor<2xf32>) {weight = dense<{{\[\[}}2.000000e+00, 3.000000e+00], [2.000000e+00, 3.000000e+00]]> : tensor<2x2xf64>} : tensor<2xf32>
// CHECK-NEXT: %fc2 = snn.dense "fc2"(%in : tensor<2xf32>) {weight = dense<{{\[\[}}5.000000e-01, 5.000000e-01], [4.000000e+00, 4.000000e+00]]> : tensor<2x2xf64>, bias = dense<[5.000000e-01, 4.000000e+00]> : tensor<2xf64>} : tensor<2xf32>
// CHECK-NEXT: snn.output "output"(%fc, %fc2 : tensor<2xf32>, tensor<2xf32>)

// -----
// An average pool becomes a sum-pool, its 1/4 going through the reshape into
// the dense weights; the reshape (a Flatten) is absorbed: the dense op reads
// the [2, 1, 1] pool output with a [3, 2, 1, 1] weight (in_rank = 3).
builtin.module {
  snn.graph attributes {dt = 1.0e-03 : f64} {
    %in = snn.input "input" {shape = dense<[2, 2, 2]> : tensor<3xi64>} : tensor<2x2x2xf32>
    %pool = snn.sum_pool2d "pool"(%in : tensor<2x2x2xf32>) {kernel_size = dense<2> : tensor<2xi64>, stride = dense<2> : tensor<2xi64>, padding = dense<0> : tensor<2xi64>, divisor = 4 : i64} : tensor<2x1x1xf32>
    %flat = snn.reshape "flat"(%pool : tensor<2x1x1xf32>) : tensor<2xf32>
    %fc = snn.dense "fc"(%flat : tensor<2xf32>) {weight = dense<[[4.0, 8.0], [2.0, 1.0], [0.0, -4.0]]> : tensor<3x2xf32>} : tensor<3xf32>
    snn.output "output"(%fc : tensor<3xf32>)
  }
}
// CHECK:      %pool = snn.sum_pool2d "pool"(%in : tensor<2x2x2xf32>) {kernel_size = dense<2> : tensor<2xi64>, stride = dense<2> : tensor<2xi64>, padding = dense<0> : tensor<2xi64>} : tensor<2x1x1xf32>
// CHECK-NEXT: %fc = snn.dense "fc"(%pool : tensor<2x1x1xf32>) {weight = dense<{{\[\[\[\[}}1.000000e+00]], {{\[\[}}2.000000e+00]]], {{\[\[\[}}5.000000e-01]], {{\[\[}}2.500000e-01]]], {{\[\[\[}}0.000000e+00]], {{\[\[}}-1.000000e+00]]]]> : tensor<3x2x1x1xf64>, in_rank = 3 : i64} : tensor<3xf32>
// CHECK-NEXT: snn.output "output"(%fc : tensor<3xf32>)

// -----
// Two dense ops in a row with nothing stateful between them multiply out when
// that does not grow the parameter count ([2x3] . [3x2] -> [2x2], bias B a);
// a chain whose middle value is also read elsewhere stays.
builtin.module {
  snn.graph attributes {dt = 1.0e-03 : f64} {
    %in = snn.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %a = snn.dense "a"(%in : tensor<2xf32>) {weight = dense<[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]> : tensor<3x2xf32>, bias = dense<[1.0, 2.0, 3.0]> : tensor<3xf32>} : tensor<3xf32>
    %b = snn.dense "b"(%a : tensor<3xf32>) {weight = dense<[[1.0, 1.0, 1.0], [0.0, 2.0, 0.0]]> : tensor<2x3xf32>} : tensor<2xf32>
    %c = snn.dense "c"(%in : tensor<2xf32>) {weight = dense<1.0> : tensor<2x2xf32>} : tensor<2xf32>
    %d = snn.dense "d"(%c : tensor<2xf32>) {weight = dense<1.0> : tensor<2x2xf32>} : tensor<2xf32>
    snn.output "output"(%b, %d, %c : tensor<2xf32>, tensor<2xf32>, tensor<2xf32>)
  }
}
// CHECK:      %b = snn.dense "b"(%in : tensor<2xf32>) {weight = dense<{{\[\[}}2.000000e+00, 2.000000e+00], [0.000000e+00, 2.000000e+00]]> : tensor<2x2xf64>, bias = dense<[6.000000e+00, 4.000000e+00]> : tensor<2xf64>} : tensor<2xf32>
// CHECK-NEXT: %c = snn.dense "c"
// CHECK-NEXT: %d = snn.dense "d"(%c : tensor<2xf32>)

// -----
// A bottleneck stays: [4x1] . [1x4] would hold 16 weights instead of 8.
builtin.module {
  snn.graph attributes {dt = 1.0e-03 : f64} {
    %in = snn.input "input" {shape = dense<4> : tensor<1xi64>} : tensor<4xf32>
    %a = snn.dense "a"(%in : tensor<4xf32>) {weight = dense<1.0> : tensor<1x4xf32>} : tensor<1xf32>
    %b = snn.dense "b"(%a : tensor<1xf32>) {weight = dense<1.0> : tensor<4x1xf32>} : tensor<4xf32>
    snn.output "output"(%b : tensor<4xf32>)
  }
}
// CHECK:      %a = snn.dense "a"(%in : tensor<4xf32>)
// CHECK-NEXT: %b = snn.dense "b"(%a : tensor<1xf32>)

// -----
// Not folded: a weight op read by two neurons (their gains differ), and a
// neuron fed straight from an Input (no weights to take its gain).
builtin.module {
  snn.graph attributes {dt = 1.0e-03 : f64} {
    %in = snn.input "input" {shape = dense<1> : tensor<1xi64>} : tensor<1xf32>
    %fc = snn.dense "fc"(%in : tensor<1xf32>) {weight = dense<1.0> : tensor<1x1xf32>} : tensor<1xf32>
    %n1 = snn.neuron "n1"(%fc : tensor<1xf32>) {alpha_mem = dense<0.9> : tensor<f64>, gain_mem = dense<0.5> : tensor<f64>} : tensor<1xf32>
    %n2 = snn.neuron "n2"(%fc : tensor<1xf32>) {alpha_mem = dense<0.9> : tensor<f64>, gain_mem = dense<0.25> : tensor<f64>} : tensor<1xf32>
    %n3 = snn.neuron "n3"(%in : tensor<1xf32>) {alpha_mem = dense<0.9> : tensor<f64>, gain_mem = dense<0.25> : tensor<f64>} : tensor<1xf32>
    snn.output "output"(%n1, %n2, %n3 : tensor<1xf32>, tensor<1xf32>, tensor<1xf32>)
  }
}
// CHECK:      %fc = snn.dense "fc"(%in : tensor<1xf32>) {weight = dense<1.000000e+00> : tensor<1x1xf32>} : tensor<1xf32>
// CHECK-NEXT: %n1 = snn.neuron "n1"(%fc : tensor<1xf32>) {alpha_mem = dense<9.000000e-01> : tensor<f64>, gain_mem = dense<5.000000e-01> : tensor<f64>}
// CHECK-NEXT: %n2 = snn.neuron "n2"(%fc : tensor<1xf32>) {alpha_mem = dense<9.000000e-01> : tensor<f64>, gain_mem = dense<2.500000e-01> : tensor<f64>}
// CHECK-NEXT: %n3 = snn.neuron "n3"(%in : tensor<1xf32>) {alpha_mem = dense<9.000000e-01> : tensor<f64>, gain_mem = dense<2.500000e-01> : tensor<f64>}

// NIR: error: expected a module with one snn.graph
// NIR: hint: run `discretize` on a `nir` module first
