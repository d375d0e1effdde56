// RUN: nirc opt %s --verify-diagnostics --split-input-file | filecheck %s

// Each rule the spinnaker2 verifiers check, with its message.
// An unknown neuron model.
builtin.module {
  spinnaker2.network attributes {dt = 1.000000e+00 : f64} {
    %input = spinnaker2.spike_source "input" {shape = array<i64: 2>, copies = 1 : i64} : tensor<2xi1>
    %c = spinnaker2.connections "input->lif"(%input : tensor<2xi1>) {connections = dense<[[0, 0, 5, 0], [1, 1, -5, 0]]> : tensor<2x4xi32>} : tensor<2xf32>
    %lif = spinnaker2.population "lif"(%c : tensor<2xf32>) {neuron_model = "izhikevich", shape = array<i64: 2>, reset = "reset_to_v_reset", record = ["spikes"], max_atoms_per_core = 256 : i64, weight_scale = 1.000000e+00 : f64, spike_gain = 1 : i64, lag = 1 : i64, threshold = dense<1.000000e+01> : tensor<f32>, alpha_decay = dense<1.000000e+00> : tensor<f32>, i_offset = dense<0.000000e+00> : tensor<f32>, v_init = dense<0.000000e+00> : tensor<f32>, v_reset = dense<0.000000e+00> : tensor<f32>} : tensor<2xi1>
  }
}

// CHECK: spinnaker2.population "lif": unknown neuron_model 'izhikevich'; py-spinnaker2 has lif_no_delay, lif_curr_exp_no_delay, lif_conv2d, lif, lif_curr_exp (and spike_list: spinnaker2.spike_source)

// -----

// An int8 weight above 127 into lif_no_delay.
builtin.module {
  spinnaker2.network attributes {dt = 1.000000e+00 : f64} {
    %input = spinnaker2.spike_source "input" {shape = array<i64: 2>, copies = 1 : i64} : tensor<2xi1>
    %c = spinnaker2.connections "input->lif"(%input : tensor<2xi1>) {connections = dense<[[0, 0, 200, 0]]> : tensor<1x4xi32>} : tensor<2xf32>
    %lif = spinnaker2.population "lif"(%c : tensor<2xf32>) {neuron_model = "lif_no_delay", shape = array<i64: 2>, reset = "reset_to_v_reset", record = ["spikes"], max_atoms_per_core = 256 : i64, weight_scale = 1.000000e+00 : f64, spike_gain = 1 : i64, lag = 1 : i64, threshold = dense<1.000000e+01> : tensor<f32>, alpha_decay = dense<1.000000e+00> : tensor<f32>, i_offset = dense<0.000000e+00> : tensor<f32>, v_init = dense<0.000000e+00> : tensor<f32>, v_reset = dense<0.000000e+00> : tensor<f32>} : tensor<2xi1>
  }
}

// CHECK: spinnaker2.population "lif": spinnaker2.connections "input->lif": weights in [200, 200] outside `lif_no_delay`'s [-127, 127]

// -----

// A 4-bit weight above 15 into the delayed model lif.
builtin.module {
  spinnaker2.network attributes {dt = 1.000000e+00 : f64} {
    %input = spinnaker2.spike_source "input" {shape = array<i64: 2>, copies = 1 : i64} : tensor<2xi1>
    %c = spinnaker2.connections "input->lif"(%input : tensor<2xi1>) {connections = dense<[[0, 0, 16, 2]]> : tensor<1x4xi32>} : tensor<2xf32>
    %lif = spinnaker2.population "lif"(%c : tensor<2xf32>) {neuron_model = "lif", shape = array<i64: 2>, reset = "reset_to_v_reset", record = ["spikes"], max_atoms_per_core = 256 : i64, weight_scale = 1.000000e+00 : f64, spike_gain = 1 : i64, lag = 1 : i64, threshold = dense<1.000000e+01> : tensor<f32>, alpha_decay = dense<1.000000e+00> : tensor<f32>, i_offset = dense<0.000000e+00> : tensor<f32>, v_init = dense<0.000000e+00> : tensor<f32>, v_reset = dense<0.000000e+00> : tensor<f32>} : tensor<2xi1>
  }
}

// CHECK: spinnaker2.population "lif": spinnaker2.connections "input->lif": weights in [16, 16] outside `lif`'s [-15, 15]

// -----

// A delay of 8 (the delayed models take 0..7).
builtin.module {
  spinnaker2.network attributes {dt = 1.000000e+00 : f64} {
    %input = spinnaker2.spike_source "input" {shape = array<i64: 2>, copies = 1 : i64} : tensor<2xi1>
    %c = spinnaker2.connections "input->lif"(%input : tensor<2xi1>) {connections = dense<[[0, 0, 3, 8]]> : tensor<1x4xi32>} : tensor<2xf32>
    %lif = spinnaker2.population "lif"(%c : tensor<2xf32>) {neuron_model = "lif", shape = array<i64: 2>, reset = "reset_to_v_reset", record = ["spikes"], max_atoms_per_core = 256 : i64, weight_scale = 1.000000e+00 : f64, spike_gain = 1 : i64, lag = 1 : i64, threshold = dense<1.000000e+01> : tensor<f32>, alpha_decay = dense<1.000000e+00> : tensor<f32>, i_offset = dense<0.000000e+00> : tensor<f32>, v_init = dense<0.000000e+00> : tensor<f32>, v_reset = dense<0.000000e+00> : tensor<f32>} : tensor<2xi1>
  }
}

// CHECK: spinnaker2.population "lif": spinnaker2.connections "input->lif": delays in 8..8 outside `lif`'s 0..7

// -----

// A synaptic delay into a no-delay model.
builtin.module {
  spinnaker2.network attributes {dt = 1.000000e+00 : f64} {
    %input = spinnaker2.spike_source "input" {shape = array<i64: 2>, copies = 1 : i64} : tensor<2xi1>
    %c = spinnaker2.connections "input->lif"(%input : tensor<2xi1>) {connections = dense<[[0, 0, 3, 1]]> : tensor<1x4xi32>} : tensor<2xf32>
    %lif = spinnaker2.population "lif"(%c : tensor<2xf32>) {neuron_model = "lif_no_delay", shape = array<i64: 2>, reset = "reset_to_v_reset", record = ["spikes"], max_atoms_per_core = 256 : i64, weight_scale = 1.000000e+00 : f64, spike_gain = 1 : i64, lag = 1 : i64, threshold = dense<1.000000e+01> : tensor<f32>, alpha_decay = dense<1.000000e+00> : tensor<f32>, i_offset = dense<0.000000e+00> : tensor<f32>, v_init = dense<0.000000e+00> : tensor<f32>, v_reset = dense<0.000000e+00> : tensor<f32>} : tensor<2xi1>
  }
}

// CHECK: spinnaker2.population "lif": spinnaker2.connections "input->lif": delays in 1..1 outside `lif_no_delay`'s 0..0

// -----

// A presynaptic index outside the source.
builtin.module {
  spinnaker2.network attributes {dt = 1.000000e+00 : f64} {
    %input = spinnaker2.spike_source "input" {shape = array<i64: 2>, copies = 1 : i64} : tensor<2xi1>
    %c = spinnaker2.connections "input->lif"(%input : tensor<2xi1>) {connections = dense<[[2, 0, 3, 0]]> : tensor<1x4xi32>} : tensor<2xf32>
    %lif = spinnaker2.population "lif"(%c : tensor<2xf32>) {neuron_model = "lif_no_delay", shape = array<i64: 2>, reset = "reset_to_v_reset", record = ["spikes"], max_atoms_per_core = 256 : i64, weight_scale = 1.000000e+00 : f64, spike_gain = 1 : i64, lag = 1 : i64, threshold = dense<1.000000e+01> : tensor<f32>, alpha_decay = dense<1.000000e+00> : tensor<f32>, i_offset = dense<0.000000e+00> : tensor<f32>, v_init = dense<0.000000e+00> : tensor<f32>, v_reset = dense<0.000000e+00> : tensor<f32>} : tensor<2xi1>
  }
}

// CHECK: spinnaker2.connections "input->lif": pre index 2 outside 0..1

// -----

// The same pair twice.
builtin.module {
  spinnaker2.network attributes {dt = 1.000000e+00 : f64} {
    %input = spinnaker2.spike_source "input" {shape = array<i64: 2>, copies = 1 : i64} : tensor<2xi1>
    %c = spinnaker2.connections "input->lif"(%input : tensor<2xi1>) {connections = dense<[[0, 0, 3, 0], [0, 0, 4, 0]]> : tensor<2x4xi32>} : tensor<2xf32>
    %lif = spinnaker2.population "lif"(%c : tensor<2xf32>) {neuron_model = "lif_no_delay", shape = array<i64: 2>, reset = "reset_to_v_reset", record = ["spikes"], max_atoms_per_core = 256 : i64, weight_scale = 1.000000e+00 : f64, spike_gain = 1 : i64, lag = 1 : i64, threshold = dense<1.000000e+01> : tensor<f32>, alpha_decay = dense<1.000000e+00> : tensor<f32>, i_offset = dense<0.000000e+00> : tensor<f32>, v_init = dense<0.000000e+00> : tensor<f32>, v_reset = dense<0.000000e+00> : tensor<f32>} : tensor<2xi1>
  }
}

// CHECK: spinnaker2.connections "input->lif": a (pre, post) pair is listed twice

// -----

// The same pair twice, apart (the rows out of order).
builtin.module {
  spinnaker2.network attributes {dt = 1.000000e+00 : f64} {
    %input = spinnaker2.spike_source "input" {shape = array<i64: 2>, copies = 1 : i64} : tensor<2xi1>
    %c = spinnaker2.connections "input->lif"(%input : tensor<2xi1>) {connections = dense<[[0, 0, 3, 0], [1, 1, 2, 0], [0, 0, 4, 0]]> : tensor<3x4xi32>} : tensor<2xf32>
    %lif = spinnaker2.population "lif"(%c : tensor<2xf32>) {neuron_model = "lif_no_delay", shape = array<i64: 2>, reset = "reset_to_v_reset", record = ["spikes"], max_atoms_per_core = 256 : i64, weight_scale = 1.000000e+00 : f64, spike_gain = 1 : i64, lag = 1 : i64, threshold = dense<1.000000e+01> : tensor<f32>, alpha_decay = dense<1.000000e+00> : tensor<f32>, i_offset = dense<0.000000e+00> : tensor<f32>, v_init = dense<0.000000e+00> : tensor<f32>, v_reset = dense<0.000000e+00> : tensor<f32>} : tensor<2xi1>
  }
}

// CHECK: spinnaker2.connections "input->lif": a (pre, post) pair is listed twice

// -----

// Connection rows of the wrong type.
builtin.module {
  spinnaker2.network attributes {dt = 1.000000e+00 : f64} {
    %input = spinnaker2.spike_source "input" {shape = array<i64: 2>, copies = 1 : i64} : tensor<2xi1>
    %c = spinnaker2.connections "input->lif"(%input : tensor<2xi1>) {connections = dense<[[0, 0, 3, 0]]> : tensor<1x4xi64>} : tensor<2xf32>
    %lif = spinnaker2.population "lif"(%c : tensor<2xf32>) {neuron_model = "lif_no_delay", shape = array<i64: 2>, reset = "reset_to_v_reset", record = ["spikes"], max_atoms_per_core = 256 : i64, weight_scale = 1.000000e+00 : f64, spike_gain = 1 : i64, lag = 1 : i64, threshold = dense<1.000000e+01> : tensor<f32>, alpha_decay = dense<1.000000e+00> : tensor<f32>, i_offset = dense<0.000000e+00> : tensor<f32>, v_init = dense<0.000000e+00> : tensor<f32>, v_reset = dense<0.000000e+00> : tensor<f32>} : tensor<2xi1>
  }
}

// CHECK: spinnaker2.connections "input->lif": `connections` must be [n, 4] int32 rows (pre, post, weight, delay), found int64 of shape [1, 4]

// -----

// A parameter of the wrong shape.
builtin.module {
  spinnaker2.network attributes {dt = 1.000000e+00 : f64} {
    %input = spinnaker2.spike_source "input" {shape = array<i64: 2>, copies = 1 : i64} : tensor<2xi1>
    %c = spinnaker2.connections "input->lif"(%input : tensor<2xi1>) {connections = dense<[[0, 0, 5, 0], [1, 1, -5, 0]]> : tensor<2x4xi32>} : tensor<2xf32>
    %lif = spinnaker2.population "lif"(%c : tensor<2xf32>) {neuron_model = "lif_no_delay", shape = array<i64: 2>, reset = "reset_to_v_reset", record = ["spikes"], max_atoms_per_core = 256 : i64, weight_scale = 1.000000e+00 : f64, spike_gain = 1 : i64, lag = 1 : i64, threshold = dense<1.000000e+01> : tensor<3xf32>, alpha_decay = dense<1.000000e+00> : tensor<f32>, i_offset = dense<0.000000e+00> : tensor<f32>, v_init = dense<0.000000e+00> : tensor<f32>, v_reset = dense<0.000000e+00> : tensor<f32>} : tensor<2xi1>
  }
}

// CHECK: spinnaker2.population "lif": `threshold` must be float32, 0-d or [2] (one per neuron), found float32 of shape [3]

// -----

// A decay factor above 1.
builtin.module {
  spinnaker2.network attributes {dt = 1.000000e+00 : f64} {
    %input = spinnaker2.spike_source "input" {shape = array<i64: 2>, copies = 1 : i64} : tensor<2xi1>
    %c = spinnaker2.connections "input->lif"(%input : tensor<2xi1>) {connections = dense<[[0, 0, 5, 0], [1, 1, -5, 0]]> : tensor<2x4xi32>} : tensor<2xf32>
    %lif = spinnaker2.population "lif"(%c : tensor<2xf32>) {neuron_model = "lif_no_delay", shape = array<i64: 2>, reset = "reset_to_v_reset", record = ["spikes"], max_atoms_per_core = 256 : i64, weight_scale = 1.000000e+00 : f64, spike_gain = 1 : i64, lag = 1 : i64, threshold = dense<1.000000e+01> : tensor<f32>, alpha_decay = dense<1.500000e+00> : tensor<f32>, i_offset = dense<0.000000e+00> : tensor<f32>, v_init = dense<0.000000e+00> : tensor<f32>, v_reset = dense<0.000000e+00> : tensor<f32>} : tensor<2xi1>
  }
}

// CHECK: spinnaker2.population "lif": `alpha_decay` must be in [0, 1] (a decay factor per step), found values in [1.5, 1.5]

// -----

// A current-based model without its current's decay.
builtin.module {
  spinnaker2.network attributes {dt = 1.000000e+00 : f64} {
    %input = spinnaker2.spike_source "input" {shape = array<i64: 2>, copies = 1 : i64} : tensor<2xi1>
    %c = spinnaker2.connections "input->lif"(%input : tensor<2xi1>) {connections = dense<[[0, 0, 5, 0], [1, 1, -5, 0]]> : tensor<2x4xi32>} : tensor<2xf32>
    %lif = spinnaker2.population "lif"(%c : tensor<2xf32>) {neuron_model = "lif_curr_exp_no_delay", shape = array<i64: 2>, reset = "reset_to_v_reset", record = ["spikes"], max_atoms_per_core = 256 : i64, weight_scale = 1.000000e+00 : f64, spike_gain = 1 : i64, lag = 1 : i64, threshold = dense<1.000000e+01> : tensor<f32>, alpha_decay = dense<1.000000e+00> : tensor<f32>, i_offset = dense<0.000000e+00> : tensor<f32>, v_init = dense<0.000000e+00> : tensor<f32>, v_reset = dense<0.000000e+00> : tensor<f32>} : tensor<2xi1>
  }
}

// CHECK: spinnaker2.population "lif": `lif_curr_exp_no_delay` needs `exc_decay`

// -----

// A refractory period on lif_no_delay.
builtin.module {
  spinnaker2.network attributes {dt = 1.000000e+00 : f64} {
    %input = spinnaker2.spike_source "input" {shape = array<i64: 2>, copies = 1 : i64} : tensor<2xi1>
    %c = spinnaker2.connections "input->lif"(%input : tensor<2xi1>) {connections = dense<[[0, 0, 5, 0], [1, 1, -5, 0]]> : tensor<2x4xi32>} : tensor<2xf32>
    %lif = spinnaker2.population "lif"(%c : tensor<2xf32>) {neuron_model = "lif_no_delay", shape = array<i64: 2>, reset = "reset_to_v_reset", record = ["spikes"], max_atoms_per_core = 256 : i64, weight_scale = 1.000000e+00 : f64, spike_gain = 1 : i64, lag = 1 : i64, threshold = dense<1.000000e+01> : tensor<f32>, alpha_decay = dense<1.000000e+00> : tensor<f32>, i_offset = dense<0.000000e+00> : tensor<f32>, v_init = dense<0.000000e+00> : tensor<f32>, v_reset = dense<0.000000e+00> : tensor<f32>, t_refrac = 1 : i64} : tensor<2xi1>
  }
}

// CHECK: spinnaker2.population "lif": `t_refrac` belongs to the current-based models, not `lif_no_delay`

// -----

// More atoms per core than the synapse word can address.
builtin.module {
  spinnaker2.network attributes {dt = 1.000000e+00 : f64} {
    %input = spinnaker2.spike_source "input" {shape = array<i64: 2>, copies = 1 : i64} : tensor<2xi1>
    %c = spinnaker2.connections "input->lif"(%input : tensor<2xi1>) {connections = dense<[[0, 0, 5, 0], [1, 1, -5, 0]]> : tensor<2x4xi32>} : tensor<2xf32>
    %lif = spinnaker2.population "lif"(%c : tensor<2xf32>) {neuron_model = "lif_no_delay", shape = array<i64: 2>, reset = "reset_to_v_reset", record = ["spikes"], max_atoms_per_core = 300 : i64, weight_scale = 1.000000e+00 : f64, spike_gain = 1 : i64, lag = 1 : i64, threshold = dense<1.000000e+01> : tensor<f32>, alpha_decay = dense<1.000000e+00> : tensor<f32>, i_offset = dense<0.000000e+00> : tensor<f32>, v_init = dense<0.000000e+00> : tensor<f32>, v_reset = dense<0.000000e+00> : tensor<f32>} : tensor<2xi1>
  }
}

// CHECK: spinnaker2.population "lif": max_atoms_per_core must be in 1..256 (the synapse word's 8-bit target index), found 300

// -----

// A Conv2DProjection into lif_no_delay.
builtin.module {
  spinnaker2.network attributes {dt = 1.000000e+00 : f64} {
    %input = spinnaker2.spike_source "input" {shape = array<i64: 2>, copies = 1 : i64} : tensor<2xi1>
    %c = spinnaker2.conv2d "input->lif"(%input : tensor<2xi1>) {weights = dense<1> : tensor<1x1x1x1xi8>, in_height = 1 : i64, in_width = 2 : i64, stride_x = 1 : i64, stride_y = 1 : i64, pool_x = 1 : i64, pool_y = 1 : i64, pad_top = 0 : i64, pad_bottom = 0 : i64, pad_left = 0 : i64, pad_right = 0 : i64} : tensor<2xf32>
    %lif = spinnaker2.population "lif"(%c : tensor<2xf32>) {neuron_model = "lif_no_delay", shape = array<i64: 2>, reset = "reset_to_v_reset", record = ["spikes"], max_atoms_per_core = 256 : i64, weight_scale = 1.000000e+00 : f64, spike_gain = 1 : i64, lag = 1 : i64, threshold = dense<1.000000e+01> : tensor<f32>, alpha_decay = dense<1.000000e+00> : tensor<f32>, i_offset = dense<0.000000e+00> : tensor<f32>, v_init = dense<0.000000e+00> : tensor<f32>, v_reset = dense<0.000000e+00> : tensor<f32>} : tensor<2xi1>
  }
}

// CHECK: spinnaker2.population "lif": a Conv2DProjection feeds lif_conv2d populations only, not `lif_no_delay`

// -----

// A lif_conv2d population without a Conv2DProjection.
builtin.module {
  spinnaker2.network attributes {dt = 1.000000e+00 : f64} {
    %input = spinnaker2.spike_source "input" {shape = array<i64: 2>, copies = 1 : i64} : tensor<2xi1>
    %c = spinnaker2.connections "input->lif"(%input : tensor<2xi1>) {connections = dense<[[0, 0, 5, 0], [1, 1, -5, 0]]> : tensor<2x4xi32>} : tensor<2xf32>
    %lif = spinnaker2.population "lif"(%c : tensor<2xf32>) {neuron_model = "lif_conv2d", shape = array<i64: 2>, reset = "reset_to_v_reset", record = ["spikes"], max_atoms_per_core = 256 : i64, weight_scale = 1.000000e+00 : f64, spike_gain = 1 : i64, lag = 1 : i64, threshold = dense<1.000000e+01> : tensor<f32>, alpha_decay = dense<1.000000e+00> : tensor<f32>, i_offset = dense<0.000000e+00> : tensor<f32>, v_init = dense<0.000000e+00> : tensor<f32>, v_reset = dense<0.000000e+00> : tensor<f32>} : tensor<2xi1>
  }
}

// CHECK: spinnaker2.population "lif": a lif_conv2d population is fed by exactly one Conv2DProjection, found 0

// -----

// A convolution whose input does not match its source.
builtin.module {
  spinnaker2.network attributes {dt = 1.000000e+00 : f64} {
    %input = spinnaker2.spike_source "input" {shape = array<i64: 2>, copies = 1 : i64} : tensor<2xi1>
    %c = spinnaker2.conv2d "input->lif"(%input : tensor<2xi1>) {weights = dense<1> : tensor<1x1x1x1xi8>, in_height = 1 : i64, in_width = 3 : i64, stride_x = 1 : i64, stride_y = 1 : i64, pool_x = 1 : i64, pool_y = 1 : i64, pad_top = 0 : i64, pad_bottom = 0 : i64, pad_left = 0 : i64, pad_right = 0 : i64} : tensor<2xf32>
    %lif = spinnaker2.population "lif"(%c : tensor<2xf32>) {neuron_model = "lif_conv2d", shape = array<i64: 2>, reset = "reset_to_v_reset", record = ["spikes"], max_atoms_per_core = 256 : i64, weight_scale = 1.000000e+00 : f64, spike_gain = 1 : i64, lag = 1 : i64, threshold = dense<1.000000e+01> : tensor<f32>, alpha_decay = dense<1.000000e+00> : tensor<f32>, i_offset = dense<0.000000e+00> : tensor<f32>, v_init = dense<0.000000e+00> : tensor<f32>, v_reset = dense<0.000000e+00> : tensor<f32>} : tensor<2xi1>
  }
}

// CHECK: spinnaker2.conv2d "input->lif": the source has 2 neurons; C_in x in_height x in_width is 1 x 1 x 3

// -----

// An output reading a voltage that is not recorded.
builtin.module {
  spinnaker2.network attributes {dt = 1.000000e+00 : f64} {
    %input = spinnaker2.spike_source "input" {shape = array<i64: 2>, copies = 1 : i64} : tensor<2xi1>
    %c = spinnaker2.connections "input->lif"(%input : tensor<2xi1>) {connections = dense<[[0, 0, 5, 0], [1, 1, -5, 0]]> : tensor<2x4xi32>} : tensor<2xf32>
    %lif = spinnaker2.population "lif"(%c : tensor<2xf32>) {neuron_model = "lif_no_delay", shape = array<i64: 2>, reset = "reset_to_v_reset", record = ["spikes"], max_atoms_per_core = 256 : i64, weight_scale = 1.000000e+00 : f64, spike_gain = 1 : i64, lag = 1 : i64, threshold = dense<1.000000e+01> : tensor<f32>, alpha_decay = dense<1.000000e+00> : tensor<f32>, i_offset = dense<0.000000e+00> : tensor<f32>, v_init = dense<0.000000e+00> : tensor<f32>, v_reset = dense<0.000000e+00> : tensor<f32>} : tensor<2xi1>
    spinnaker2.output "out"(%lif : tensor<2xi1>) {shape = array<i64: 2>, reads = "v"}
  }
}

// CHECK: spinnaker2.output "out": reads v of spinnaker2.population "lif", which does not record it

// -----

// A bias source without its first step.
builtin.module {
  spinnaker2.network attributes {dt = 1.000000e+00 : f64} {
    %b = spinnaker2.spike_source "b" {shape = array<i64: 1>, copies = 1 : i64, role = "bias"} : tensor<1xi1>
  }
}

// CHECK: spinnaker2.spike_source "b": a bias source needs `start` >= 0 (the first step it fires)

// -----

// A name used twice.
builtin.module {
  spinnaker2.network attributes {dt = 1.000000e+00 : f64} {
    %input = spinnaker2.spike_source "input" {shape = array<i64: 2>, copies = 1 : i64} : tensor<2xi1>
    %c = spinnaker2.connections "input->lif"(%input : tensor<2xi1>) {connections = dense<[[0, 0, 5, 0], [1, 1, -5, 0]]> : tensor<2x4xi32>} : tensor<2xf32>
    %dup = spinnaker2.population "input"(%c : tensor<2xf32>) {neuron_model = "lif_no_delay", shape = array<i64: 2>, reset = "reset_to_v_reset", record = ["spikes"], max_atoms_per_core = 256 : i64, weight_scale = 1.000000e+00 : f64, spike_gain = 1 : i64, lag = 1 : i64, threshold = dense<1.000000e+01> : tensor<f32>, alpha_decay = dense<1.000000e+00> : tensor<f32>, i_offset = dense<0.000000e+00> : tensor<f32>, v_init = dense<0.000000e+00> : tensor<f32>, v_reset = dense<0.000000e+00> : tensor<f32>} : tensor<2xi1>
  }
}

// CHECK: spinnaker2.population "input": name "input" is used twice

// -----

// A population left unplaced.
builtin.module {
  spinnaker2.network attributes {dt = 1.000000e+00 : f64} {
    %input = spinnaker2.spike_source "input" {shape = array<i64: 2>, copies = 1 : i64} : tensor<2xi1>
    %c = spinnaker2.connections "input->lif"(%input : tensor<2xi1>) {connections = dense<[[0, 0, 5, 0], [1, 1, -5, 0]]> : tensor<2x4xi32>} : tensor<2xf32>
    %lif = spinnaker2.population "lif"(%c : tensor<2xf32>) {neuron_model = "lif_no_delay", shape = array<i64: 2>, reset = "reset_to_v_reset", record = ["spikes"], max_atoms_per_core = 256 : i64, weight_scale = 1.000000e+00 : f64, spike_gain = 1 : i64, lag = 1 : i64, threshold = dense<1.000000e+01> : tensor<f32>, alpha_decay = dense<1.000000e+00> : tensor<f32>, i_offset = dense<0.000000e+00> : tensor<f32>, v_init = dense<0.000000e+00> : tensor<f32>, v_reset = dense<0.000000e+00> : tensor<f32>} : tensor<2xi1>
    spinnaker2.placement {pes_per_chip = 152 : i64, chips = 1 : i64, neurons_per_pe = 256 : i64, memory_per_pe = 6.860800e+04 : f64, bytes_per_neuron = 2.400000e+01 : f64, recorded_steps = 100 : i64, record_voltages = 0 : i64, method = "index-order", populations = ["input"], pes = [dense<0> : tensor<2xi32>]}
  }
}

// CHECK: spinnaker2.placement: every population is placed once: not placed: lif

// -----

// A PE the machine does not have.
builtin.module {
  spinnaker2.network attributes {dt = 1.000000e+00 : f64} {
    %input = spinnaker2.spike_source "input" {shape = array<i64: 2>, copies = 1 : i64} : tensor<2xi1>
    %c = spinnaker2.connections "input->lif"(%input : tensor<2xi1>) {connections = dense<[[0, 0, 5, 0], [1, 1, -5, 0]]> : tensor<2x4xi32>} : tensor<2xf32>
    %lif = spinnaker2.population "lif"(%c : tensor<2xf32>) {neuron_model = "lif_no_delay", shape = array<i64: 2>, reset = "reset_to_v_reset", record = ["spikes"], max_atoms_per_core = 256 : i64, weight_scale = 1.000000e+00 : f64, spike_gain = 1 : i64, lag = 1 : i64, threshold = dense<1.000000e+01> : tensor<f32>, alpha_decay = dense<1.000000e+00> : tensor<f32>, i_offset = dense<0.000000e+00> : tensor<f32>, v_init = dense<0.000000e+00> : tensor<f32>, v_reset = dense<0.000000e+00> : tensor<f32>} : tensor<2xi1>
    spinnaker2.placement {pes_per_chip = 152 : i64, chips = 1 : i64, neurons_per_pe = 256 : i64, memory_per_pe = 6.860800e+04 : f64, bytes_per_neuron = 2.400000e+01 : f64, recorded_steps = 100 : i64, record_voltages = 0 : i64, method = "index-order", populations = ["input", "lif"], pes = [dense<0> : tensor<2xi32>, dense<152> : tensor<2xi32>]}
  }
}

// CHECK: spinnaker2.placement: "lif": PE 152 does not exist (1 chip(s) of 152 PEs: ids 0..151)

// -----

// A neuron placed twice (a PE table longer than the population).
builtin.module {
  spinnaker2.network attributes {dt = 1.000000e+00 : f64} {
    %input = spinnaker2.spike_source "input" {shape = array<i64: 2>, copies = 1 : i64} : tensor<2xi1>
    %c = spinnaker2.connections "input->lif"(%input : tensor<2xi1>) {connections = dense<[[0, 0, 5, 0], [1, 1, -5, 0]]> : tensor<2x4xi32>} : tensor<2xf32>
    %lif = spinnaker2.population "lif"(%c : tensor<2xf32>) {neuron_model = "lif_no_delay", shape = array<i64: 2>, reset = "reset_to_v_reset", record = ["spikes"], max_atoms_per_core = 256 : i64, weight_scale = 1.000000e+00 : f64, spike_gain = 1 : i64, lag = 1 : i64, threshold = dense<1.000000e+01> : tensor<f32>, alpha_decay = dense<1.000000e+00> : tensor<f32>, i_offset = dense<0.000000e+00> : tensor<f32>, v_init = dense<0.000000e+00> : tensor<f32>, v_reset = dense<0.000000e+00> : tensor<f32>} : tensor<2xi1>
    spinnaker2.placement {pes_per_chip = 152 : i64, chips = 1 : i64, neurons_per_pe = 256 : i64, memory_per_pe = 6.860800e+04 : f64, bytes_per_neuron = 2.400000e+01 : f64, recorded_steps = 100 : i64, record_voltages = 0 : i64, method = "index-order", populations = ["input", "lif"], pes = [dense<0> : tensor<2xi32>, dense<1> : tensor<3xi32>]}
  }
}

// CHECK: spinnaker2.placement: "lif": 3 PE ids for its 2 neurons (each neuron is placed exactly once)

// -----

// More neurons on a PE than it holds.
builtin.module {
  spinnaker2.network attributes {dt = 1.000000e+00 : f64} {
    %input = spinnaker2.spike_source "input" {shape = array<i64: 2>, copies = 1 : i64} : tensor<2xi1>
    %c = spinnaker2.connections "input->lif"(%input : tensor<2xi1>) {connections = dense<[[0, 0, 5, 0], [1, 1, -5, 0]]> : tensor<2x4xi32>} : tensor<2xf32>
    %lif = spinnaker2.population "lif"(%c : tensor<2xf32>) {neuron_model = "lif_no_delay", shape = array<i64: 2>, reset = "reset_to_v_reset", record = ["spikes"], max_atoms_per_core = 256 : i64, weight_scale = 1.000000e+00 : f64, spike_gain = 1 : i64, lag = 1 : i64, threshold = dense<1.000000e+01> : tensor<f32>, alpha_decay = dense<1.000000e+00> : tensor<f32>, i_offset = dense<0.000000e+00> : tensor<f32>, v_init = dense<0.000000e+00> : tensor<f32>, v_reset = dense<0.000000e+00> : tensor<f32>} : tensor<2xi1>
    spinnaker2.placement {pes_per_chip = 152 : i64, chips = 1 : i64, neurons_per_pe = 1 : i64, memory_per_pe = 6.860800e+04 : f64, bytes_per_neuron = 2.400000e+01 : f64, recorded_steps = 100 : i64, record_voltages = 0 : i64, method = "index-order", populations = ["input", "lif"], pes = [dense<[0, 1]> : tensor<2xi32>, dense<2> : tensor<2xi32>]}
  }
}

// CHECK: spinnaker2.placement: chip 0 PE 2 holds 2 neurons, more than 1

// -----

// A PE over its data memory.
builtin.module {
  spinnaker2.network attributes {dt = 1.000000e+00 : f64} {
    %input = spinnaker2.spike_source "input" {shape = array<i64: 2>, copies = 1 : i64} : tensor<2xi1>
    %c = spinnaker2.connections "input->lif"(%input : tensor<2xi1>) {connections = dense<[[0, 0, 5, 0], [1, 1, -5, 0]]> : tensor<2x4xi32>} : tensor<2xf32>
    %lif = spinnaker2.population "lif"(%c : tensor<2xf32>) {neuron_model = "lif_no_delay", shape = array<i64: 2>, reset = "reset_to_v_reset", record = ["spikes"], max_atoms_per_core = 256 : i64, weight_scale = 1.000000e+00 : f64, spike_gain = 1 : i64, lag = 1 : i64, threshold = dense<1.000000e+01> : tensor<f32>, alpha_decay = dense<1.000000e+00> : tensor<f32>, i_offset = dense<0.000000e+00> : tensor<f32>, v_init = dense<0.000000e+00> : tensor<f32>, v_reset = dense<0.000000e+00> : tensor<f32>} : tensor<2xi1>
    spinnaker2.placement {pes_per_chip = 152 : i64, chips = 1 : i64, neurons_per_pe = 256 : i64, memory_per_pe = 1.000000e+02 : f64, bytes_per_neuron = 2.400000e+01 : f64, recorded_steps = 100 : i64, record_voltages = 0 : i64, method = "index-order", populations = ["input", "lif"], pes = [dense<0> : tensor<2xi32>, dense<1> : tensor<2xi32>]}
  }
}

// CHECK: spinnaker2.placement: chip 0 PE 0 needs 304 bytes of data memory for 2 neurons, 0 synapses, 0 synapse rows, 0 master population table entries and 0 recorded neurons; it has 100

// -----

// Two populations on one PE: py-spinnaker2 runs one population slice per PE.
builtin.module {
  spinnaker2.network attributes {dt = 1.000000e+00 : f64} {
    %input = spinnaker2.spike_source "input" {shape = array<i64: 2>, copies = 1 : i64} : tensor<2xi1>
    %c = spinnaker2.connections "input->lif"(%input : tensor<2xi1>) {connections = dense<[[0, 0, 5, 0], [1, 1, -5, 0]]> : tensor<2x4xi32>} : tensor<2xf32>
    %lif = spinnaker2.population "lif"(%c : tensor<2xf32>) {neuron_model = "lif_no_delay", shape = array<i64: 2>, reset = "reset_to_v_reset", record = ["spikes"], max_atoms_per_core = 256 : i64, weight_scale = 1.000000e+00 : f64, spike_gain = 1 : i64, lag = 1 : i64, threshold = dense<1.000000e+01> : tensor<f32>, alpha_decay = dense<1.000000e+00> : tensor<f32>, i_offset = dense<0.000000e+00> : tensor<f32>, v_init = dense<0.000000e+00> : tensor<f32>, v_reset = dense<0.000000e+00> : tensor<f32>} : tensor<2xi1>
    spinnaker2.placement {pes_per_chip = 152 : i64, chips = 1 : i64, neurons_per_pe = 256 : i64, memory_per_pe = 6.860800e+04 : f64, bytes_per_neuron = 2.400000e+01 : f64, recorded_steps = 100 : i64, record_voltages = 0 : i64, method = "mt-kahypar", traffic = 1.000000e+00 : f64, baseline_traffic = 2.000000e+00 : f64, populations = ["input", "lif"], pes = [dense<[0, 1]> : tensor<2xi32>, dense<[1, 2]> : tensor<2xi32>]}
  }
}

// CHECK: spinnaker2.placement: PE 1 holds neurons of two populations, input and lif: found input and lif on PE 1; expected one population slice per PE (py-spinnaker2's mapper)

// -----

// A spike source cut out of index order: its spike lists go to one population,
// which py-spinnaker2 slices max_atoms_per_core neurons at a time.
builtin.module {
  spinnaker2.network attributes {dt = 1.000000e+00 : f64} {
    %input = spinnaker2.spike_source "input" {shape = array<i64: 4>, copies = 1 : i64} : tensor<4xi1>
    %c = spinnaker2.connections "input->lif"(%input : tensor<4xi1>) {connections = dense<[[0, 0, 5, 0], [3, 1, -5, 0]]> : tensor<2x4xi32>} : tensor<2xf32>
    %lif = spinnaker2.population "lif"(%c : tensor<2xf32>) {neuron_model = "lif_no_delay", shape = array<i64: 2>, reset = "reset_to_v_reset", record = ["spikes"], max_atoms_per_core = 256 : i64, weight_scale = 1.000000e+00 : f64, spike_gain = 1 : i64, lag = 1 : i64, threshold = dense<1.000000e+01> : tensor<f32>, alpha_decay = dense<1.000000e+00> : tensor<f32>, i_offset = dense<0.000000e+00> : tensor<f32>, v_init = dense<0.000000e+00> : tensor<f32>, v_reset = dense<0.000000e+00> : tensor<f32>} : tensor<2xi1>
    spinnaker2.placement {pes_per_chip = 152 : i64, chips = 1 : i64, neurons_per_pe = 256 : i64, memory_per_pe = 6.860800e+04 : f64, bytes_per_neuron = 2.400000e+01 : f64, recorded_steps = 100 : i64, record_voltages = 0 : i64, method = "mt-kahypar", populations = ["input", "lif"], pes = [dense<[0, 1, 0, 1]> : tensor<4xi32>, dense<2> : tensor<2xi32>]}
  }
}

// CHECK: spinnaker2.placement: population input is not placed in index-order slices of one size: found 2 slices of 2 neurons, not all contiguous; expected runs of consecutive neurons, all of one size but the last (a spike source gets its spike lists as one population)
