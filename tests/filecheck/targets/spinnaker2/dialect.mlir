// RUN: nirc opt %s | filecheck %s
// RUN: nirc opt %s | %roundtrip | filecheck %s

// Every op of the spinnaker2 dialect: an input with 2 spike sources per
// element (event counts up to 2), a bias source firing from step 1, a
// Conv2DProjection into a lif_conv2d population, a connection list with
// synaptic delays into a delayed `lif` population, a current-based
// population with a refractory step and a recurrent projection, a readout,
// and the placement (one PE per population here).

builtin.module {
  spinnaker2.network attributes {dt = 1.000000e-03 : f64, source = "nir", reset = "zero"} {
    %input = spinnaker2.spike_source "input" {shape = array<i64: 1, 2, 2>, copies = 2 : i64} : tensor<8xi1>
    %bias = spinnaker2.spike_source "cur.bias" {shape = array<i64: 1>, copies = 1 : i64, role = "bias", start = 1 : i64} : tensor<1xi1>
    %c = spinnaker2.conv2d "input->conv"(%input : tensor<8xi1>) {weights = dense<[[[[3]]], [[[5]]]]> : tensor<2x1x1x1xi8>, in_height = 2 : i64, in_width = 2 : i64, stride_x = 1 : i64, stride_y = 1 : i64, pool_x = 1 : i64, pool_y = 1 : i64, pad_top = 0 : i64, pad_bottom = 0 : i64, pad_left = 0 : i64, pad_right = 0 : i64} : tensor<4xf32>
    %conv = spinnaker2.population "conv"(%c : tensor<4xf32>) {neuron_model = "lif_conv2d", shape = array<i64: 1, 2, 2>, reset = "reset_by_subtraction", record = [], max_atoms_per_core = 128 : i64, weight_scale = 2.000000e+00 : f64, spike_gain = 1 : i64, lag = 1 : i64, threshold = dense<4.500000e+00> : tensor<f32>, alpha_decay = dense<1.000000e+00> : tensor<f32>, i_offset = dense<0.000000e+00> : tensor<f32>, v_init = dense<0.000000e+00> : tensor<f32>, v_reset = dense<0.000000e+00> : tensor<f32>} : tensor<4xi1>
    %d = spinnaker2.connections "conv->slow"(%conv : tensor<4xi1>) {connections = dense<[[0, 0, 15, 3], [3, 1, -15, 7]]> : tensor<2x4xi32>} : tensor<2xf32>
    %slow = spinnaker2.population "slow"(%d : tensor<2xf32>) {neuron_model = "lif", shape = array<i64: 2>, reset = "reset_to_v_reset", record = ["spikes"], max_atoms_per_core = 256 : i64, weight_scale = 1.000000e+00 : f64, spike_gain = 1 : i64, lag = 2 : i64, threshold = dense<[1.000000e+01, 1.200000e+01]> : tensor<2xf32>, alpha_decay = dense<9.000000e-01> : tensor<f32>, i_offset = dense<0.000000e+00> : tensor<f32>, v_init = dense<0.000000e+00> : tensor<f32>, v_reset = dense<0.000000e+00> : tensor<f32>} : tensor<2xi1>
    %e = spinnaker2.connections "slow->cur"(%slow : tensor<2xi1>) {connections = dense<[[0, 0, 127, 0], [1, 0, -127, 0]]> : tensor<2x4xi32>} : tensor<1xf32>
    %f = spinnaker2.connections "cur->cur"(%cur : tensor<1xi1>) {connections = dense<[[0, 0, -20, 0]]> : tensor<1x4xi32>} : tensor<1xf32>
    %g = spinnaker2.connections "cur.bias->cur"(%bias : tensor<1xi1>) {connections = dense<[[0, 0, 4, 0]]> : tensor<1x4xi32>} : tensor<1xf32>
    %cur = spinnaker2.population "cur"(%e, %f, %g : tensor<1xf32>, tensor<1xf32>, tensor<1xf32>) {neuron_model = "lif_curr_exp_no_delay", shape = array<i64: 1>, reset = "reset_to_v_reset", record = ["spikes", "v"], max_atoms_per_core = 256 : i64, weight_scale = 3.000000e+00 : f64, spike_gain = 1 : i64, lag = 3 : i64, threshold = dense<5.000000e+01> : tensor<f32>, alpha_decay = dense<5.000000e-01> : tensor<f32>, i_offset = dense<0.000000e+00> : tensor<f32>, v_init = dense<0.000000e+00> : tensor<f32>, v_reset = dense<0.000000e+00> : tensor<f32>, exc_decay = dense<2.500000e-01> : tensor<f32>, inh_decay = dense<2.500000e-01> : tensor<f32>, t_refrac = 1 : i64} : tensor<1xi1>
    spinnaker2.output "spikes"(%slow : tensor<2xi1>) {shape = array<i64: 2>, reads = "spikes"}
    spinnaker2.output "voltage"(%cur : tensor<1xi1>) {shape = array<i64: 1>, reads = "v"}
    spinnaker2.placement {pes_per_chip = 152 : i64, chips = 1 : i64, neurons_per_pe = 256 : i64, memory_per_pe = 6.860800e+04 : f64, bytes_per_neuron = 4.800000e+01 : f64, recorded_steps = 100 : i64, record_voltages = 1 : i64, method = "index-order", populations = ["input", "cur.bias", "conv", "slow", "cur"], pes = [dense<0> : tensor<8xi32>, dense<1> : tensor<1xi32>, dense<2> : tensor<4xi32>, dense<3> : tensor<2xi32>, dense<4> : tensor<1xi32>]}
  }
}

// CHECK:      spinnaker2.network attributes {dt = 1.000000e-03 : f64, source = "nir", reset = "zero"} {
// CHECK-NEXT:   %input = spinnaker2.spike_source "input" {shape = array<i64: 1, 2, 2>, copies = 2 : i64} : tensor<8xi1>
// CHECK-NEXT:   %bias = spinnaker2.spike_source "cur.bias" {shape = array<i64: 1>, copies = 1 : i64, role = "bias", start = 1 : i64} : tensor<1xi1>
// CHECK-NEXT:   %c = spinnaker2.conv2d "input->conv"(%input : tensor<8xi1>) {weights = dense<{{\[\[\[\[}}3]]], {{\[\[\[}}5]]]]> : tensor<2x1x1x1xi8>
// CHECK-NEXT:   %conv = spinnaker2.population "conv"(%c : tensor<4xf32>) {neuron_model = "lif_conv2d"
// CHECK-NEXT:   %d = spinnaker2.connections "conv->slow"(%conv : tensor<4xi1>) {connections = dense<{{\[\[}}0, 0, 15, 3], [3, 1, -15, 7]]> : tensor<2x4xi32>} : tensor<2xf32>
// CHECK-NEXT:   %slow = spinnaker2.population "slow"(%d : tensor<2xf32>) {neuron_model = "lif"
// CHECK-SAME:     threshold = dense<[1.000000e+01, 1.200000e+01]> : tensor<2xf32>
// CHECK:        %cur = spinnaker2.population "cur"(%e, %f, %g : tensor<1xf32>, tensor<1xf32>, tensor<1xf32>) {neuron_model = "lif_curr_exp_no_delay"
// CHECK-SAME:     exc_decay = dense<2.500000e-01> : tensor<f32>, inh_decay = dense<2.500000e-01> : tensor<f32>, t_refrac = 1 : i64} : tensor<1xi1>
// CHECK-NEXT:   spinnaker2.output "spikes"(%slow : tensor<2xi1>) {shape = array<i64: 2>, reads = "spikes"}
// CHECK-NEXT:   spinnaker2.output "voltage"(%cur : tensor<1xi1>) {shape = array<i64: 1>, reads = "v"}
// CHECK-NEXT:   spinnaker2.placement {pes_per_chip = 152 : i64, chips = 1 : i64
// CHECK-SAME:     populations = ["input", "cur.bias", "conv", "slow", "cur"]
