// RUN: nirc opt %s --verify-diagnostics --split-input-file | filecheck %s

// The rules the replica constructions add to the `loihi2` verifiers (sparse
// recurrent weights, output selection, lags), on the network of
// dialect-replicas.mlir.

// A negative lag.
builtin.module {
  loihi2.network attributes {dt = 1.000000e+00 : f64, latency = 0 : i64, input_bits = 0 : i64, capacity = {neurons_per_core = 8192 : i64, memory_per_core = 131072 : i64, cores_per_chip = 128 : i64, chips = 1 : i64, bytes_per_neuron = 8.000000e+00 : f64, bytes_per_synapse = 2.000000e+00 : f64, bytes_per_shared_weight = 1.000000e+00 : f64, bytes_per_input_axon = 4.000000e+00 : f64, bytes_per_source_slice = 8.000000e+00 : f64, bytes_per_recorded = 0.000000e+00 : f64, fixed_bytes = 1.024000e+03 : f64}, reset_offset = 1 : i64} {
    %input = loihi2.input "input" {shape = array<i64: 2>} : tensor<2xi32>
    %if1 = loihi2.layer "if1"(%input : tensor<2xi32>) {kind = "dense_rec", weight = dense<[[254, -127], [254, -127], [0, 0]]> : tensor<3x2xi16>, weight_exp = 0 : i64, num_weight_bits = 9 : i64, i_decay = dense<[0, 0, 4096]> : tensor<3xi64>, v_decay = dense<4096> : tensor<i64>, v_th = 254 : i64, spiking = true, scale = dense<2.540000e+02> : tensor<3xf64>, placement = dense<[[0, 3, 0]]> : tensor<1x3xi64>, sources = ["fc", "if1"], weight_rec_coo = dense<[[0, 0, -254], [0, 1, -254], [1, 0, -254], [1, 1, -254], [2, 2, 16]]> : tensor<5x3xi32>, bias = dense<[1, -253, 0]> : tensor<3xi16>, lag = -1 : i64} : tensor<3xi32>
    loihi2.output "output"(%if1 : tensor<3xi32>) {shape = array<i64: 1>, select = dense<[0, 0, -1]> : tensor<3xi32>}
  }
}

// CHECK: lag must be >= 0 steps, found -1

// -----

// A latency that leaves out the layers' lags.
builtin.module {
  loihi2.network attributes {dt = 1.000000e+00 : f64, latency = 1 : i64, input_bits = 0 : i64, capacity = {neurons_per_core = 8192 : i64, memory_per_core = 131072 : i64, cores_per_chip = 128 : i64, chips = 1 : i64, bytes_per_neuron = 8.000000e+00 : f64, bytes_per_synapse = 2.000000e+00 : f64, bytes_per_shared_weight = 1.000000e+00 : f64, bytes_per_input_axon = 4.000000e+00 : f64, bytes_per_source_slice = 8.000000e+00 : f64, bytes_per_recorded = 0.000000e+00 : f64, fixed_bytes = 1.024000e+03 : f64}, reset_offset = 1 : i64} {
    %input = loihi2.input "input" {shape = array<i64: 2>} : tensor<2xi32>
    %if1 = loihi2.layer "if1"(%input : tensor<2xi32>) {kind = "dense_rec", weight = dense<[[254, -127], [254, -127], [0, 0]]> : tensor<3x2xi16>, weight_exp = 0 : i64, num_weight_bits = 9 : i64, i_decay = dense<[0, 0, 4096]> : tensor<3xi64>, v_decay = dense<4096> : tensor<i64>, v_th = 254 : i64, spiking = true, scale = dense<2.540000e+02> : tensor<3xf64>, placement = dense<[[0, 3, 0]]> : tensor<1x3xi64>, sources = ["fc", "if1"], weight_rec_coo = dense<[[0, 0, -254], [0, 1, -254], [1, 0, -254], [1, 1, -254], [2, 2, 16]]> : tensor<5x3xi32>, bias = dense<[1, -253, 0]> : tensor<3xi16>, lag = 1 : i64} : tensor<3xi32>
    loihi2.output "output"(%if1 : tensor<3xi32>) {shape = array<i64: 1>, select = dense<[0, 0, -1]> : tensor<3xi32>}
  }
}

// CHECK: latency is 1, but 1 layers add one step each and their lags 1 more

// -----

// Both forms of the recurrent weights.
builtin.module {
  loihi2.network attributes {dt = 1.000000e+00 : f64, latency = 1 : i64, input_bits = 0 : i64, capacity = {neurons_per_core = 8192 : i64, memory_per_core = 131072 : i64, cores_per_chip = 128 : i64, chips = 1 : i64, bytes_per_neuron = 8.000000e+00 : f64, bytes_per_synapse = 2.000000e+00 : f64, bytes_per_shared_weight = 1.000000e+00 : f64, bytes_per_input_axon = 4.000000e+00 : f64, bytes_per_source_slice = 8.000000e+00 : f64, bytes_per_recorded = 0.000000e+00 : f64, fixed_bytes = 1.024000e+03 : f64}, reset_offset = 1 : i64} {
    %input = loihi2.input "input" {shape = array<i64: 2>} : tensor<2xi32>
    %if1 = loihi2.layer "if1"(%input : tensor<2xi32>) {kind = "dense_rec", weight = dense<[[254, -127], [254, -127], [0, 0]]> : tensor<3x2xi16>, weight_exp = 0 : i64, num_weight_bits = 9 : i64, i_decay = dense<[0, 0, 4096]> : tensor<3xi64>, v_decay = dense<4096> : tensor<i64>, v_th = 254 : i64, spiking = true, scale = dense<2.540000e+02> : tensor<3xf64>, placement = dense<[[0, 3, 0]]> : tensor<1x3xi64>, sources = ["fc", "if1"], weight_rec = dense<[[-254, -254, 0], [-254, -254, 0], [0, 0, 16]]> : tensor<3x3xi16>, weight_rec_coo = dense<[[2, 2, 16]]> : tensor<1x3xi32>, bias = dense<[1, -253, 0]> : tensor<3xi16>} : tensor<3xi32>
    loihi2.output "output"(%if1 : tensor<3xi32>) {shape = array<i64: 1>, select = dense<[0, 0, -1]> : tensor<3xi32>}
  }
}

// CHECK: weight_rec and weight_rec_coo are two forms of the same weights: give one

// -----

// Sparse recurrent weights that are not [nnz, 3] rows.
builtin.module {
  loihi2.network attributes {dt = 1.000000e+00 : f64, latency = 1 : i64, input_bits = 0 : i64, capacity = {neurons_per_core = 8192 : i64, memory_per_core = 131072 : i64, cores_per_chip = 128 : i64, chips = 1 : i64, bytes_per_neuron = 8.000000e+00 : f64, bytes_per_synapse = 2.000000e+00 : f64, bytes_per_shared_weight = 1.000000e+00 : f64, bytes_per_input_axon = 4.000000e+00 : f64, bytes_per_source_slice = 8.000000e+00 : f64, bytes_per_recorded = 0.000000e+00 : f64, fixed_bytes = 1.024000e+03 : f64}, reset_offset = 1 : i64} {
    %input = loihi2.input "input" {shape = array<i64: 2>} : tensor<2xi32>
    %if1 = loihi2.layer "if1"(%input : tensor<2xi32>) {kind = "dense_rec", weight = dense<[[254, -127], [254, -127], [0, 0]]> : tensor<3x2xi16>, weight_exp = 0 : i64, num_weight_bits = 9 : i64, i_decay = dense<[0, 0, 4096]> : tensor<3xi64>, v_decay = dense<4096> : tensor<i64>, v_th = 254 : i64, spiking = true, scale = dense<2.540000e+02> : tensor<3xf64>, placement = dense<[[0, 3, 0]]> : tensor<1x3xi64>, sources = ["fc", "if1"], weight_rec_coo = dense<[[0, 0], [1, 1]]> : tensor<2x2xi32>, bias = dense<[1, -253, 0]> : tensor<3xi16>} : tensor<3xi32>
    loihi2.output "output"(%if1 : tensor<3xi32>) {shape = array<i64: 1>, select = dense<[0, 0, -1]> : tensor<3xi32>}
  }
}

// CHECK: weight_rec_coo must be integers [nnz, 3] (target, source, weight), found int32 [2, 2]

// -----

// Sparse recurrent weights naming a neuron the layer does not have.
builtin.module {
  loihi2.network attributes {dt = 1.000000e+00 : f64, latency = 1 : i64, input_bits = 0 : i64, capacity = {neurons_per_core = 8192 : i64, memory_per_core = 131072 : i64, cores_per_chip = 128 : i64, chips = 1 : i64, bytes_per_neuron = 8.000000e+00 : f64, bytes_per_synapse = 2.000000e+00 : f64, bytes_per_shared_weight = 1.000000e+00 : f64, bytes_per_input_axon = 4.000000e+00 : f64, bytes_per_source_slice = 8.000000e+00 : f64, bytes_per_recorded = 0.000000e+00 : f64, fixed_bytes = 1.024000e+03 : f64}, reset_offset = 1 : i64} {
    %input = loihi2.input "input" {shape = array<i64: 2>} : tensor<2xi32>
    %if1 = loihi2.layer "if1"(%input : tensor<2xi32>) {kind = "dense_rec", weight = dense<[[254, -127], [254, -127], [0, 0]]> : tensor<3x2xi16>, weight_exp = 0 : i64, num_weight_bits = 9 : i64, i_decay = dense<[0, 0, 4096]> : tensor<3xi64>, v_decay = dense<4096> : tensor<i64>, v_th = 254 : i64, spiking = true, scale = dense<2.540000e+02> : tensor<3xf64>, placement = dense<[[0, 3, 0]]> : tensor<1x3xi64>, sources = ["fc", "if1"], weight_rec_coo = dense<[[0, 3, -254], [2, 2, 16]]> : tensor<2x3xi32>, bias = dense<[1, -253, 0]> : tensor<3xi16>} : tensor<3xi32>
    loihi2.output "output"(%if1 : tensor<3xi32>) {shape = array<i64: 1>, select = dense<[0, 0, -1]> : tensor<3xi32>}
  }
}

// CHECK: weight_rec_coo names a neuron outside 0..2

// -----

// A pair twice.
builtin.module {
  loihi2.network attributes {dt = 1.000000e+00 : f64, latency = 1 : i64, input_bits = 0 : i64, capacity = {neurons_per_core = 8192 : i64, memory_per_core = 131072 : i64, cores_per_chip = 128 : i64, chips = 1 : i64, bytes_per_neuron = 8.000000e+00 : f64, bytes_per_synapse = 2.000000e+00 : f64, bytes_per_shared_weight = 1.000000e+00 : f64, bytes_per_input_axon = 4.000000e+00 : f64, bytes_per_source_slice = 8.000000e+00 : f64, bytes_per_recorded = 0.000000e+00 : f64, fixed_bytes = 1.024000e+03 : f64}, reset_offset = 1 : i64} {
    %input = loihi2.input "input" {shape = array<i64: 2>} : tensor<2xi32>
    %if1 = loihi2.layer "if1"(%input : tensor<2xi32>) {kind = "dense_rec", weight = dense<[[254, -127], [254, -127], [0, 0]]> : tensor<3x2xi16>, weight_exp = 0 : i64, num_weight_bits = 9 : i64, i_decay = dense<[0, 0, 4096]> : tensor<3xi64>, v_decay = dense<4096> : tensor<i64>, v_th = 254 : i64, spiking = true, scale = dense<2.540000e+02> : tensor<3xf64>, placement = dense<[[0, 3, 0]]> : tensor<1x3xi64>, sources = ["fc", "if1"], weight_rec_coo = dense<[[0, 0, -254], [0, 0, -254], [2, 2, 16]]> : tensor<3x3xi32>, bias = dense<[1, -253, 0]> : tensor<3xi16>} : tensor<3xi32>
    loihi2.output "output"(%if1 : tensor<3xi32>) {shape = array<i64: 1>, select = dense<[0, 0, -1]> : tensor<3xi32>}
  }
}

// CHECK: weight_rec_coo holds each (target, source) pair once, with a nonzero weight

// -----

// A selection of the wrong length.
builtin.module {
  loihi2.network attributes {dt = 1.000000e+00 : f64, latency = 1 : i64, input_bits = 0 : i64, capacity = {neurons_per_core = 8192 : i64, memory_per_core = 131072 : i64, cores_per_chip = 128 : i64, chips = 1 : i64, bytes_per_neuron = 8.000000e+00 : f64, bytes_per_synapse = 2.000000e+00 : f64, bytes_per_shared_weight = 1.000000e+00 : f64, bytes_per_input_axon = 4.000000e+00 : f64, bytes_per_source_slice = 8.000000e+00 : f64, bytes_per_recorded = 0.000000e+00 : f64, fixed_bytes = 1.024000e+03 : f64}, reset_offset = 1 : i64} {
    %input = loihi2.input "input" {shape = array<i64: 2>} : tensor<2xi32>
    %if1 = loihi2.layer "if1"(%input : tensor<2xi32>) {kind = "dense_rec", weight = dense<[[254, -127], [254, -127], [0, 0]]> : tensor<3x2xi16>, weight_exp = 0 : i64, num_weight_bits = 9 : i64, i_decay = dense<[0, 0, 4096]> : tensor<3xi64>, v_decay = dense<4096> : tensor<i64>, v_th = 254 : i64, spiking = true, scale = dense<2.540000e+02> : tensor<3xf64>, placement = dense<[[0, 3, 0]]> : tensor<1x3xi64>, sources = ["fc", "if1"], weight_rec_coo = dense<[[0, 0, -254], [0, 1, -254], [1, 0, -254], [1, 1, -254], [2, 2, 16]]> : tensor<5x3xi32>, bias = dense<[1, -253, 0]> : tensor<3xi16>} : tensor<3xi32>
    loihi2.output "output"(%if1 : tensor<3xi32>) {shape = array<i64: 1>, select = dense<[0, 0]> : tensor<2xi32>}
  }
}

// CHECK: select must be 3 integers (one per neuron of the last layer), found [2] of int32

// -----

// A selection that leaves an element of the output without a neuron.
builtin.module {
  loihi2.network attributes {dt = 1.000000e+00 : f64, latency = 1 : i64, input_bits = 0 : i64, capacity = {neurons_per_core = 8192 : i64, memory_per_core = 131072 : i64, cores_per_chip = 128 : i64, chips = 1 : i64, bytes_per_neuron = 8.000000e+00 : f64, bytes_per_synapse = 2.000000e+00 : f64, bytes_per_shared_weight = 1.000000e+00 : f64, bytes_per_input_axon = 4.000000e+00 : f64, bytes_per_source_slice = 8.000000e+00 : f64, bytes_per_recorded = 0.000000e+00 : f64, fixed_bytes = 1.024000e+03 : f64}, reset_offset = 1 : i64} {
    %input = loihi2.input "input" {shape = array<i64: 2>} : tensor<2xi32>
    %if1 = loihi2.layer "if1"(%input : tensor<2xi32>) {kind = "dense_rec", weight = dense<[[254, -127], [254, -127], [0, 0]]> : tensor<3x2xi16>, weight_exp = 0 : i64, num_weight_bits = 9 : i64, i_decay = dense<[0, 0, 4096]> : tensor<3xi64>, v_decay = dense<4096> : tensor<i64>, v_th = 254 : i64, spiking = true, scale = dense<2.540000e+02> : tensor<3xf64>, placement = dense<[[0, 3, 0]]> : tensor<1x3xi64>, sources = ["fc", "if1"], weight_rec_coo = dense<[[0, 0, -254], [0, 1, -254], [1, 0, -254], [1, 1, -254], [2, 2, 16]]> : tensor<5x3xi32>, bias = dense<[1, -253, 0]> : tensor<3xi16>} : tensor<3xi32>
    loihi2.output "output"(%if1 : tensor<3xi32>) {shape = array<i64: 1>, select = dense<[-1, -1, -1]> : tensor<3xi32>}
  }
}

// CHECK: select must name every element 0..0 of the output (or -1), each by at least one neuron

// -----

// A selection on a readout, whose voltage is the output.
builtin.module {
  loihi2.network attributes {dt = 1.000000e+00 : f64, latency = 1 : i64, input_bits = 0 : i64, capacity = {neurons_per_core = 8192 : i64, memory_per_core = 131072 : i64, cores_per_chip = 128 : i64, chips = 1 : i64, bytes_per_neuron = 8.000000e+00 : f64, bytes_per_synapse = 2.000000e+00 : f64, bytes_per_shared_weight = 1.000000e+00 : f64, bytes_per_input_axon = 4.000000e+00 : f64, bytes_per_source_slice = 8.000000e+00 : f64, bytes_per_recorded = 0.000000e+00 : f64, fixed_bytes = 1.024000e+03 : f64}, reset_offset = 1 : i64} {
    %input = loihi2.input "input" {shape = array<i64: 2>} : tensor<2xi32>
    %if1 = loihi2.layer "if1"(%input : tensor<2xi32>) {kind = "dense_rec", weight = dense<[[254, -127], [254, -127], [0, 0]]> : tensor<3x2xi16>, weight_exp = 0 : i64, num_weight_bits = 9 : i64, i_decay = dense<[0, 0, 4096]> : tensor<3xi64>, v_decay = dense<4096> : tensor<i64>, v_th = 131071 : i64, spiking = false, scale = dense<2.540000e+02> : tensor<3xf64>, placement = dense<[[0, 3, 0]]> : tensor<1x3xi64>, sources = ["fc", "if1"], weight_rec_coo = dense<[[0, 0, -254], [0, 1, -254], [1, 0, -254], [1, 1, -254], [2, 2, 16]]> : tensor<5x3xi32>, bias = dense<[1, -253, 0]> : tensor<3xi16>} : tensor<3xi32>
    loihi2.output "output"(%if1 : tensor<3xi32>) {shape = array<i64: 1>, select = dense<[0, 0, -1]> : tensor<3xi32>}
  }
}

// CHECK: select belongs to spiking last layers (a readout's voltage is the output)
