builtin.module {
  loihi2.network attributes {dt = 1.000000e-03 : f64, latency = 1 : i64, input_bits = 0 : i64, capacity = {neurons_per_core = 8192 : i64, memory_per_core = 131072 : i64, cores_per_chip = 128 : i64, chips = 1 : i64, bytes_per_neuron = 8.000000e+00 : f64, bytes_per_synapse = 2.000000e+00 : f64, bytes_per_shared_weight = 1.000000e+00 : f64, bytes_per_input_axon = 4.000000e+00 : f64, bytes_per_source_slice = 8.000000e+00 : f64, bytes_per_recorded = 0.000000e+00 : f64, fixed_bytes = 1.024000e+03 : f64}, reset_offset = 1 : i64} {
    %input = loihi2.input "in" {shape = array<i64: 3>} : tensor<3xi32>
    %lif = loihi2.layer "lif"(%input : tensor<3xi32>) {kind = "dense_rec", weight = dense<[[254, -127, 64], [127, 127, -254]]> : tensor<2x3xi16>, weight_exp = 0 : i64, num_weight_bits = 9 : i64, i_decay = dense<4096> : tensor<i64>, v_decay = dense<1024> : tensor<i64>, v_th = 254 : i64, spiking = true, scale = dense<2.540000e+02> : tensor<2xf64>, placement = dense<[[0, 2, 0]]> : tensor<1x3xi64>, sources = ["fc", "rec", "lif", "rec.delay"], weight_rec = dense<[[0, -127], [64, 0]]> : tensor<2x2xi16>} : tensor<2xi32>
    loihi2.output "out"(%lif : tensor<2xi32>) {shape = array<i64: 2>}
  }
}
