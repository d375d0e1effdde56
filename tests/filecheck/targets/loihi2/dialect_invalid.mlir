// RUN: nirc opt %s --verify-diagnostics --split-input-file | filecheck %s

// Each rule of the `loihi2` verifiers, on the network of dialect.mlir.

// A weight beyond the 8-bit mantissa and sign netx keeps ([-256, 254] with both signs).
builtin.module {
  loihi2.network attributes {dt = 1.000000e+00 : f64, latency = 2 : i64, input_bits = 0 : i64, capacity = {neurons_per_core = 8192 : i64, memory_per_core = 131072 : i64, cores_per_chip = 128 : i64, chips = 1 : i64, bytes_per_neuron = 8.000000e+00 : f64, bytes_per_synapse = 2.000000e+00 : f64, bytes_per_shared_weight = 1.000000e+00 : f64, bytes_per_input_axon = 4.000000e+00 : f64, bytes_per_source_slice = 8.000000e+00 : f64, bytes_per_recorded = 0.000000e+00 : f64, fixed_bytes = 1.024000e+03 : f64}, reset_offset = 1 : i64} {
    %input = loihi2.input "input" {shape = array<i64: 1, 4, 4>} : tensor<1x4x4xi32>
    %conv1 = loihi2.layer "conv1"(%input : tensor<1x4x4xi32>) {kind = "conv", weight = dense<[[[[41, -32, -23], [-17, -22, 40], [46, 18, -37]]], [[[-31, -7, 3], [22, 7, -14], [-25, 29, 33]]]]> : tensor<2x1x3x3xi16>, weight_exp = 0 : i64, num_weight_bits = 8 : i64, i_decay = dense<4096> : tensor<i64>, v_decay = dense<0> : tensor<i64>, v_th = 100 : i64, spiking = true, scale = dense<1.000000e+00> : tensor<f64>, placement = dense<[[0, 32, 0]]> : tensor<1x3xi64>, sources = ["c1", "if1"], bias = dense<[3, -2]> : tensor<2xi16>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<2x4x4xi32>
    %fc = loihi2.layer "fc"(%conv1 : tensor<2x4x4xi32>) {kind = "dense", weight = dense<[[-300, -75, -1, -14, 95, 13, -8, -6, 46, 29, -62, 62, 66, 110, 72, -38, -30, 42, 43, 53, 91, -36, 106, -100, -84, 114, 107, -35, -70, -31, -91, 96], [45, 28, -47, 3, -59, 70, 4, -94, -45, 55, 14, -18, -45, -81, 33, 45, 14, 104, 104, -55, 33, 38, -46, -35, 7, 63, -36, 58, 43, -52, -15, 82], [85, 44, -99, 50, -51, 80, 100, -6, 110, 66, -29, 93, -16, -78, 30, 86, 44, -14, 98, 5, -16, -68, -54, 53, 75, -36, 38, 91, -68, -40, 15, 23]]> : tensor<3x32xi16>, weight_exp = -1 : i64, num_weight_bits = 8 : i64, i_decay = dense<2048> : tensor<i64>, v_decay = dense<[512, 1024, 256]> : tensor<3xi64>, v_th = 131071 : i64, spiking = false, scale = dense<[2.000000e+00, 2.000000e+00, 4.000000e+00]> : tensor<3xf64>, placement = dense<[[0, 2, 1], [2, 1, 2]]> : tensor<2x3xi64>, sources = ["fc", "li"], flatten = true} : tensor<3xi32>
    loihi2.output "output"(%fc : tensor<3xi32>) {shape = array<i64: 3>}
  }
}

// CHECK: mixed-sign weights must lie in [-256, 254] (8-bit mantissa and sign, kept exactly by netx), found [-300, 114]

// -----

// An exponent that is not the one netx derives from the weights.
builtin.module {
  loihi2.network attributes {dt = 1.000000e+00 : f64, latency = 2 : i64, input_bits = 0 : i64, capacity = {neurons_per_core = 8192 : i64, memory_per_core = 131072 : i64, cores_per_chip = 128 : i64, chips = 1 : i64, bytes_per_neuron = 8.000000e+00 : f64, bytes_per_synapse = 2.000000e+00 : f64, bytes_per_shared_weight = 1.000000e+00 : f64, bytes_per_input_axon = 4.000000e+00 : f64, bytes_per_source_slice = 8.000000e+00 : f64, bytes_per_recorded = 0.000000e+00 : f64, fixed_bytes = 1.024000e+03 : f64}, reset_offset = 1 : i64} {
    %input = loihi2.input "input" {shape = array<i64: 1, 4, 4>} : tensor<1x4x4xi32>
    %conv1 = loihi2.layer "conv1"(%input : tensor<1x4x4xi32>) {kind = "conv", weight = dense<[[[[41, -32, -23], [-17, -22, 40], [46, 18, -37]]], [[[-31, -7, 3], [22, 7, -14], [-25, 29, 33]]]]> : tensor<2x1x3x3xi16>, weight_exp = 0 : i64, num_weight_bits = 8 : i64, i_decay = dense<4096> : tensor<i64>, v_decay = dense<0> : tensor<i64>, v_th = 100 : i64, spiking = true, scale = dense<1.000000e+00> : tensor<f64>, placement = dense<[[0, 32, 0]]> : tensor<1x3xi64>, sources = ["c1", "if1"], bias = dense<[3, -2]> : tensor<2xi16>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<2x4x4xi32>
    %fc = loihi2.layer "fc"(%conv1 : tensor<2x4x4xi32>) {kind = "dense", weight = dense<[[-93, -75, -1, -14, 95, 13, -8, -6, 46, 29, -62, 62, 66, 110, 72, -38, -30, 42, 43, 53, 91, -36, 106, -100, -84, 114, 107, -35, -70, -31, -91, 96], [45, 28, -47, 3, -59, 70, 4, -94, -45, 55, 14, -18, -45, -81, 33, 45, 14, 104, 104, -55, 33, 38, -46, -35, 7, 63, -36, 58, 43, -52, -15, 82], [85, 44, -99, 50, -51, 80, 100, -6, 110, 66, -29, 93, -16, -78, 30, 86, 44, -14, 98, 5, -16, -68, -54, 53, 75, -36, 38, 91, -68, -40, 15, 23]]> : tensor<3x32xi16>, weight_exp = -2 : i64, num_weight_bits = 8 : i64, i_decay = dense<2048> : tensor<i64>, v_decay = dense<[512, 1024, 256]> : tensor<3xi64>, v_th = 131071 : i64, spiking = false, scale = dense<[2.000000e+00, 2.000000e+00, 4.000000e+00]> : tensor<3xf64>, placement = dense<[[0, 2, 1], [2, 1, 2]]> : tensor<2x3xi64>, sources = ["fc", "li"], flatten = true} : tensor<3xi32>
    loihi2.output "output"(%fc : tensor<3xi32>) {shape = array<i64: 3>}
  }
}

// CHECK: weight_exp = -2, num_weight_bits = 8; netx derives -1 and 8 from these weights

// -----

// A decay beyond 12 bits.
builtin.module {
  loihi2.network attributes {dt = 1.000000e+00 : f64, latency = 2 : i64, input_bits = 0 : i64, capacity = {neurons_per_core = 8192 : i64, memory_per_core = 131072 : i64, cores_per_chip = 128 : i64, chips = 1 : i64, bytes_per_neuron = 8.000000e+00 : f64, bytes_per_synapse = 2.000000e+00 : f64, bytes_per_shared_weight = 1.000000e+00 : f64, bytes_per_input_axon = 4.000000e+00 : f64, bytes_per_source_slice = 8.000000e+00 : f64, bytes_per_recorded = 0.000000e+00 : f64, fixed_bytes = 1.024000e+03 : f64}, reset_offset = 1 : i64} {
    %input = loihi2.input "input" {shape = array<i64: 1, 4, 4>} : tensor<1x4x4xi32>
    %conv1 = loihi2.layer "conv1"(%input : tensor<1x4x4xi32>) {kind = "conv", weight = dense<[[[[41, -32, -23], [-17, -22, 40], [46, 18, -37]]], [[[-31, -7, 3], [22, 7, -14], [-25, 29, 33]]]]> : tensor<2x1x3x3xi16>, weight_exp = 0 : i64, num_weight_bits = 8 : i64, i_decay = dense<4096> : tensor<i64>, v_decay = dense<0> : tensor<i64>, v_th = 100 : i64, spiking = true, scale = dense<1.000000e+00> : tensor<f64>, placement = dense<[[0, 32, 0]]> : tensor<1x3xi64>, sources = ["c1", "if1"], bias = dense<[3, -2]> : tensor<2xi16>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<2x4x4xi32>
    %fc = loihi2.layer "fc"(%conv1 : tensor<2x4x4xi32>) {kind = "dense", weight = dense<[[-93, -75, -1, -14, 95, 13, -8, -6, 46, 29, -62, 62, 66, 110, 72, -38, -30, 42, 43, 53, 91, -36, 106, -100, -84, 114, 107, -35, -70, -31, -91, 96], [45, 28, -47, 3, -59, 70, 4, -94, -45, 55, 14, -18, -45, -81, 33, 45, 14, 104, 104, -55, 33, 38, -46, -35, 7, 63, -36, 58, 43, -52, -15, 82], [85, 44, -99, 50, -51, 80, 100, -6, 110, 66, -29, 93, -16, -78, 30, 86, 44, -14, 98, 5, -16, -68, -54, 53, 75, -36, 38, 91, -68, -40, 15, 23]]> : tensor<3x32xi16>, weight_exp = -1 : i64, num_weight_bits = 8 : i64, i_decay = dense<2048> : tensor<i64>, v_decay = dense<[512, 5000, 256]> : tensor<3xi64>, v_th = 131071 : i64, spiking = false, scale = dense<[2.000000e+00, 2.000000e+00, 4.000000e+00]> : tensor<3xf64>, placement = dense<[[0, 2, 1], [2, 1, 2]]> : tensor<2x3xi64>, sources = ["fc", "li"], flatten = true} : tensor<3xi32>
    loihi2.output "output"(%fc : tensor<3xi32>) {shape = array<i64: 3>}
  }
}

// CHECK: v_decay outside its 12-bit decay range [0, 4096]: found [256, 5000]

// -----

// A threshold mantissa beyond 17 bits.
builtin.module {
  loihi2.network attributes {dt = 1.000000e+00 : f64, latency = 2 : i64, input_bits = 0 : i64, capacity = {neurons_per_core = 8192 : i64, memory_per_core = 131072 : i64, cores_per_chip = 128 : i64, chips = 1 : i64, bytes_per_neuron = 8.000000e+00 : f64, bytes_per_synapse = 2.000000e+00 : f64, bytes_per_shared_weight = 1.000000e+00 : f64, bytes_per_input_axon = 4.000000e+00 : f64, bytes_per_source_slice = 8.000000e+00 : f64, bytes_per_recorded = 0.000000e+00 : f64, fixed_bytes = 1.024000e+03 : f64}, reset_offset = 1 : i64} {
    %input = loihi2.input "input" {shape = array<i64: 1, 4, 4>} : tensor<1x4x4xi32>
    %conv1 = loihi2.layer "conv1"(%input : tensor<1x4x4xi32>) {kind = "conv", weight = dense<[[[[41, -32, -23], [-17, -22, 40], [46, 18, -37]]], [[[-31, -7, 3], [22, 7, -14], [-25, 29, 33]]]]> : tensor<2x1x3x3xi16>, weight_exp = 0 : i64, num_weight_bits = 8 : i64, i_decay = dense<4096> : tensor<i64>, v_decay = dense<0> : tensor<i64>, v_th = 200000 : i64, spiking = true, scale = dense<1.000000e+00> : tensor<f64>, placement = dense<[[0, 32, 0]]> : tensor<1x3xi64>, sources = ["c1", "if1"], bias = dense<[3, -2]> : tensor<2xi16>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<2x4x4xi32>
    %fc = loihi2.layer "fc"(%conv1 : tensor<2x4x4xi32>) {kind = "dense", weight = dense<[[-93, -75, -1, -14, 95, 13, -8, -6, 46, 29, -62, 62, 66, 110, 72, -38, -30, 42, 43, 53, 91, -36, 106, -100, -84, 114, 107, -35, -70, -31, -91, 96], [45, 28, -47, 3, -59, 70, 4, -94, -45, 55, 14, -18, -45, -81, 33, 45, 14, 104, 104, -55, 33, 38, -46, -35, 7, 63, -36, 58, 43, -52, -15, 82], [85, 44, -99, 50, -51, 80, 100, -6, 110, 66, -29, 93, -16, -78, 30, 86, 44, -14, 98, 5, -16, -68, -54, 53, 75, -36, 38, 91, -68, -40, 15, 23]]> : tensor<3x32xi16>, weight_exp = -1 : i64, num_weight_bits = 8 : i64, i_decay = dense<2048> : tensor<i64>, v_decay = dense<[512, 1024, 256]> : tensor<3xi64>, v_th = 131071 : i64, spiking = false, scale = dense<[2.000000e+00, 2.000000e+00, 4.000000e+00]> : tensor<3xf64>, placement = dense<[[0, 2, 1], [2, 1, 2]]> : tensor<2x3xi64>, sources = ["fc", "li"], flatten = true} : tensor<3xi32>
    loihi2.output "output"(%fc : tensor<3xi32>) {shape = array<i64: 3>}
  }
}

// CHECK: v_th = 200000 is outside its 17-bit threshold mantissa range [0, 131071]

// -----

// A bias beyond the 13-bit mantissa.
builtin.module {
  loihi2.network attributes {dt = 1.000000e+00 : f64, latency = 2 : i64, input_bits = 0 : i64, capacity = {neurons_per_core = 8192 : i64, memory_per_core = 131072 : i64, cores_per_chip = 128 : i64, chips = 1 : i64, bytes_per_neuron = 8.000000e+00 : f64, bytes_per_synapse = 2.000000e+00 : f64, bytes_per_shared_weight = 1.000000e+00 : f64, bytes_per_input_axon = 4.000000e+00 : f64, bytes_per_source_slice = 8.000000e+00 : f64, bytes_per_recorded = 0.000000e+00 : f64, fixed_bytes = 1.024000e+03 : f64}, reset_offset = 1 : i64} {
    %input = loihi2.input "input" {shape = array<i64: 1, 4, 4>} : tensor<1x4x4xi32>
    %conv1 = loihi2.layer "conv1"(%input : tensor<1x4x4xi32>) {kind = "conv", weight = dense<[[[[41, -32, -23], [-17, -22, 40], [46, 18, -37]]], [[[-31, -7, 3], [22, 7, -14], [-25, 29, 33]]]]> : tensor<2x1x3x3xi16>, weight_exp = 0 : i64, num_weight_bits = 8 : i64, i_decay = dense<4096> : tensor<i64>, v_decay = dense<0> : tensor<i64>, v_th = 100 : i64, spiking = true, scale = dense<1.000000e+00> : tensor<f64>, placement = dense<[[0, 32, 0]]> : tensor<1x3xi64>, sources = ["c1", "if1"], bias = dense<[3, -5000]> : tensor<2xi16>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<2x4x4xi32>
    %fc = loihi2.layer "fc"(%conv1 : tensor<2x4x4xi32>) {kind = "dense", weight = dense<[[-93, -75, -1, -14, 95, 13, -8, -6, 46, 29, -62, 62, 66, 110, 72, -38, -30, 42, 43, 53, 91, -36, 106, -100, -84, 114, 107, -35, -70, -31, -91, 96], [45, 28, -47, 3, -59, 70, 4, -94, -45, 55, 14, -18, -45, -81, 33, 45, 14, 104, 104, -55, 33, 38, -46, -35, 7, 63, -36, 58, 43, -52, -15, 82], [85, 44, -99, 50, -51, 80, 100, -6, 110, 66, -29, 93, -16, -78, 30, 86, 44, -14, 98, 5, -16, -68, -54, 53, 75, -36, 38, 91, -68, -40, 15, 23]]> : tensor<3x32xi16>, weight_exp = -1 : i64, num_weight_bits = 8 : i64, i_decay = dense<2048> : tensor<i64>, v_decay = dense<[512, 1024, 256]> : tensor<3xi64>, v_th = 131071 : i64, spiking = false, scale = dense<[2.000000e+00, 2.000000e+00, 4.000000e+00]> : tensor<3xf64>, placement = dense<[[0, 2, 1], [2, 1, 2]]> : tensor<2x3xi64>, sources = ["fc", "li"], flatten = true} : tensor<3xi32>
    loihi2.output "output"(%fc : tensor<3xi32>) {shape = array<i64: 3>}
  }
}

// CHECK: bias mantissa outside its 13-bit range [-4096, 4095]: found [-5000, 3]

// -----

// A readout whose threshold a saturated voltage could exceed.
builtin.module {
  loihi2.network attributes {dt = 1.000000e+00 : f64, latency = 2 : i64, input_bits = 0 : i64, capacity = {neurons_per_core = 8192 : i64, memory_per_core = 131072 : i64, cores_per_chip = 128 : i64, chips = 1 : i64, bytes_per_neuron = 8.000000e+00 : f64, bytes_per_synapse = 2.000000e+00 : f64, bytes_per_shared_weight = 1.000000e+00 : f64, bytes_per_input_axon = 4.000000e+00 : f64, bytes_per_source_slice = 8.000000e+00 : f64, bytes_per_recorded = 0.000000e+00 : f64, fixed_bytes = 1.024000e+03 : f64}, reset_offset = 1 : i64} {
    %input = loihi2.input "input" {shape = array<i64: 1, 4, 4>} : tensor<1x4x4xi32>
    %conv1 = loihi2.layer "conv1"(%input : tensor<1x4x4xi32>) {kind = "conv", weight = dense<[[[[41, -32, -23], [-17, -22, 40], [46, 18, -37]]], [[[-31, -7, 3], [22, 7, -14], [-25, 29, 33]]]]> : tensor<2x1x3x3xi16>, weight_exp = 0 : i64, num_weight_bits = 8 : i64, i_decay = dense<4096> : tensor<i64>, v_decay = dense<0> : tensor<i64>, v_th = 100 : i64, spiking = true, scale = dense<1.000000e+00> : tensor<f64>, placement = dense<[[0, 32, 0]]> : tensor<1x3xi64>, sources = ["c1", "if1"], bias = dense<[3, -2]> : tensor<2xi16>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<2x4x4xi32>
    %fc = loihi2.layer "fc"(%conv1 : tensor<2x4x4xi32>) {kind = "dense", weight = dense<[[-93, -75, -1, -14, 95, 13, -8, -6, 46, 29, -62, 62, 66, 110, 72, -38, -30, 42, 43, 53, 91, -36, 106, -100, -84, 114, 107, -35, -70, -31, -91, 96], [45, 28, -47, 3, -59, 70, 4, -94, -45, 55, 14, -18, -45, -81, 33, 45, 14, 104, 104, -55, 33, 38, -46, -35, 7, 63, -36, 58, 43, -52, -15, 82], [85, 44, -99, 50, -51, 80, 100, -6, 110, 66, -29, 93, -16, -78, 30, 86, 44, -14, 98, 5, -16, -68, -54, 53, 75, -36, 38, 91, -68, -40, 15, 23]]> : tensor<3x32xi16>, weight_exp = -1 : i64, num_weight_bits = 8 : i64, i_decay = dense<2048> : tensor<i64>, v_decay = dense<[512, 1024, 256]> : tensor<3xi64>, v_th = 1000 : i64, spiking = false, scale = dense<[2.000000e+00, 2.000000e+00, 4.000000e+00]> : tensor<3xf64>, placement = dense<[[0, 2, 1], [2, 1, 2]]> : tensor<2x3xi64>, sources = ["fc", "li"], flatten = true} : tensor<3xi32>
    loihi2.output "output"(%fc : tensor<3xi32>) {shape = array<i64: 3>}
  }
}

// CHECK: a readout (spiking = false) has the largest threshold mantissa 131071, found 1000

// -----

// Placement runs that leave a neuron of the readout unplaced.
builtin.module {
  loihi2.network attributes {dt = 1.000000e+00 : f64, latency = 2 : i64, input_bits = 0 : i64, capacity = {neurons_per_core = 8192 : i64, memory_per_core = 131072 : i64, cores_per_chip = 128 : i64, chips = 1 : i64, bytes_per_neuron = 8.000000e+00 : f64, bytes_per_synapse = 2.000000e+00 : f64, bytes_per_shared_weight = 1.000000e+00 : f64, bytes_per_input_axon = 4.000000e+00 : f64, bytes_per_source_slice = 8.000000e+00 : f64, bytes_per_recorded = 0.000000e+00 : f64, fixed_bytes = 1.024000e+03 : f64}, reset_offset = 1 : i64} {
    %input = loihi2.input "input" {shape = array<i64: 1, 4, 4>} : tensor<1x4x4xi32>
    %conv1 = loihi2.layer "conv1"(%input : tensor<1x4x4xi32>) {kind = "conv", weight = dense<[[[[41, -32, -23], [-17, -22, 40], [46, 18, -37]]], [[[-31, -7, 3], [22, 7, -14], [-25, 29, 33]]]]> : tensor<2x1x3x3xi16>, weight_exp = 0 : i64, num_weight_bits = 8 : i64, i_decay = dense<4096> : tensor<i64>, v_decay = dense<0> : tensor<i64>, v_th = 100 : i64, spiking = true, scale = dense<1.000000e+00> : tensor<f64>, placement = dense<[[0, 32, 0]]> : tensor<1x3xi64>, sources = ["c1", "if1"], bias = dense<[3, -2]> : tensor<2xi16>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<2x4x4xi32>
    %fc = loihi2.layer "fc"(%conv1 : tensor<2x4x4xi32>) {kind = "dense", weight = dense<[[-93, -75, -1, -14, 95, 13, -8, -6, 46, 29, -62, 62, 66, 110, 72, -38, -30, 42, 43, 53, 91, -36, 106, -100, -84, 114, 107, -35, -70, -31, -91, 96], [45, 28, -47, 3, -59, 70, 4, -94, -45, 55, 14, -18, -45, -81, 33, 45, 14, 104, 104, -55, 33, 38, -46, -35, 7, 63, -36, 58, 43, -52, -15, 82], [85, 44, -99, 50, -51, 80, 100, -6, 110, 66, -29, 93, -16, -78, 30, 86, 44, -14, 98, 5, -16, -68, -54, 53, 75, -36, 38, 91, -68, -40, 15, 23]]> : tensor<3x32xi16>, weight_exp = -1 : i64, num_weight_bits = 8 : i64, i_decay = dense<2048> : tensor<i64>, v_decay = dense<[512, 1024, 256]> : tensor<3xi64>, v_th = 131071 : i64, spiking = false, scale = dense<[2.000000e+00, 2.000000e+00, 4.000000e+00]> : tensor<3xf64>, placement = dense<[[0, 2, 1]]> : tensor<1x3xi64>, sources = ["fc", "li"], flatten = true} : tensor<3xi32>
    loihi2.output "output"(%fc : tensor<3xi32>) {shape = array<i64: 3>}
  }
}

// CHECK: placement runs must cover the 3 neurons exactly once; they cover [0, 2)

// -----

// Placement runs that place neuron 1 twice.
builtin.module {
  loihi2.network attributes {dt = 1.000000e+00 : f64, latency = 2 : i64, input_bits = 0 : i64, capacity = {neurons_per_core = 8192 : i64, memory_per_core = 131072 : i64, cores_per_chip = 128 : i64, chips = 1 : i64, bytes_per_neuron = 8.000000e+00 : f64, bytes_per_synapse = 2.000000e+00 : f64, bytes_per_shared_weight = 1.000000e+00 : f64, bytes_per_input_axon = 4.000000e+00 : f64, bytes_per_source_slice = 8.000000e+00 : f64, bytes_per_recorded = 0.000000e+00 : f64, fixed_bytes = 1.024000e+03 : f64}, reset_offset = 1 : i64} {
    %input = loihi2.input "input" {shape = array<i64: 1, 4, 4>} : tensor<1x4x4xi32>
    %conv1 = loihi2.layer "conv1"(%input : tensor<1x4x4xi32>) {kind = "conv", weight = dense<[[[[41, -32, -23], [-17, -22, 40], [46, 18, -37]]], [[[-31, -7, 3], [22, 7, -14], [-25, 29, 33]]]]> : tensor<2x1x3x3xi16>, weight_exp = 0 : i64, num_weight_bits = 8 : i64, i_decay = dense<4096> : tensor<i64>, v_decay = dense<0> : tensor<i64>, v_th = 100 : i64, spiking = true, scale = dense<1.000000e+00> : tensor<f64>, placement = dense<[[0, 32, 0]]> : tensor<1x3xi64>, sources = ["c1", "if1"], bias = dense<[3, -2]> : tensor<2xi16>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<2x4x4xi32>
    %fc = loihi2.layer "fc"(%conv1 : tensor<2x4x4xi32>) {kind = "dense", weight = dense<[[-93, -75, -1, -14, 95, 13, -8, -6, 46, 29, -62, 62, 66, 110, 72, -38, -30, 42, 43, 53, 91, -36, 106, -100, -84, 114, 107, -35, -70, -31, -91, 96], [45, 28, -47, 3, -59, 70, 4, -94, -45, 55, 14, -18, -45, -81, 33, 45, 14, 104, 104, -55, 33, 38, -46, -35, 7, 63, -36, 58, 43, -52, -15, 82], [85, 44, -99, 50, -51, 80, 100, -6, 110, 66, -29, 93, -16, -78, 30, 86, 44, -14, 98, 5, -16, -68, -54, 53, 75, -36, 38, 91, -68, -40, 15, 23]]> : tensor<3x32xi16>, weight_exp = -1 : i64, num_weight_bits = 8 : i64, i_decay = dense<2048> : tensor<i64>, v_decay = dense<[512, 1024, 256]> : tensor<3xi64>, v_th = 131071 : i64, spiking = false, scale = dense<[2.000000e+00, 2.000000e+00, 4.000000e+00]> : tensor<3xf64>, placement = dense<[[0, 2, 1], [1, 2, 2]]> : tensor<2x3xi64>, sources = ["fc", "li"], flatten = true} : tensor<3xi32>
    loihi2.output "output"(%fc : tensor<3xi32>) {shape = array<i64: 3>}
  }
}

// CHECK: placement runs must cover the 3 neurons exactly once; they overlap or gaps

// -----

// A core beyond the machine (one chip of 128 cores).
builtin.module {
  loihi2.network attributes {dt = 1.000000e+00 : f64, latency = 2 : i64, input_bits = 0 : i64, capacity = {neurons_per_core = 8192 : i64, memory_per_core = 131072 : i64, cores_per_chip = 128 : i64, chips = 1 : i64, bytes_per_neuron = 8.000000e+00 : f64, bytes_per_synapse = 2.000000e+00 : f64, bytes_per_shared_weight = 1.000000e+00 : f64, bytes_per_input_axon = 4.000000e+00 : f64, bytes_per_source_slice = 8.000000e+00 : f64, bytes_per_recorded = 0.000000e+00 : f64, fixed_bytes = 1.024000e+03 : f64}, reset_offset = 1 : i64} {
    %input = loihi2.input "input" {shape = array<i64: 1, 4, 4>} : tensor<1x4x4xi32>
    %conv1 = loihi2.layer "conv1"(%input : tensor<1x4x4xi32>) {kind = "conv", weight = dense<[[[[41, -32, -23], [-17, -22, 40], [46, 18, -37]]], [[[-31, -7, 3], [22, 7, -14], [-25, 29, 33]]]]> : tensor<2x1x3x3xi16>, weight_exp = 0 : i64, num_weight_bits = 8 : i64, i_decay = dense<4096> : tensor<i64>, v_decay = dense<0> : tensor<i64>, v_th = 100 : i64, spiking = true, scale = dense<1.000000e+00> : tensor<f64>, placement = dense<[[0, 32, 0]]> : tensor<1x3xi64>, sources = ["c1", "if1"], bias = dense<[3, -2]> : tensor<2xi16>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<2x4x4xi32>
    %fc = loihi2.layer "fc"(%conv1 : tensor<2x4x4xi32>) {kind = "dense", weight = dense<[[-93, -75, -1, -14, 95, 13, -8, -6, 46, 29, -62, 62, 66, 110, 72, -38, -30, 42, 43, 53, 91, -36, 106, -100, -84, 114, 107, -35, -70, -31, -91, 96], [45, 28, -47, 3, -59, 70, 4, -94, -45, 55, 14, -18, -45, -81, 33, 45, 14, 104, 104, -55, 33, 38, -46, -35, 7, 63, -36, 58, 43, -52, -15, 82], [85, 44, -99, 50, -51, 80, 100, -6, 110, 66, -29, 93, -16, -78, 30, 86, 44, -14, 98, 5, -16, -68, -54, 53, 75, -36, 38, 91, -68, -40, 15, 23]]> : tensor<3x32xi16>, weight_exp = -1 : i64, num_weight_bits = 8 : i64, i_decay = dense<2048> : tensor<i64>, v_decay = dense<[512, 1024, 256]> : tensor<3xi64>, v_th = 131071 : i64, spiking = false, scale = dense<[2.000000e+00, 2.000000e+00, 4.000000e+00]> : tensor<3xf64>, placement = dense<[[0, 2, 1], [2, 1, 300]]> : tensor<2x3xi64>, sources = ["fc", "li"], flatten = true} : tensor<3xi32>
    loihi2.output "output"(%fc : tensor<3xi32>) {shape = array<i64: 3>}
  }
}

// CHECK: placement names core 300, but the machine has 128 (1 chip(s) x 128 cores)

// -----

// A core holding more neurons than the capacity allows (here 16 per core).
builtin.module {
  loihi2.network attributes {dt = 1.000000e+00 : f64, latency = 2 : i64, input_bits = 0 : i64, capacity = {neurons_per_core = 16 : i64, memory_per_core = 131072 : i64, cores_per_chip = 128 : i64, chips = 1 : i64, bytes_per_neuron = 8.000000e+00 : f64, bytes_per_synapse = 2.000000e+00 : f64, bytes_per_shared_weight = 1.000000e+00 : f64, bytes_per_input_axon = 4.000000e+00 : f64, bytes_per_source_slice = 8.000000e+00 : f64, bytes_per_recorded = 0.000000e+00 : f64, fixed_bytes = 1.024000e+03 : f64}, reset_offset = 1 : i64} {
    %input = loihi2.input "input" {shape = array<i64: 1, 4, 4>} : tensor<1x4x4xi32>
    %conv1 = loihi2.layer "conv1"(%input : tensor<1x4x4xi32>) {kind = "conv", weight = dense<[[[[41, -32, -23], [-17, -22, 40], [46, 18, -37]]], [[[-31, -7, 3], [22, 7, -14], [-25, 29, 33]]]]> : tensor<2x1x3x3xi16>, weight_exp = 0 : i64, num_weight_bits = 8 : i64, i_decay = dense<4096> : tensor<i64>, v_decay = dense<0> : tensor<i64>, v_th = 100 : i64, spiking = true, scale = dense<1.000000e+00> : tensor<f64>, placement = dense<[[0, 32, 0]]> : tensor<1x3xi64>, sources = ["c1", "if1"], bias = dense<[3, -2]> : tensor<2xi16>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<2x4x4xi32>
    %fc = loihi2.layer "fc"(%conv1 : tensor<2x4x4xi32>) {kind = "dense", weight = dense<[[-93, -75, -1, -14, 95, 13, -8, -6, 46, 29, -62, 62, 66, 110, 72, -38, -30, 42, 43, 53, 91, -36, 106, -100, -84, 114, 107, -35, -70, -31, -91, 96], [45, 28, -47, 3, -59, 70, 4, -94, -45, 55, 14, -18, -45, -81, 33, 45, 14, 104, 104, -55, 33, 38, -46, -35, 7, 63, -36, 58, 43, -52, -15, 82], [85, 44, -99, 50, -51, 80, 100, -6, 110, 66, -29, 93, -16, -78, 30, 86, 44, -14, 98, 5, -16, -68, -54, 53, 75, -36, 38, 91, -68, -40, 15, 23]]> : tensor<3x32xi16>, weight_exp = -1 : i64, num_weight_bits = 8 : i64, i_decay = dense<2048> : tensor<i64>, v_decay = dense<[512, 1024, 256]> : tensor<3xi64>, v_th = 131071 : i64, spiking = false, scale = dense<[2.000000e+00, 2.000000e+00, 4.000000e+00]> : tensor<3xf64>, placement = dense<[[0, 2, 1], [2, 1, 2]]> : tensor<2x3xi64>, sources = ["fc", "li"], flatten = true} : tensor<3xi32>
    loihi2.output "output"(%fc : tensor<3xi32>) {shape = array<i64: 3>}
  }
}

// CHECK: the placement exceeds the capacity: core 0: 32 neurons > 16

// -----

// A core whose memory exceeds the capacity (nirc's formula: 1024 B per core and more).
builtin.module {
  loihi2.network attributes {dt = 1.000000e+00 : f64, latency = 2 : i64, input_bits = 0 : i64, capacity = {neurons_per_core = 8192 : i64, memory_per_core = 1200 : i64, cores_per_chip = 128 : i64, chips = 1 : i64, bytes_per_neuron = 8.000000e+00 : f64, bytes_per_synapse = 2.000000e+00 : f64, bytes_per_shared_weight = 1.000000e+00 : f64, bytes_per_input_axon = 4.000000e+00 : f64, bytes_per_source_slice = 8.000000e+00 : f64, bytes_per_recorded = 0.000000e+00 : f64, fixed_bytes = 1.024000e+03 : f64}, reset_offset = 1 : i64} {
    %input = loihi2.input "input" {shape = array<i64: 1, 4, 4>} : tensor<1x4x4xi32>
    %conv1 = loihi2.layer "conv1"(%input : tensor<1x4x4xi32>) {kind = "conv", weight = dense<[[[[41, -32, -23], [-17, -22, 40], [46, 18, -37]]], [[[-31, -7, 3], [22, 7, -14], [-25, 29, 33]]]]> : tensor<2x1x3x3xi16>, weight_exp = 0 : i64, num_weight_bits = 8 : i64, i_decay = dense<4096> : tensor<i64>, v_decay = dense<0> : tensor<i64>, v_th = 100 : i64, spiking = true, scale = dense<1.000000e+00> : tensor<f64>, placement = dense<[[0, 32, 0]]> : tensor<1x3xi64>, sources = ["c1", "if1"], bias = dense<[3, -2]> : tensor<2xi16>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<2x4x4xi32>
    %fc = loihi2.layer "fc"(%conv1 : tensor<2x4x4xi32>) {kind = "dense", weight = dense<[[-93, -75, -1, -14, 95, 13, -8, -6, 46, 29, -62, 62, 66, 110, 72, -38, -30, 42, 43, 53, 91, -36, 106, -100, -84, 114, 107, -35, -70, -31, -91, 96], [45, 28, -47, 3, -59, 70, 4, -94, -45, 55, 14, -18, -45, -81, 33, 45, 14, 104, 104, -55, 33, 38, -46, -35, 7, 63, -36, 58, 43, -52, -15, 82], [85, 44, -99, 50, -51, 80, 100, -6, 110, 66, -29, 93, -16, -78, 30, 86, 44, -14, 98, 5, -16, -68, -54, 53, 75, -36, 38, 91, -68, -40, 15, 23]]> : tensor<3x32xi16>, weight_exp = -1 : i64, num_weight_bits = 8 : i64, i_decay = dense<2048> : tensor<i64>, v_decay = dense<[512, 1024, 256]> : tensor<3xi64>, v_th = 131071 : i64, spiking = false, scale = dense<[2.000000e+00, 2.000000e+00, 4.000000e+00]> : tensor<3xf64>, placement = dense<[[0, 2, 1], [2, 1, 2]]> : tensor<2x3xi64>, sources = ["fc", "li"], flatten = true} : tensor<3xi32>
    loihi2.output "output"(%fc : tensor<3xi32>) {shape = array<i64: 3>}
  }
}

// CHECK: the placement exceeds the capacity: core 0: 1,370 bytes > 1,200 bytes; core 1: 1,304 bytes > 1,200 bytes

// -----

// A dense layer reading [C, H, W] spikes without netx's flatten.
builtin.module {
  loihi2.network attributes {dt = 1.000000e+00 : f64, latency = 2 : i64, input_bits = 0 : i64, capacity = {neurons_per_core = 8192 : i64, memory_per_core = 131072 : i64, cores_per_chip = 128 : i64, chips = 1 : i64, bytes_per_neuron = 8.000000e+00 : f64, bytes_per_synapse = 2.000000e+00 : f64, bytes_per_shared_weight = 1.000000e+00 : f64, bytes_per_input_axon = 4.000000e+00 : f64, bytes_per_source_slice = 8.000000e+00 : f64, bytes_per_recorded = 0.000000e+00 : f64, fixed_bytes = 1.024000e+03 : f64}, reset_offset = 1 : i64} {
    %input = loihi2.input "input" {shape = array<i64: 1, 4, 4>} : tensor<1x4x4xi32>
    %conv1 = loihi2.layer "conv1"(%input : tensor<1x4x4xi32>) {kind = "conv", weight = dense<[[[[41, -32, -23], [-17, -22, 40], [46, 18, -37]]], [[[-31, -7, 3], [22, 7, -14], [-25, 29, 33]]]]> : tensor<2x1x3x3xi16>, weight_exp = 0 : i64, num_weight_bits = 8 : i64, i_decay = dense<4096> : tensor<i64>, v_decay = dense<0> : tensor<i64>, v_th = 100 : i64, spiking = true, scale = dense<1.000000e+00> : tensor<f64>, placement = dense<[[0, 32, 0]]> : tensor<1x3xi64>, sources = ["c1", "if1"], bias = dense<[3, -2]> : tensor<2xi16>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<2x4x4xi32>
    %fc = loihi2.layer "fc"(%conv1 : tensor<2x4x4xi32>) {kind = "dense", weight = dense<[[-93, -75, -1, -14, 95, 13, -8, -6, 46, 29, -62, 62, 66, 110, 72, -38, -30, 42, 43, 53, 91, -36, 106, -100, -84, 114, 107, -35, -70, -31, -91, 96], [45, 28, -47, 3, -59, 70, 4, -94, -45, 55, 14, -18, -45, -81, 33, 45, 14, 104, 104, -55, 33, 38, -46, -35, 7, 63, -36, 58, 43, -52, -15, 82], [85, 44, -99, 50, -51, 80, 100, -6, 110, 66, -29, 93, -16, -78, 30, 86, 44, -14, 98, 5, -16, -68, -54, 53, 75, -36, 38, 91, -68, -40, 15, 23]]> : tensor<3x32xi16>, weight_exp = -1 : i64, num_weight_bits = 8 : i64, i_decay = dense<2048> : tensor<i64>, v_decay = dense<[512, 1024, 256]> : tensor<3xi64>, v_th = 131071 : i64, spiking = false, scale = dense<[2.000000e+00, 2.000000e+00, 4.000000e+00]> : tensor<3xf64>, placement = dense<[[0, 2, 1], [2, 1, 2]]> : tensor<2x3xi64>, sources = ["fc", "li"]} : tensor<3xi32>
    loihi2.output "output"(%fc : tensor<3xi32>) {shape = array<i64: 3>}
  }
}

// CHECK: a dense layer after a multi-dimensional value needs `flatten`

// -----

// A conv whose declared neurons are not what it computes.
builtin.module {
  loihi2.network attributes {dt = 1.000000e+00 : f64, latency = 2 : i64, input_bits = 0 : i64, capacity = {neurons_per_core = 8192 : i64, memory_per_core = 131072 : i64, cores_per_chip = 128 : i64, chips = 1 : i64, bytes_per_neuron = 8.000000e+00 : f64, bytes_per_synapse = 2.000000e+00 : f64, bytes_per_shared_weight = 1.000000e+00 : f64, bytes_per_input_axon = 4.000000e+00 : f64, bytes_per_source_slice = 8.000000e+00 : f64, bytes_per_recorded = 0.000000e+00 : f64, fixed_bytes = 1.024000e+03 : f64}, reset_offset = 1 : i64} {
    %input = loihi2.input "input" {shape = array<i64: 1, 4, 4>} : tensor<1x4x4xi32>
    %conv1 = loihi2.layer "conv1"(%input : tensor<1x4x4xi32>) {kind = "conv", weight = dense<[[[[41, -32, -23], [-17, -22, 40], [46, 18, -37]]], [[[-31, -7, 3], [22, 7, -14], [-25, 29, 33]]]]> : tensor<2x1x3x3xi16>, weight_exp = 0 : i64, num_weight_bits = 8 : i64, i_decay = dense<4096> : tensor<i64>, v_decay = dense<0> : tensor<i64>, v_th = 100 : i64, spiking = true, scale = dense<1.000000e+00> : tensor<f64>, placement = dense<[[0, 32, 0]]> : tensor<1x3xi64>, sources = ["c1", "if1"], bias = dense<[3, -2]> : tensor<2xi16>, stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<2x4x4xi32>
    %fc = loihi2.layer "fc"(%conv1 : tensor<2x4x4xi32>) {kind = "dense", weight = dense<[[-93, -75, -1, -14, 95, 13, -8, -6, 46, 29, -62, 62, 66, 110, 72, -38, -30, 42, 43, 53, 91, -36, 106, -100, -84, 114, 107, -35, -70, -31, -91, 96], [45, 28, -47, 3, -59, 70, 4, -94, -45, 55, 14, -18, -45, -81, 33, 45, 14, 104, 104, -55, 33, 38, -46, -35, 7, 63, -36, 58, 43, -52, -15, 82], [85, 44, -99, 50, -51, 80, 100, -6, 110, 66, -29, 93, -16, -78, 30, 86, 44, -14, 98, 5, -16, -68, -54, 53, 75, -36, 38, 91, -68, -40, 15, 23]]> : tensor<3x32xi16>, weight_exp = -1 : i64, num_weight_bits = 8 : i64, i_decay = dense<2048> : tensor<i64>, v_decay = dense<[512, 1024, 256]> : tensor<3xi64>, v_th = 131071 : i64, spiking = false, scale = dense<[2.000000e+00, 2.000000e+00, 4.000000e+00]> : tensor<3xf64>, placement = dense<[[0, 2, 1], [2, 1, 2]]> : tensor<2x3xi64>, sources = ["fc", "li"], flatten = true} : tensor<3xi32>
    loihi2.output "output"(%fc : tensor<3xi32>) {shape = array<i64: 3>}
  }
}

// CHECK: the convolution of [1, 4, 4] gives [2, 2, 2], the layer says [2, 4, 4]

// -----

// A latency that does not count one step per layer.
builtin.module {
  loihi2.network attributes {dt = 1.000000e+00 : f64, latency = 1 : i64, input_bits = 0 : i64, capacity = {neurons_per_core = 8192 : i64, memory_per_core = 131072 : i64, cores_per_chip = 128 : i64, chips = 1 : i64, bytes_per_neuron = 8.000000e+00 : f64, bytes_per_synapse = 2.000000e+00 : f64, bytes_per_shared_weight = 1.000000e+00 : f64, bytes_per_input_axon = 4.000000e+00 : f64, bytes_per_source_slice = 8.000000e+00 : f64, bytes_per_recorded = 0.000000e+00 : f64, fixed_bytes = 1.024000e+03 : f64}, reset_offset = 1 : i64} {
    %input = loihi2.input "input" {shape = array<i64: 1, 4, 4>} : tensor<1x4x4xi32>
    %conv1 = loihi2.layer "conv1"(%input : tensor<1x4x4xi32>) {kind = "conv", weight = dense<[[[[41, -32, -23], [-17, -22, 40], [46, 18, -37]]], [[[-31, -7, 3], [22, 7, -14], [-25, 29, 33]]]]> : tensor<2x1x3x3xi16>, weight_exp = 0 : i64, num_weight_bits = 8 : i64, i_decay = dense<4096> : tensor<i64>, v_decay = dense<0> : tensor<i64>, v_th = 100 : i64, spiking = true, scale = dense<1.000000e+00> : tensor<f64>, placement = dense<[[0, 32, 0]]> : tensor<1x3xi64>, sources = ["c1", "if1"], bias = dense<[3, -2]> : tensor<2xi16>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<2x4x4xi32>
    %fc = loihi2.layer "fc"(%conv1 : tensor<2x4x4xi32>) {kind = "dense", weight = dense<[[-93, -75, -1, -14, 95, 13, -8, -6, 46, 29, -62, 62, 66, 110, 72, -38, -30, 42, 43, 53, 91, -36, 106, -100, -84, 114, 107, -35, -70, -31, -91, 96], [45, 28, -47, 3, -59, 70, 4, -94, -45, 55, 14, -18, -45, -81, 33, 45, 14, 104, 104, -55, 33, 38, -46, -35, 7, 63, -36, 58, 43, -52, -15, 82], [85, 44, -99, 50, -51, 80, 100, -6, 110, 66, -29, 93, -16, -78, 30, 86, 44, -14, 98, 5, -16, -68, -54, 53, 75, -36, 38, 91, -68, -40, 15, 23]]> : tensor<3x32xi16>, weight_exp = -1 : i64, num_weight_bits = 8 : i64, i_decay = dense<2048> : tensor<i64>, v_decay = dense<[512, 1024, 256]> : tensor<3xi64>, v_th = 131071 : i64, spiking = false, scale = dense<[2.000000e+00, 2.000000e+00, 4.000000e+00]> : tensor<3xf64>, placement = dense<[[0, 2, 1], [2, 1, 2]]> : tensor<2x3xi64>, sources = ["fc", "li"], flatten = true} : tensor<3xi32>
    loihi2.output "output"(%fc : tensor<3xi32>) {shape = array<i64: 3>}
  }
}

// CHECK: latency is 1, but 2 layers add one step each

// -----

// Graded input spikes wider than 24 bits.
builtin.module {
  loihi2.network attributes {dt = 1.000000e+00 : f64, latency = 2 : i64, input_bits = 30 : i64, capacity = {neurons_per_core = 8192 : i64, memory_per_core = 131072 : i64, cores_per_chip = 128 : i64, chips = 1 : i64, bytes_per_neuron = 8.000000e+00 : f64, bytes_per_synapse = 2.000000e+00 : f64, bytes_per_shared_weight = 1.000000e+00 : f64, bytes_per_input_axon = 4.000000e+00 : f64, bytes_per_source_slice = 8.000000e+00 : f64, bytes_per_recorded = 0.000000e+00 : f64, fixed_bytes = 1.024000e+03 : f64}, reset_offset = 1 : i64} {
    %input = loihi2.input "input" {shape = array<i64: 1, 4, 4>} : tensor<1x4x4xi32>
    %conv1 = loihi2.layer "conv1"(%input : tensor<1x4x4xi32>) {kind = "conv", weight = dense<[[[[41, -32, -23], [-17, -22, 40], [46, 18, -37]]], [[[-31, -7, 3], [22, 7, -14], [-25, 29, 33]]]]> : tensor<2x1x3x3xi16>, weight_exp = 0 : i64, num_weight_bits = 8 : i64, i_decay = dense<4096> : tensor<i64>, v_decay = dense<0> : tensor<i64>, v_th = 100 : i64, spiking = true, scale = dense<1.000000e+00> : tensor<f64>, placement = dense<[[0, 32, 0]]> : tensor<1x3xi64>, sources = ["c1", "if1"], bias = dense<[3, -2]> : tensor<2xi16>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<2x4x4xi32>
    %fc = loihi2.layer "fc"(%conv1 : tensor<2x4x4xi32>) {kind = "dense", weight = dense<[[-93, -75, -1, -14, 95, 13, -8, -6, 46, 29, -62, 62, 66, 110, 72, -38, -30, 42, 43, 53, 91, -36, 106, -100, -84, 114, 107, -35, -70, -31, -91, 96], [45, 28, -47, 3, -59, 70, 4, -94, -45, 55, 14, -18, -45, -81, 33, 45, 14, 104, 104, -55, 33, 38, -46, -35, 7, 63, -36, 58, 43, -52, -15, 82], [85, 44, -99, 50, -51, 80, 100, -6, 110, 66, -29, 93, -16, -78, 30, 86, 44, -14, 98, 5, -16, -68, -54, 53, 75, -36, 38, 91, -68, -40, 15, 23]]> : tensor<3x32xi16>, weight_exp = -1 : i64, num_weight_bits = 8 : i64, i_decay = dense<2048> : tensor<i64>, v_decay = dense<[512, 1024, 256]> : tensor<3xi64>, v_th = 131071 : i64, spiking = false, scale = dense<[2.000000e+00, 2.000000e+00, 4.000000e+00]> : tensor<3xf64>, placement = dense<[[0, 2, 1], [2, 1, 2]]> : tensor<2x3xi64>, sources = ["fc", "li"], flatten = true} : tensor<3xi32>
    loihi2.output "output"(%fc : tensor<3xi32>) {shape = array<i64: 3>}
  }
}

// CHECK: input_bits must be 0 (binary spikes) or 1..24 (graded), found 30

// -----

// A non-spiking layer in the middle of the chain.
builtin.module {
  loihi2.network attributes {dt = 1.000000e+00 : f64, latency = 2 : i64, input_bits = 0 : i64, capacity = {neurons_per_core = 8192 : i64, memory_per_core = 131072 : i64, cores_per_chip = 128 : i64, chips = 1 : i64, bytes_per_neuron = 8.000000e+00 : f64, bytes_per_synapse = 2.000000e+00 : f64, bytes_per_shared_weight = 1.000000e+00 : f64, bytes_per_input_axon = 4.000000e+00 : f64, bytes_per_source_slice = 8.000000e+00 : f64, bytes_per_recorded = 0.000000e+00 : f64, fixed_bytes = 1.024000e+03 : f64}, reset_offset = 1 : i64} {
    %input = loihi2.input "input" {shape = array<i64: 1, 4, 4>} : tensor<1x4x4xi32>
    %conv1 = loihi2.layer "conv1"(%input : tensor<1x4x4xi32>) {kind = "conv", weight = dense<[[[[41, -32, -23], [-17, -22, 40], [46, 18, -37]]], [[[-31, -7, 3], [22, 7, -14], [-25, 29, 33]]]]> : tensor<2x1x3x3xi16>, weight_exp = 0 : i64, num_weight_bits = 8 : i64, i_decay = dense<4096> : tensor<i64>, v_decay = dense<0> : tensor<i64>, v_th = 131071 : i64, spiking = false, scale = dense<1.000000e+00> : tensor<f64>, placement = dense<[[0, 32, 0]]> : tensor<1x3xi64>, sources = ["c1", "if1"], bias = dense<[3, -2]> : tensor<2xi16>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<2x4x4xi32>
    %fc = loihi2.layer "fc"(%conv1 : tensor<2x4x4xi32>) {kind = "dense", weight = dense<[[-93, -75, -1, -14, 95, 13, -8, -6, 46, 29, -62, 62, 66, 110, 72, -38, -30, 42, 43, 53, 91, -36, 106, -100, -84, 114, 107, -35, -70, -31, -91, 96], [45, 28, -47, 3, -59, 70, 4, -94, -45, 55, 14, -18, -45, -81, 33, 45, 14, 104, 104, -55, 33, 38, -46, -35, 7, 63, -36, 58, 43, -52, -15, 82], [85, 44, -99, 50, -51, 80, 100, -6, 110, 66, -29, 93, -16, -78, 30, 86, 44, -14, 98, 5, -16, -68, -54, 53, 75, -36, 38, 91, -68, -40, 15, 23]]> : tensor<3x32xi16>, weight_exp = -1 : i64, num_weight_bits = 8 : i64, i_decay = dense<2048> : tensor<i64>, v_decay = dense<[512, 1024, 256]> : tensor<3xi64>, v_th = 131071 : i64, spiking = false, scale = dense<[2.000000e+00, 2.000000e+00, 4.000000e+00]> : tensor<3xf64>, placement = dense<[[0, 2, 1], [2, 1, 2]]> : tensor<2x3xi64>, sources = ["fc", "li"], flatten = true} : tensor<3xi32>
    loihi2.output "output"(%fc : tensor<3xi32>) {shape = array<i64: 3>}
  }
}

// CHECK: a non-spiking layer sends no spikes: only the last layer may be a readout

// -----

// An output reading a layer other than the last.
builtin.module {
  loihi2.network attributes {dt = 1.000000e+00 : f64, latency = 2 : i64, input_bits = 0 : i64, capacity = {neurons_per_core = 8192 : i64, memory_per_core = 131072 : i64, cores_per_chip = 128 : i64, chips = 1 : i64, bytes_per_neuron = 8.000000e+00 : f64, bytes_per_synapse = 2.000000e+00 : f64, bytes_per_shared_weight = 1.000000e+00 : f64, bytes_per_input_axon = 4.000000e+00 : f64, bytes_per_source_slice = 8.000000e+00 : f64, bytes_per_recorded = 0.000000e+00 : f64, fixed_bytes = 1.024000e+03 : f64}, reset_offset = 1 : i64} {
    %input = loihi2.input "input" {shape = array<i64: 1, 4, 4>} : tensor<1x4x4xi32>
    %conv1 = loihi2.layer "conv1"(%input : tensor<1x4x4xi32>) {kind = "conv", weight = dense<[[[[41, -32, -23], [-17, -22, 40], [46, 18, -37]]], [[[-31, -7, 3], [22, 7, -14], [-25, 29, 33]]]]> : tensor<2x1x3x3xi16>, weight_exp = 0 : i64, num_weight_bits = 8 : i64, i_decay = dense<4096> : tensor<i64>, v_decay = dense<0> : tensor<i64>, v_th = 100 : i64, spiking = true, scale = dense<1.000000e+00> : tensor<f64>, placement = dense<[[0, 32, 0]]> : tensor<1x3xi64>, sources = ["c1", "if1"], bias = dense<[3, -2]> : tensor<2xi16>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<2x4x4xi32>
    %fc = loihi2.layer "fc"(%conv1 : tensor<2x4x4xi32>) {kind = "dense", weight = dense<[[-93, -75, -1, -14, 95, 13, -8, -6, 46, 29, -62, 62, 66, 110, 72, -38, -30, 42, 43, 53, 91, -36, 106, -100, -84, 114, 107, -35, -70, -31, -91, 96], [45, 28, -47, 3, -59, 70, 4, -94, -45, 55, 14, -18, -45, -81, 33, 45, 14, 104, 104, -55, 33, 38, -46, -35, 7, 63, -36, 58, 43, -52, -15, 82], [85, 44, -99, 50, -51, 80, 100, -6, 110, 66, -29, 93, -16, -78, 30, 86, 44, -14, 98, 5, -16, -68, -54, 53, 75, -36, 38, 91, -68, -40, 15, 23]]> : tensor<3x32xi16>, weight_exp = -1 : i64, num_weight_bits = 8 : i64, i_decay = dense<2048> : tensor<i64>, v_decay = dense<[512, 1024, 256]> : tensor<3xi64>, v_th = 131071 : i64, spiking = false, scale = dense<[2.000000e+00, 2.000000e+00, 4.000000e+00]> : tensor<3xf64>, placement = dense<[[0, 2, 1], [2, 1, 2]]> : tensor<2x3xi64>, sources = ["fc", "li"], flatten = true} : tensor<3xi32>
    loihi2.output "output"(%conv1 : tensor<2x4x4xi32>) {shape = array<i64: 32>}
  }
}

// CHECK: reads something else than the last layer

// -----

// An output placed before the layer it reads: the chain is the input, the layers, the outputs.
builtin.module {
  loihi2.network attributes {dt = 1.000000e+00 : f64, latency = 2 : i64, input_bits = 0 : i64, capacity = {neurons_per_core = 8192 : i64, memory_per_core = 131072 : i64, cores_per_chip = 128 : i64, chips = 1 : i64, bytes_per_neuron = 8.000000e+00 : f64, bytes_per_synapse = 2.000000e+00 : f64, bytes_per_shared_weight = 1.000000e+00 : f64, bytes_per_input_axon = 4.000000e+00 : f64, bytes_per_source_slice = 8.000000e+00 : f64, bytes_per_recorded = 0.000000e+00 : f64, fixed_bytes = 1.024000e+03 : f64}, reset_offset = 1 : i64} {
    %input = loihi2.input "input" {shape = array<i64: 1, 4, 4>} : tensor<1x4x4xi32>
    %conv1 = loihi2.layer "conv1"(%input : tensor<1x4x4xi32>) {kind = "conv", weight = dense<[[[[41, -32, -23], [-17, -22, 40], [46, 18, -37]]], [[[-31, -7, 3], [22, 7, -14], [-25, 29, 33]]]]> : tensor<2x1x3x3xi16>, weight_exp = 0 : i64, num_weight_bits = 8 : i64, i_decay = dense<4096> : tensor<i64>, v_decay = dense<0> : tensor<i64>, v_th = 100 : i64, spiking = true, scale = dense<1.000000e+00> : tensor<f64>, placement = dense<[[0, 32, 0]]> : tensor<1x3xi64>, sources = ["c1", "if1"], bias = dense<[3, -2]> : tensor<2xi16>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<2x4x4xi32>
    loihi2.output "output"(%fc : tensor<3xi32>) {shape = array<i64: 3>}
    %fc = loihi2.layer "fc"(%conv1 : tensor<2x4x4xi32>) {kind = "dense", weight = dense<[[-93, -75, -1, -14, 95, 13, -8, -6, 46, 29, -62, 62, 66, 110, 72, -38, -30, 42, 43, 53, 91, -36, 106, -100, -84, 114, 107, -35, -70, -31, -91, 96], [45, 28, -47, 3, -59, 70, 4, -94, -45, 55, 14, -18, -45, -81, 33, 45, 14, 104, 104, -55, 33, 38, -46, -35, 7, 63, -36, 58, 43, -52, -15, 82], [85, 44, -99, 50, -51, 80, 100, -6, 110, 66, -29, 93, -16, -78, 30, 86, 44, -14, 98, 5, -16, -68, -54, 53, 75, -36, 38, 91, -68, -40, 15, 23]]> : tensor<3x32xi16>, weight_exp = -1 : i64, num_weight_bits = 8 : i64, i_decay = dense<2048> : tensor<i64>, v_decay = dense<[512, 1024, 256]> : tensor<3xi64>, v_th = 131071 : i64, spiking = false, scale = dense<[2.000000e+00, 2.000000e+00, 4.000000e+00]> : tensor<3xf64>, placement = dense<[[0, 2, 1], [2, 1, 2]]> : tensor<2x3xi64>, sources = ["fc", "li"], flatten = true} : tensor<3xi32>
  }
}

// CHECK: the chain is the input, then the layers, then the outputs

// -----

// An unknown layer kind.
builtin.module {
  loihi2.network attributes {dt = 1.000000e+00 : f64, latency = 2 : i64, input_bits = 0 : i64, capacity = {neurons_per_core = 8192 : i64, memory_per_core = 131072 : i64, cores_per_chip = 128 : i64, chips = 1 : i64, bytes_per_neuron = 8.000000e+00 : f64, bytes_per_synapse = 2.000000e+00 : f64, bytes_per_shared_weight = 1.000000e+00 : f64, bytes_per_input_axon = 4.000000e+00 : f64, bytes_per_source_slice = 8.000000e+00 : f64, bytes_per_recorded = 0.000000e+00 : f64, fixed_bytes = 1.024000e+03 : f64}, reset_offset = 1 : i64} {
    %input = loihi2.input "input" {shape = array<i64: 1, 4, 4>} : tensor<1x4x4xi32>
    %conv1 = loihi2.layer "conv1"(%input : tensor<1x4x4xi32>) {kind = "conv", weight = dense<[[[[41, -32, -23], [-17, -22, 40], [46, 18, -37]]], [[[-31, -7, 3], [22, 7, -14], [-25, 29, 33]]]]> : tensor<2x1x3x3xi16>, weight_exp = 0 : i64, num_weight_bits = 8 : i64, i_decay = dense<4096> : tensor<i64>, v_decay = dense<0> : tensor<i64>, v_th = 100 : i64, spiking = true, scale = dense<1.000000e+00> : tensor<f64>, placement = dense<[[0, 32, 0]]> : tensor<1x3xi64>, sources = ["c1", "if1"], bias = dense<[3, -2]> : tensor<2xi16>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<2x4x4xi32>
    %fc = loihi2.layer "fc"(%conv1 : tensor<2x4x4xi32>) {kind = "pool", weight = dense<[[-93, -75, -1, -14, 95, 13, -8, -6, 46, 29, -62, 62, 66, 110, 72, -38, -30, 42, 43, 53, 91, -36, 106, -100, -84, 114, 107, -35, -70, -31, -91, 96], [45, 28, -47, 3, -59, 70, 4, -94, -45, 55, 14, -18, -45, -81, 33, 45, 14, 104, 104, -55, 33, 38, -46, -35, 7, 63, -36, 58, 43, -52, -15, 82], [85, 44, -99, 50, -51, 80, 100, -6, 110, 66, -29, 93, -16, -78, 30, 86, 44, -14, 98, 5, -16, -68, -54, 53, 75, -36, 38, 91, -68, -40, 15, 23]]> : tensor<3x32xi16>, weight_exp = -1 : i64, num_weight_bits = 8 : i64, i_decay = dense<2048> : tensor<i64>, v_decay = dense<[512, 1024, 256]> : tensor<3xi64>, v_th = 131071 : i64, spiking = false, scale = dense<[2.000000e+00, 2.000000e+00, 4.000000e+00]> : tensor<3xf64>, placement = dense<[[0, 2, 1], [2, 1, 2]]> : tensor<2x3xi64>, sources = ["fc", "li"], flatten = true} : tensor<3xi32>
    loihi2.output "output"(%fc : tensor<3xi32>) {shape = array<i64: 3>}
  }
}

// CHECK: kind must be one of dense, dense_rec, conv, found 'pool'
