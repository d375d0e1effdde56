// RUN: nirc opt %s -p 'lower-loihi2{partition=index replicas="2" calib_steps=20 calib_batch=1}' | filecheck %s

// Sinabs' IAF sends spike counts (floor(v / thr) when v >= thr) and subtracts
// them; Loihi's neuron sends one spike and sets v to zero. With two replicas
// the layer becomes an integrator (targets/loihi2/replicas.py): the membrane
// lives in the current u (iDecay 0: no leak; vDecay 4096: v = u + bias keeps
// nothing), replica j fires when u exceeds j thresholds (bias -(j - 1) * 254,
// plus one unit: v >= thr on the weights' grid), and each spike subtracts one
// threshold (-254) from both replicas' u through the recurrent synapse. A
// third, silent neuron holds a positive weight to itself so that lava keeps
// the recurrent synapse mixed-sign. The output counts replicas 0 and 1.

builtin.module {
  snn.graph attributes {dt = 1.000000e+00 : f64, integrator = "exact", reset = "subtract", source = "sinabs", metadata = {dt = dense<1.000000e+00> : tensor<f64>}} {
    %input = snn.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %if1 = snn.layer "if1"(%input : tensor<2xf32>) : tensor<1xf32> {
    ^bb0(%input_1: tensor<2xf32>):
      %fc = snn.dense "fc"(%input_1 : tensor<2xf32>) {weight = dense<[[1.000000e+00, -5.000000e-01]]> : tensor<1x2xf32>} : tensor<1xf32>
      %if1_1 = snn.neuron "if1"(%fc : tensor<1xf32>) {alpha_mem = dense<1.000000e+00> : tensor<f64>, v_threshold = dense<1.000000e+00> : tensor<f64>, reset = "subtract", compare = "ge", spikes = "multi"} : tensor<1xf32>
      snn.yield %if1_1 : tensor<1xf32>
    }
    snn.output "output"(%if1 : tensor<1xf32>)
  }
}

// CHECK:      loihi2.network attributes {dt = 1.000000e+00 : f64, latency = 1 : i64,
// CHECK:      %if1 = loihi2.layer "if1"(%input : tensor<2xi32>) {kind = "dense_rec", weight = dense<{{\[\[}}254, -127], [254, -127], [0, 0]]> : tensor<3x2xi16>,
// CHECK-SAME:   i_decay = dense<[0, 0, 4096]> : tensor<3xi64>, v_decay = dense<4096> : tensor<i64>, v_th = 254 : i64,
// CHECK-SAME:   weight_rec = dense<{{\[\[}}-254, -254, 0], [-254, -254, 0], [0, 0, 16]]> : tensor<3x3xi16>, bias = dense<[1, -253, 0]> : tensor<3xi16>} : tensor<3xi32>
// CHECK-NEXT: loihi2.output "output"(%if1 : tensor<3xi32>) {shape = array<i64: 1>, select = dense<[0, 0, -1]> : tensor<3xi32>}
