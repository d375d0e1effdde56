// RUN: nirc opt %s --split-input-file -p nir-infer-shapes 2>/dev/null | filecheck %s
// RUN: nirc opt %s --split-input-file -p nir-infer-shapes 2>&1 >/dev/null | filecheck %s --check-prefix=WARN
// RUN: not nirc opt %s --split-input-file -p nir-infer-shapes --strict 2>&1 | filecheck %s --check-prefix=STRICT

// Every value gets its ranked type: conv/pool/flatten arithmetic, a recurrent
// loop (shapes settle at a fixpoint), a nested graph's results.
builtin.module {
  nir.graph {
    %in = nir.input "input" {shape = dense<[2, 9, 9]> : tensor<3xi64>} : tensor<*xf32>
    %conv = nir.conv2d "conv"(%in : tensor<*xf32>) {weight = dense<1.0> : tensor<4x2x3x5xf32>, stride = dense<[2, 1]> : tensor<2xi64>, padding = dense<[1, 0]> : tensor<2xi64>, dilation = dense<1> : tensor<2xi64>, groups = dense<1> : tensor<i64>, bias = dense<0.0> : tensor<4xf32>} : tensor<*xf32>
    %pool = nir.sum_pool2d "pool"(%conv : tensor<*xf32>) {kernel_size = dense<[1, 5]> : tensor<2xi64>, stride = dense<1> : tensor<2xi64>, padding = dense<0> : tensor<2xi64>} : tensor<*xf32>
    %flat = nir.flatten "flat"(%pool : tensor<*xf32>) {start_dim = dense<1> : tensor<i64>, end_dim = dense<2> : tensor<i64>} : tensor<*xf32>
    %fc = nir.linear "fc"(%flat : tensor<*xf32>) {weight = dense<1.0> : tensor<3x5xf32>} : tensor<*xf32>
    %rnn = nir.graph "rnn" -> tensor<*xf32> {
      %rin = nir.input "input"(%fc : tensor<*xf32>) {shape = dense<[4, 3]> : tensor<2xi64>} : tensor<*xf32>
      %lif = nir.lif "lif"(%rin, %rec : tensor<*xf32>, tensor<*xf32>) {tau = dense<1.0e-02> : tensor<4x3xf32>, r = dense<1.0> : tensor<4x3xf32>, v_leak = dense<0.0> : tensor<4x3xf32>, v_threshold = dense<1.0> : tensor<4x3xf32>} : tensor<*xf32>
      %rec = nir.scale "rec"(%lif : tensor<*xf32>) {scale = dense<0.5> : tensor<4x3xf32>} : tensor<*xf32>
      nir.output "output"(%lif : tensor<*xf32>) {shape = dense<[4, 3]> : tensor<2xi64>}
    }
    nir.output "output"(%rnn : tensor<*xf32>) {shape = dense<[4, 3]> : tensor<2xi64>}
  }
}

// CHECK:      %in = nir.input "input" {shape = dense<[2, 9, 9]> : tensor<3xi64>} : tensor<2x9x9xf32>
// CHECK-NEXT: %conv = nir.conv2d "conv"(%in : tensor<2x9x9xf32>) {{.*}} : tensor<4x5x5xf32>
// CHECK-NEXT: %pool = nir.sum_pool2d "pool"(%conv : tensor<4x5x5xf32>) {{.*}} : tensor<4x5x1xf32>
// CHECK-NEXT: %flat = nir.flatten "flat"(%pool : tensor<4x5x1xf32>) {{.*}} : tensor<4x5xf32>
// CHECK-NEXT: %fc = nir.linear "fc"(%flat : tensor<4x5xf32>) {{.*}} : tensor<4x3xf32>
// CHECK-NEXT: %rnn = nir.graph "rnn" -> tensor<4x3xf32> {
// CHECK-NEXT:   %rin = nir.input "input"(%fc : tensor<4x3xf32>) {{.*}} : tensor<4x3xf32>
// CHECK-NEXT:   %lif = nir.lif "lif"(%rin, %rec : tensor<4x3xf32>, tensor<4x3xf32>) {{.*}} : tensor<4x3xf32>
// CHECK-NEXT:   %rec = nir.scale "rec"(%lif : tensor<4x3xf32>) {{.*}} : tensor<4x3xf32>
// CHECK-NEXT:   nir.output "output"(%lif : tensor<4x3xf32>)
// CHECK-NEXT: }
// CHECK-NEXT: nir.output "output"(%rnn : tensor<4x3xf32>) {shape = dense<[4, 3]> : tensor<2xi64>}

// -----
// Repairs (SEMANTICS.md): the Input declares [1] but feeds a 12-input Affine
// (paper Braille), the Output declares [1, 1, 1] for 7 neurons (paper Rockpool).
builtin.module {
  nir.graph {
    %in = nir.input "input" {shape = dense<1> : tensor<1xi64>} : tensor<*xf32>
    %fc = nir.affine "fc"(%in : tensor<*xf32>) {weight = dense<1.0> : tensor<7x12xf32>, bias = dense<0.5> : tensor<7xf32>} : tensor<*xf32>
    nir.output "output"(%fc : tensor<*xf32>) {shape = dense<1> : tensor<3xi64>}
  }
}

// CHECK:      %in = nir.input "input" {shape = dense<12> : tensor<1xi64>} : tensor<12xf32>
// CHECK-NEXT: %fc = nir.affine "fc"(%in : tensor<12xf32>) {{.*}} : tensor<7xf32>
// CHECK-NEXT: nir.output "output"(%fc : tensor<7xf32>) {shape = dense<7> : tensor<1xi64>}

// WARN: warning: input: Input `input` declares shape [1] but its only consumer `fc` (Affine) takes [12]: using [12]
// WARN: warning: output: Output `output` declares shape [1, 1, 1] but `fc` produces [7]: using [7]

// STRICT: error: input: Input `input` declares shape [1] but its only consumer `fc` (Affine) takes [12]: using [12] (refused under --strict)
