builtin.module {
  loihi2.network attributes {dt = 1.000000e-04 : f64, latency = 1 : i64, input_bits = 0 : i64, capacity = {neurons_per_core = 8192 : i64, memory_per_core = 131072 : i64, cores_per_chip = 128 : i64, chips = 1 : i64, bytes_per_neuron = 8.000000e+00 : f64, bytes_per_synapse = 2.000000e+00 : f64, bytes_per_shared_weight = 1.000000e+00 : f64, bytes_per_input_axon = 4.000000e+00 : f64, bytes_per_source_slice = 8.000000e+00 : f64, bytes_per_recorded = 0.000000e+00 : f64, fixed_bytes = 1.024000e+03 : f64}, reset_offset = 1 : i64} {
    %input = loihi2.input "input" {shape = array<i64: 1>} : tensor<1xi32>
    %0 = loihi2.layer "1"(%input : tensor<1xi32>) {kind = "dense", weight = dense<255> : tensor<1x1xi16>, weight_exp = 0 : i64, num_weight_bits = 8 : i64, i_decay = dense<4096> : tensor<i64>, v_decay = dense<164> : tensor<i64>, v_th = 637 : i64, spiking = true, scale = dense<6374.9998575076461> : tensor<1xf64>, placement = dense<[[0, 1, 0]]> : tensor<1x3xi64>, sources = ["0", "1"]} : tensor<1xi32>
    loihi2.output "output"(%0 : tensor<1xi32>) {shape = array<i64: 1>}
  }
}
