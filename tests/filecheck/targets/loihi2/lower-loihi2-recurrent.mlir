// RUN: nirc opt %s -p 'lower-loihi2{partition=index}' | filecheck %s

// A self-recurrent LIF layer (NIR: lif -> rec -> lif; `fuse` moved the
// feedback delay before the recurrent weights) becomes netx's dense_rec: the
// input weights and `weight_rec` [2, 2] from the layer's own spikes, which
// lava delivers one step later, as the delay says. Both matrices share one
// scale and netx's exponent.

builtin.module {
  snn.graph attributes {dt = 1.000000e-03 : f64, integrator = "euler", reset = "zero"} {
    %in = snn.input "in" {shape = dense<3> : tensor<1xi64>} : tensor<3xf32>
    %lif = snn.layer "lif"(%in, %rec.delay : tensor<3xf32>, tensor<2xf32>) : tensor<2xf32> {
    ^bb0(%in_1: tensor<3xf32>, %rec.delay_1: tensor<2xf32>):
      %fc = snn.dense "fc"(%in_1 : tensor<3xf32>) {weight = dense<[[1.000000e+00, -5.000000e-01, 2.500000e-01], [5.000000e-01, 5.000000e-01, -1.000000e+00]]> : tensor<2x3xf32>} : tensor<2xf32>
      %rec = snn.dense "rec"(%rec.delay_1 : tensor<2xf32>) {weight = dense<[[0.000000e+00, -5.000000e-01], [2.500000e-01, 0.000000e+00]]> : tensor<2x2xf32>} : tensor<2xf32>
      %lif_1 = snn.neuron "lif"(%fc, %rec : tensor<2xf32>, tensor<2xf32>) {alpha_mem = dense<7.500000e-01> : tensor<f64>, v_threshold = dense<1.000000e+00> : tensor<f64>, reset = "zero"} : tensor<2xf32>
      snn.yield %lif_1 : tensor<2xf32>
    }
    %rec.delay = snn.delay "rec.delay"(%lif : tensor<2xf32>) {steps = dense<1> : tensor<i64>} : tensor<2xf32>
    snn.output "out"(%lif : tensor<2xf32>)
  }
}

// CHECK:      %lif = loihi2.layer "lif"(%input : tensor<3xi32>) {kind = "dense_rec",
// CHECK-SAME:   weight = dense<{{\[\[}}254, -127, 64], [127, 127, -254]]> : tensor<2x3xi16>, weight_exp = 0 : i64, num_weight_bits = 9 : i64,
// CHECK-SAME:   v_decay = dense<1024> : tensor<i64>, v_th = 254 : i64,
// CHECK-SAME:   sources = ["fc", "rec", "lif", "rec.delay"], weight_rec = dense<{{\[\[}}0, -127], [64, 0]]> : tensor<2x2xi16>} : tensor<2xi32>
// CHECK-NEXT: loihi2.output "out"(%lif : tensor<2xi32>)
