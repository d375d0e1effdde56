// RUN: nirc opt %s -p inline-subgraphs | filecheck %s
// RUN: nirc opt %s -p inline-subgraphs,inline-subgraphs | filecheck %s
// RUN: nirc opt %s -p inline-subgraphs --check-equivalence --dt 1e-3 --seeds 2 --steps 50 2>&1 >/dev/null | filecheck %s --check-prefix=EQ
// RUN: echo 'builtin.module { nir.graph { %in = nir.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32> %x = nir.scale "rnn.lif"(%in : tensor<2xf32>) {scale = dense<2.0> : tensor<2xf32>} : tensor<2xf32> %rnn = nir.graph "rnn" -> tensor<2xf32> { %rin = nir.input "input"(%x : tensor<2xf32>) {shape = dense<2> : tensor<1xi64>} : tensor<2xf32> %lif = nir.scale "lif"(%rin : tensor<2xf32>) {scale = dense<3.0> : tensor<2xf32>} : tensor<2xf32> nir.output "output"(%lif : tensor<2xf32>) {shape = dense<2> : tensor<1xi64>} } nir.output "output"(%rnn : tensor<2xf32>) {shape = dense<2> : tensor<1xi64>} } }' | not nirc opt - -p inline-subgraphs 2>&1 | filecheck %s --check-prefix=COLLIDE

// A nested recurrent layer is inlined: its nodes get dotted names, its Input
// and Output go and their edges are spliced through; the feedback edge
// `rnn.w_rec -> rnn.lif` stays a feedback edge (the file edge order is kept).
builtin.module {
  nir.graph {
    %in = nir.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %fc = nir.linear "fc"(%in : tensor<2xf32>) {weight = dense<[[1.0, 0.5], [0.25, 2.0]]> : tensor<2x2xf32>} : tensor<2xf32>
    %rnn = nir.graph "rnn" -> tensor<2xf32> {
      %rin = nir.input "input"(%fc : tensor<2xf32>) {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
      %lif = nir.lif "lif"(%rin, %rec : tensor<2xf32>, tensor<2xf32>) {tau = dense<1.0e-02> : tensor<2xf32>, r = dense<20.0> : tensor<2xf32>, v_leak = dense<0.0> : tensor<2xf32>, v_threshold = dense<1.0> : tensor<2xf32>} : tensor<2xf32>
      %rec = nir.linear "w_rec"(%lif : tensor<2xf32>) {weight = dense<[[0.0, -0.5], [0.5, 0.0]]> : tensor<2x2xf32>} : tensor<2xf32>
      nir.output "output"(%lif : tensor<2xf32>) {shape = dense<2> : tensor<1xi64>}
    }
    nir.output "output"(%rnn : tensor<2xf32>) {shape = dense<2> : tensor<1xi64>}
  }
}
// CHECK:      nir.graph attributes {edge_order = dense<[0, 2, 3, 4, 1]> : tensor<5xi64>} {
// CHECK-NEXT:   %input = nir.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
// CHECK-NEXT:   %fc = nir.linear "fc"(%input : tensor<2xf32>)
// CHECK-NEXT:   nir.output "output"(%rnn.lif : tensor<2xf32>)
// CHECK-NEXT:   %rnn.lif = nir.lif "rnn.lif"(%fc, %rnn.w_rec : tensor<2xf32>, tensor<2xf32>)
// CHECK-NEXT:   %rnn.w_rec = nir.linear "rnn.w_rec"(%rnn.lif : tensor<2xf32>)
// CHECK-NEXT: }
// CHECK-NOT:  nir.graph "rnn"

// EQ: agreement: 1.0
// EQ: equivalence: ok (exact pipeline: identical spikes, real values within 1e-09 relative)

// A top-level node already named like an inner node once inlined: refused.
// COLLIDE:      error: /node/nodes/rnn/nodes/lif: flattening nested graphs gives two nodes the name `rnn.lif`
// COLLIDE-NEXT:   expected: unique dotted names (`sub.inner`) after inlining
