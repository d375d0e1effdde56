// RUN: nirc opt %s -p lower-spinnaker2 | filecheck %s
// RUN: nirc opt %s -p lower-spinnaker2 | %roundtrip | filecheck %s

// A fused snn network (as `fuse` leaves it): two inputs -> IF layer with
// recurrent weights. Each snn.neuron becomes a population, the input a
// spike_list source, the dense synapses connection lists (pre, post, weight,
// delay) in int8 (the largest weight is 127: a weight scale of 1). The
// recurrent weights keep their one step of delay as the projection's own
// latency; the feed-forward projection's latency makes the layer run one step
// behind the float network (lag 1). The placement puts every neuron on a PE,
// one population per PE, with the partitioner's traffic figures (index order
// is the best there is for two populations on two PEs).

builtin.module {
  snn.graph attributes {dt = 1.000000e+00 : f64, integrator = "euler", reset = "zero"} {
    %input = snn.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %if1 = snn.layer "if1"(%input, %rec.delay : tensor<2xf32>, tensor<3xf32>) : tensor<3xf32> {
    ^bb0(%input_1: tensor<2xf32>, %rec.delay_1: tensor<3xf32>):
      %fc = snn.dense "fc"(%input_1 : tensor<2xf32>) {weight = dense<[[1.270000e+02, -6.400000e+01], [3.200000e+01, 1.600000e+01], [0.000000e+00, 8.000000e+00]]> : tensor<3x2xf64>} : tensor<3xf32>
      %rec = snn.dense "rec"(%rec.delay_1 : tensor<3xf32>) {weight = dense<[[0.000000e+00, 0.000000e+00, 0.000000e+00], [1.270000e+02, 0.000000e+00, 0.000000e+00], [0.000000e+00, -1.270000e+02, 0.000000e+00]]> : tensor<3x3xf64>} : tensor<3xf32>
      %if1_1 = snn.neuron "if1"(%fc, %rec : tensor<3xf32>, tensor<3xf32>) {alpha_mem = dense<1.000000e+00> : tensor<f64>, v_threshold = dense<1.005000e+02> : tensor<f64>, reset = "zero"} : tensor<3xf32>
      snn.yield %if1_1 : tensor<3xf32>
    }
    %rec.delay = snn.delay "rec.delay"(%if1 : tensor<3xf32>) {steps = dense<1> : tensor<i64>} : tensor<3xf32>
    snn.output "output"(%if1 : tensor<3xf32>)
  }
}

// CHECK:      spinnaker2.network attributes {dt = 1.000000e+00 : f64, source = "nir", reset = "zero"} {
// CHECK-NEXT:   %input = spinnaker2.spike_source "input" {shape = array<i64: 2>, copies = 1 : i64} : tensor<2xi1>
// CHECK-NEXT:   %[[FF:[0-9]+]] = spinnaker2.connections "input->if1"(%input : tensor<2xi1>) {connections = dense<{{\[\[}}0, 0, 127, 0], [0, 1, 32, 0], [1, 0, -64, 0], [1, 1, 16, 0], [1, 2, 8, 0]]> : tensor<5x4xi32>} : tensor<3xf32>
// CHECK-NEXT:   %[[REC:[0-9]+]] = spinnaker2.connections "if1->if1@1"(%if1 : tensor<3xi1>) {connections = dense<{{\[\[}}0, 1, 127, 0], [1, 2, -127, 0]]> : tensor<2x4xi32>} : tensor<3xf32>
// CHECK-NEXT:   %if1 = spinnaker2.population "if1"(%[[FF]], %[[REC]] : tensor<3xf32>, tensor<3xf32>) {neuron_model = "lif_no_delay", shape = array<i64: 3>, reset = "reset_to_v_reset", record = ["spikes"],
// CHECK-SAME:     weight_scale = 1.000000e+00 : f64, spike_gain = 1 : i64, lag = 1 : i64, threshold = dense<1.005000e+02> : tensor<f32>, alpha_decay = dense<1.000000e+00> : tensor<f32>
// CHECK-NEXT:   spinnaker2.output "output"(%if1 : tensor<3xi1>) {shape = array<i64: 3>, reads = "spikes"}
// CHECK-NEXT:   spinnaker2.placement {pes_per_chip = 152 : i64, chips = 48 : i64, neurons_per_pe = 256 : i64, memory_per_pe = 6.860800e+04 : f64,
// CHECK-SAME:     method = "index-order", traffic = [[T:[0-9.e+-]+]] : f64, baseline_traffic = [[T]] : f64,
// CHECK-SAME:     populations = ["input", "if1"], pes = [dense<{{.*}}> : tensor<2xi32>, dense<{{.*}}> : tensor<3xi32>]}
// CHECK-NEXT: }
