// RUN: not nirc opt %s -p lower-speck 2>&1 | filecheck %s
// RUN: nirc opt %s -p 'lower-speck{allow_approximate=true}' 2>&1 | filecheck %s --check-prefix=APPROX

// A leaky neuron (alpha_mem < 1) has no Speck form: refused with the reason,
// or, with allow_approximate, lowered without its leak (and a warning).

builtin.module {
  snn.graph attributes {dt = 1.000000e+00 : f64, integrator = "euler", reset = "zero"} {
    %input = snn.input "input" {shape = dense<4> : tensor<1xi64>} : tensor<4xf32>
    %lif = snn.layer "lif"(%input : tensor<4xf32>) : tensor<2xf32> {
    ^bb0(%x: tensor<4xf32>):
      %fc = snn.dense "fc"(%x : tensor<4xf32>) {weight = dense<[[5.000000e-01, 2.500000e-01, -2.500000e-01, 1.000000e+00], [1.000000e+00, -5.000000e-01, 5.000000e-01, 2.500000e-01]]> : tensor<2x4xf32>} : tensor<2xf32>
      %n = snn.neuron "lif"(%fc : tensor<2xf32>) {alpha_mem = dense<9.000000e-01> : tensor<f64>, v_threshold = dense<1.000000e+00> : tensor<f64>, reset = "zero"} : tensor<2xf32>
      snn.yield %n : tensor<2xf32>
    }
    snn.output "output"(%lif : tensor<2xf32>)
  }
}

// CHECK:      error: lif: LIF neurons cannot run on Speck: the membrane leaks by a factor alpha_mem per step, Speck's neurons do not leak
// CHECK-NEXT:   expected: IF neurons (alpha_mem = 1)
// CHECK-NEXT:   found:    a leaky neuron with alpha_mem = 0.9
// CHECK-NEXT:   hint:     retrain with IF (IAF) neurons, or pass --allow-approximate to drop the leak

// APPROX: warning: lif: approximated: LIF leak dropped (alpha_mem = 0.9 -> 1); see the measured agreement
// APPROX: speck.core "lif"(%input : tensor<4x1x1xi32>) {core = 0 : i64, input_shape = array<i64: 4, 1, 1>
// APPROX-SAME: : tensor<2x4x1x1xi8>
