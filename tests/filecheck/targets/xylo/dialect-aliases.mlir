// RUN: nirc opt %s | filecheck %s
// RUN: nirc opt %s | %roundtrip | filecheck %s

// Hidden neuron 0's alias is neuron 1 (it counts neuron 0's spikes in the same
// step and delivers them through its own weights_rec row): Rockpool's aliases
// list [[1], [], []] as the -1-padded int32 table of the npz encoding.

builtin.module {
  xylo.network {weights_in = dense<[[[5, 0], [0, 0], [0, 0]], [[0, 0], [-3, 0], [0, 0]]]> : tensor<2x3x2xi8>, weights_rec = dense<[[[0, 0], [0, 0], [7, 0]], [[0, 0], [0, 0], [7, 0]], [[0, 0], [0, 0], [-2, 0]]]> : tensor<3x3x2xi8>, weights_out = dense<[[0, 0], [0, 0], [9, -9]]> : tensor<3x2xi8>, dash_mem = dense<3> : tensor<3xi8>, dash_mem_out = dense<2> : tensor<2xi8>, dash_syn = dense<2> : tensor<3xi8>, dash_syn_2 = dense<0> : tensor<3xi8>, dash_syn_out = dense<1> : tensor<2xi8>, threshold = dense<100> : tensor<3xi16>, threshold_out = dense<50> : tensor<2xi16>, bias = dense<0> : tensor<3xi16>, bias_out = dense<0> : tensor<2xi16>, weight_shift_in = 4 : i64, weight_shift_rec = 3 : i64, weight_shift_out = 2 : i64, dt = 1.000000e-03 : f64, variant = "audio2", input_names = ["input"], input_shapes = [array<i64: 2>], output_names = ["output"], output_shapes = [array<i64: 2>], hidden_layers = ["lif0", "lif1"], hidden_sizes = array<i64: 2, 1>, output_layers = ["lif2"], aliases = dense<[[1], [-1], [-1]]> : tensor<3x1xi32>}
}

// CHECK:      xylo.network
// CHECK-SAME: aliases = dense<{{\[\[}}1], [-1], [-1]]> : tensor<3x1xi32>
