// RUN: nirc opt %s | filecheck %s
// RUN: nirc opt %s | %roundtrip | filecheck %s

// A layer built of replicas (targets/loihi2/replicas.py): two replicas of one
// integrate-and-fire neuron and a silent neuron. Its recurrent weights are
// written sparsely, `weight_rec_coo` (rows [target, source, weight] of the
// nonzero weights; nirc writes this form for large, mostly zero matrices);
// the output counts the spikes of neurons 0 and 1 (`select`, -1: none). The
// layer answers one step late (`lag`: an integrator fed by current encoders
// does), so the network's latency is 2 for its one layer.

builtin.module {
  loihi2.network attributes {dt = 1.000000e+00 : f64, latency = 2 : i64, input_bits = 0 : i64, capacity = {neurons_per_core = 8192 : i64, memory_per_core = 131072 : i64, cores_per_chip = 128 : i64, chips = 1 : i64, bytes_per_neuron = 8.000000e+00 : f64, bytes_per_synapse = 2.000000e+00 : f64, bytes_per_shared_weight = 1.000000e+00 : f64, bytes_per_input_axon = 4.000000e+00 : f64, bytes_per_source_slice = 8.000000e+00 : f64, bytes_per_recorded = 0.000000e+00 : f64, fixed_bytes = 1.024000e+03 : f64}, reset_offset = 1 : i64} {
    %input = loihi2.input "input" {shape = array<i64: 2>} : tensor<2xi32>
    %if1 = loihi2.layer "if1"(%input : tensor<2xi32>) {kind = "dense_rec", weight = dense<[[254, -127], [254, -127], [0, 0]]> : tensor<3x2xi16>, weight_exp = 0 : i64, num_weight_bits = 9 : i64, i_decay = dense<[0, 0, 4096]> : tensor<3xi64>, v_decay = dense<4096> : tensor<i64>, v_th = 254 : i64, spiking = true, scale = dense<2.540000e+02> : tensor<3xf64>, placement = dense<[[0, 3, 0]]> : tensor<1x3xi64>, sources = ["fc", "if1"], weight_rec_coo = dense<[[0, 0, -254], [0, 1, -254], [1, 0, -254], [1, 1, -254], [2, 2, 16]]> : tensor<5x3xi32>, bias = dense<[1, -253, 0]> : tensor<3xi16>, lag = 1 : i64} : tensor<3xi32>
    loihi2.output "output"(%if1 : tensor<3xi32>) {shape = array<i64: 1>, select = dense<[0, 0, -1]> : tensor<3xi32>}
  }
}

// CHECK:      loihi2.network attributes {dt = 1.000000e+00 : f64, latency = 2 : i64,
// CHECK:      %if1 = loihi2.layer "if1"(%input : tensor<2xi32>) {kind = "dense_rec",
// CHECK-SAME:   weight_rec_coo = dense<{{\[\[}}0, 0, -254], [0, 1, -254], [1, 0, -254], [1, 1, -254], [2, 2, 16]]> : tensor<5x3xi32>,
// CHECK-SAME:   lag = 1 : i64} : tensor<3xi32>
// CHECK-NEXT: loihi2.output "output"(%if1 : tensor<3xi32>) {shape = array<i64: 1>, select = dense<[0, 0, -1]> : tensor<3xi32>}
