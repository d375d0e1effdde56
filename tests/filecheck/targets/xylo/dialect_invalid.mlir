// RUN: nirc opt %s --verify-diagnostics --split-input-file | filecheck %s

// Each rule of the variant, checked by the xylo.network verifier.
// A dash above 15.
builtin.module {
  xylo.network {weights_in = dense<[[[5, 0], [0, 0], [0, 0]], [[0, 0], [-3, 0], [0, 0]]]> : tensor<2x3x2xi8>, weights_rec = dense<[[[0, 0], [0, 0], [7, 0]], [[0, 0], [0, 0], [7, 0]], [[0, 0], [0, 0], [-2, 0]]]> : tensor<3x3x2xi8>, weights_out = dense<[[0, 0], [0, 0], [9, -9]]> : tensor<3x2xi8>, dash_mem = dense<16> : tensor<3xi8>, dash_mem_out = dense<2> : tensor<2xi8>, dash_syn = dense<2> : tensor<3xi8>, dash_syn_2 = dense<0> : tensor<3xi8>, dash_syn_out = dense<1> : tensor<2xi8>, threshold = dense<100> : tensor<3xi16>, threshold_out = dense<50> : tensor<2xi16>, bias = dense<0> : tensor<3xi16>, bias_out = dense<0> : tensor<2xi16>, weight_shift_in = 4 : i64, weight_shift_rec = 3 : i64, weight_shift_out = 2 : i64, dt = 1.000000e-03 : f64, variant = "audio2", input_names = ["input"], input_shapes = [array<i64: 2>], output_names = ["output"], output_shapes = [array<i64: 2>], hidden_layers = ["lif0", "lif1"], hidden_sizes = array<i64: 2, 1>, output_layers = ["lif2"]}
}

// CHECK: dash_mem[0]: value outside dash (right shift) range

// -----

// Synapse 2 on Xylo IMU (one synapse per hidden neuron).
builtin.module {
  xylo.network {weights_in = dense<[[[5, 1], [0, 0], [0, 0]], [[0, 0], [-3, 0], [0, 0]]]> : tensor<2x3x2xi8>, weights_rec = dense<[[[0, 0], [0, 0], [7, 0]], [[0, 0], [0, 0], [7, 0]], [[0, 0], [0, 0], [-2, 0]]]> : tensor<3x3x2xi8>, weights_out = dense<[[0, 0], [0, 0], [9, -9]]> : tensor<3x2xi8>, dash_mem = dense<3> : tensor<3xi8>, dash_mem_out = dense<2> : tensor<2xi8>, dash_syn = dense<2> : tensor<3xi8>, dash_syn_2 = dense<0> : tensor<3xi8>, dash_syn_out = dense<1> : tensor<2xi8>, threshold = dense<100> : tensor<3xi16>, threshold_out = dense<50> : tensor<2xi16>, bias = dense<0> : tensor<3xi16>, bias_out = dense<0> : tensor<2xi16>, weight_shift_in = 4 : i64, weight_shift_rec = 3 : i64, weight_shift_out = 2 : i64, dt = 1.000000e-03 : f64, variant = "imu", input_names = ["input"], input_shapes = [array<i64: 2>], output_names = ["output"], output_shapes = [array<i64: 2>], hidden_layers = ["lif0", "lif1"], hidden_sizes = array<i64: 2, 1>, output_layers = ["lif2"]}
}

// CHECK: Xylo IMU has no synapse 2

// -----

// Shifted weights beyond int16.
builtin.module {
  xylo.network {weights_in = dense<[[[5, 0], [0, 0], [0, 0]], [[0, 0], [-3, 0], [0, 0]]]> : tensor<2x3x2xi8>, weights_rec = dense<[[[0, 0], [0, 0], [7, 0]], [[0, 0], [0, 0], [7, 0]], [[0, 0], [0, 0], [-2, 0]]]> : tensor<3x3x2xi8>, weights_out = dense<[[0, 0], [0, 0], [9, -9]]> : tensor<3x2xi8>, dash_mem = dense<3> : tensor<3xi8>, dash_mem_out = dense<2> : tensor<2xi8>, dash_syn = dense<2> : tensor<3xi8>, dash_syn_2 = dense<0> : tensor<3xi8>, dash_syn_out = dense<1> : tensor<2xi8>, threshold = dense<100> : tensor<3xi16>, threshold_out = dense<50> : tensor<2xi16>, bias = dense<0> : tensor<3xi16>, bias_out = dense<0> : tensor<2xi16>, weight_shift_in = 13 : i64, weight_shift_rec = 3 : i64, weight_shift_out = 2 : i64, dt = 1.000000e-03 : f64, variant = "audio2", input_names = ["input"], input_shapes = [array<i64: 2>], output_names = ["output"], output_shapes = [array<i64: 2>], hidden_layers = ["lif0", "lif1"], hidden_sizes = array<i64: 2, 1>, output_layers = ["lif2"]}
}

// CHECK: weights_in << weight_shift_in[0, 0, 0]: value outside int16 range

// -----

// Ports that do not cover the output neurons.
builtin.module {
  xylo.network {weights_in = dense<[[[5, 0], [0, 0], [0, 0]], [[0, 0], [-3, 0], [0, 0]]]> : tensor<2x3x2xi8>, weights_rec = dense<[[[0, 0], [0, 0], [7, 0]], [[0, 0], [0, 0], [7, 0]], [[0, 0], [0, 0], [-2, 0]]]> : tensor<3x3x2xi8>, weights_out = dense<[[0, 0], [0, 0], [9, -9]]> : tensor<3x2xi8>, dash_mem = dense<3> : tensor<3xi8>, dash_mem_out = dense<2> : tensor<2xi8>, dash_syn = dense<2> : tensor<3xi8>, dash_syn_2 = dense<0> : tensor<3xi8>, dash_syn_out = dense<1> : tensor<2xi8>, threshold = dense<100> : tensor<3xi16>, threshold_out = dense<50> : tensor<2xi16>, bias = dense<0> : tensor<3xi16>, bias_out = dense<0> : tensor<2xi16>, weight_shift_in = 4 : i64, weight_shift_rec = 3 : i64, weight_shift_out = 2 : i64, dt = 1.000000e-03 : f64, variant = "audio2", input_names = ["input"], input_shapes = [array<i64: 2>], output_names = ["output"], output_shapes = [array<i64: 3>], hidden_layers = ["lif0", "lif1"], hidden_sizes = array<i64: 2, 1>, output_layers = ["lif2"]}
}

// CHECK: the outputs cover 3 channels/neurons, the network has 2

// -----

// An unknown variant.
builtin.module {
  xylo.network {weights_in = dense<[[[5, 0], [0, 0], [0, 0]], [[0, 0], [-3, 0], [0, 0]]]> : tensor<2x3x2xi8>, weights_rec = dense<[[[0, 0], [0, 0], [7, 0]], [[0, 0], [0, 0], [7, 0]], [[0, 0], [0, 0], [-2, 0]]]> : tensor<3x3x2xi8>, weights_out = dense<[[0, 0], [0, 0], [9, -9]]> : tensor<3x2xi8>, dash_mem = dense<3> : tensor<3xi8>, dash_mem_out = dense<2> : tensor<2xi8>, dash_syn = dense<2> : tensor<3xi8>, dash_syn_2 = dense<0> : tensor<3xi8>, dash_syn_out = dense<1> : tensor<2xi8>, threshold = dense<100> : tensor<3xi16>, threshold_out = dense<50> : tensor<2xi16>, bias = dense<0> : tensor<3xi16>, bias_out = dense<0> : tensor<2xi16>, weight_shift_in = 4 : i64, weight_shift_rec = 3 : i64, weight_shift_out = 2 : i64, dt = 1.000000e-03 : f64, variant = "audio9", input_names = ["input"], input_shapes = [array<i64: 2>], output_names = ["output"], output_shapes = [array<i64: 2>], hidden_layers = ["lif0", "lif1"], hidden_sizes = array<i64: 2, 1>, output_layers = ["lif2"]}
}

// CHECK: unknown Xylo variant 'audio9'

// -----

// Two alias targets for hidden neuron 0 (Rockpool's aliases as the -1-padded table).
builtin.module {
  xylo.network {weights_in = dense<[[[5, 0], [0, 0], [0, 0]], [[0, 0], [-3, 0], [0, 0]]]> : tensor<2x3x2xi8>, weights_rec = dense<[[[0, 0], [0, 0], [7, 0]], [[0, 0], [0, 0], [7, 0]], [[0, 0], [0, 0], [-2, 0]]]> : tensor<3x3x2xi8>, weights_out = dense<[[0, 0], [0, 0], [9, -9]]> : tensor<3x2xi8>, dash_mem = dense<3> : tensor<3xi8>, dash_mem_out = dense<2> : tensor<2xi8>, dash_syn = dense<2> : tensor<3xi8>, dash_syn_2 = dense<0> : tensor<3xi8>, dash_syn_out = dense<1> : tensor<2xi8>, threshold = dense<100> : tensor<3xi16>, threshold_out = dense<50> : tensor<2xi16>, bias = dense<0> : tensor<3xi16>, bias_out = dense<0> : tensor<2xi16>, weight_shift_in = 4 : i64, weight_shift_rec = 3 : i64, weight_shift_out = 2 : i64, dt = 1.000000e-03 : f64, variant = "audio2", input_names = ["input"], input_shapes = [array<i64: 2>], output_names = ["output"], output_shapes = [array<i64: 2>], hidden_layers = ["lif0", "lif1"], hidden_sizes = array<i64: 2, 1>, output_layers = ["lif2"], aliases = dense<[[1, 2], [-1, -1], [-1, -1]]> : tensor<3x2xi32>}
}

// CHECK: hidden neuron 0 has too many alias targets
