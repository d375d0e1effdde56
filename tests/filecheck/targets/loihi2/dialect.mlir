// RUN: nirc opt %s | filecheck %s
// RUN: nirc opt %s | %roundtrip | filecheck %s

// A two-layer netx chain on Loihi 2: a 3x3 conv of IF neurons (iDecay 4096: the
// current is the step's input; vDecay 0: no leak; a bias per output channel),
// then a leaky readout (CubaLI: per-neuron vDecay, the largest threshold
// mantissa) reading the conv's [2, 4, 4] spikes flattened in C order. The conv
// sits on core 0; the readout's neurons on cores 1 (two) and 2 (one).

builtin.module {
  loihi2.network attributes {dt = 1.000000e+00 : f64, latency = 2 : i64, input_bits = 0 : i64, capacity = {neurons_per_core = 8192 : i64, memory_per_core = 131072 : i64, cores_per_chip = 128 : i64, chips = 1 : i64, bytes_per_neuron = 8.000000e+00 : f64, bytes_per_synapse = 2.000000e+00 : f64, bytes_per_shared_weight = 1.000000e+00 : f64, bytes_per_input_axon = 4.000000e+00 : f64, bytes_per_source_slice = 8.000000e+00 : f64, bytes_per_recorded = 0.000000e+00 : f64, fixed_bytes = 1.024000e+03 : f64}, reset_offset = 1 : i64} {
    %input = loihi2.input "input" {shape = array<i64: 1, 4, 4>} : tensor<1x4x4xi32>
    %conv1 = loihi2.layer "conv1"(%input : tensor<1x4x4xi32>) {kind = "conv", weight = dense<[[[[41, -32, -23], [-17, -22, 40], [46, 18, -37]]], [[[-31, -7, 3], [22, 7, -14], [-25, 29, 33]]]]> : tensor<2x1x3x3xi16>, weight_exp = 0 : i64, num_weight_bits = 8 : i64, i_decay = dense<4096> : tensor<i64>, v_decay = dense<0> : tensor<i64>, v_th = 100 : i64, spiking = true, scale = dense<1.000000e+00> : tensor<f64>, placement = dense<[[0, 32, 0]]> : tensor<1x3xi64>, sources = ["c1", "if1"], bias = dense<[3, -2]> : tensor<2xi16>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<2x4x4xi32>
    %fc = loihi2.layer "fc"(%conv1 : tensor<2x4x4xi32>) {kind = "dense", weight = dense<[[-93, -75, -1, -14, 95, 13, -8, -6, 46, 29, -62, 62, 66, 110, 72, -38, -30, 42, 43, 53, 91, -36, 106, -100, -84, 114, 107, -35, -70, -31, -91, 96], [45, 28, -47, 3, -59, 70, 4, -94, -45, 55, 14, -18, -45, -81, 33, 45, 14, 104, 104, -55, 33, 38, -46, -35, 7, 63, -36, 58, 43, -52, -15, 82], [85, 44, -99, 50, -51, 80, 100, -6, 110, 66, -29, 93, -16, -78, 30, 86, 44, -14, 98, 5, -16, -68, -54, 53, 75, -36, 38, 91, -68, -40, 15, 23]]> : tensor<3x32xi16>, weight_exp = -1 : i64, num_weight_bits = 8 : i64, i_decay = dense<2048> : tensor<i64>, v_decay = dense<[512, 1024, 256]> : tensor<3xi64>, v_th = 131071 : i64, spiking = false, scale = dense<[2.000000e+00, 2.000000e+00, 4.000000e+00]> : tensor<3xf64>, placement = dense<[[0, 2, 1], [2, 1, 2]]> : tensor<2x3xi64>, sources = ["fc", "li"], flatten = true} : tensor<3xi32>
    loihi2.output "output"(%fc : tensor<3xi32>) {shape = array<i64: 3>}
  }
}

// CHECK:      loihi2.network attributes {dt = 1.000000e+00 : f64, latency = 2 : i64, input_bits = 0 : i64,
// CHECK-SAME:   capacity = {neurons_per_core = 8192 : i64, memory_per_core = 131072 : i64, cores_per_chip = 128 : i64, chips = 1 : i64
// CHECK-SAME:   reset_offset = 1 : i64} {
// CHECK-NEXT:   %input = loihi2.input "input" {shape = array<i64: 1, 4, 4>} : tensor<1x4x4xi32>
// CHECK-NEXT:   %conv1 = loihi2.layer "conv1"(%input : tensor<1x4x4xi32>) {kind = "conv",
// CHECK-SAME:     : tensor<2x1x3x3xi16>, weight_exp = 0 : i64, num_weight_bits = 8 : i64, i_decay = dense<4096> : tensor<i64>, v_decay = dense<0> : tensor<i64>, v_th = 100 : i64, spiking = true
// CHECK-SAME:     placement = dense<{{\[\[}}0, 32, 0]]> : tensor<1x3xi64>
// CHECK-SAME:     bias = dense<[3, -2]> : tensor<2xi16>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<2x4x4xi32>
// CHECK-NEXT:   %fc = loihi2.layer "fc"(%conv1 : tensor<2x4x4xi32>) {kind = "dense",
// CHECK-SAME:     : tensor<3x32xi16>, weight_exp = -1 : i64, num_weight_bits = 8 : i64, i_decay = dense<2048> : tensor<i64>, v_decay = dense<[512, 1024, 256]> : tensor<3xi64>, v_th = 131071 : i64, spiking = false
// CHECK-SAME:     placement = dense<{{\[\[}}0, 2, 1], [2, 1, 2]]> : tensor<2x3xi64>, sources = ["fc", "li"], flatten = true} : tensor<3xi32>
// CHECK-NEXT:   loihi2.output "output"(%fc : tensor<3xi32>) {shape = array<i64: 3>}
// CHECK-NEXT: }
