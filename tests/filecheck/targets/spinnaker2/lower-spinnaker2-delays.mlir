// RUN: nirc opt %s -p lower-spinnaker2 | filecheck %s --check-prefix=AUTO
// RUN: nirc opt %s -p 'lower-spinnaker2{delays=model}' | filecheck %s --check-prefix=MODEL
// RUN: sed -e 's/1.270000e+02, -6.400000e+01/1.500000e+01, -6.000000e+00/' -e 's/3.200000e+01, 1.600000e+01/3.000000e+00, 9.000000e+00/' -e 's/8.000000e+00/1.000000e+00/' %s | nirc opt - -p lower-spinnaker2 | filecheck %s --check-prefix=GRID

// A Delay of 2 steps before a dense IF layer: the projection's own latency
// is one step, the other needs an extra delay. By default a relay population
// (one-to-one copies one step later) carries it and the weights keep 8 bits
// (127, -64, 32, 16, 8 exactly); `delays=model` puts it in the synapses of the
// delayed model `lif` (synaptic delay 1), whose 4-bit weights round them
// (127 -> 15, 32 -> 4, -64 -> -8, 16 -> 2, 8 -> 1). Weights on a 15-step grid
// (15, -6, 3, 9, 1) fit 4 bits exactly, and the default then takes `lif` too.

builtin.module {
  snn.graph attributes {dt = 1.000000e+00 : f64, integrator = "euler", reset = "zero"} {
    %input = snn.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %d = snn.delay "d"(%input : tensor<2xf32>) {steps = dense<2> : tensor<i64>} : tensor<2xf32>
    %if1 = snn.layer "if1"(%d : tensor<2xf32>) : tensor<3xf32> {
    ^bb0(%d_1: tensor<2xf32>):
      %fc = snn.dense "fc"(%d_1 : tensor<2xf32>) {weight = dense<[[1.270000e+02, -6.400000e+01], [3.200000e+01, 1.600000e+01], [0.000000e+00, 8.000000e+00]]> : tensor<3x2xf64>} : tensor<3xf32>
      %if1_1 = snn.neuron "if1"(%fc : tensor<3xf32>) {alpha_mem = dense<1.000000e+00> : tensor<f64>, v_threshold = dense<1.005000e+02> : tensor<f64>, reset = "zero"} : tensor<3xf32>
      snn.yield %if1_1 : tensor<3xf32>
    }
    snn.output "output"(%if1 : tensor<3xf32>)
  }
}

// AUTO:      %[[R:[0-9]+]] = spinnaker2.connections "input->input.relay1"(%input : tensor<2xi1>) {connections = dense<{{\[\[}}0, 0, 1, 0], [1, 1, 1, 0]]> : tensor<2x4xi32>} : tensor<2xf32>
// AUTO-NEXT: %input.relay1 = spinnaker2.population "input.relay1"(%[[R]] : tensor<2xf32>) {neuron_model = "lif_no_delay",
// AUTO-SAME:   role = "relay"
// AUTO-NEXT: %[[W:[0-9]+]] = spinnaker2.connections "input.relay1->if1@2"(%input.relay1 : tensor<2xi1>) {connections = dense<{{\[\[}}0, 0, 127, 0], [0, 1, 32, 0], [1, 0, -64, 0], [1, 1, 16, 0], [1, 2, 8, 0]]> : tensor<5x4xi32>} : tensor<3xf32>
// AUTO-NEXT: %if1 = spinnaker2.population "if1"(%[[W]] : tensor<3xf32>) {neuron_model = "lif_no_delay",

// MODEL-NOT: relay
// MODEL:      %[[W:[0-9]+]] = spinnaker2.connections "input->if1@2"(%input : tensor<2xi1>) {connections = dense<{{\[\[}}0, 0, 15, 1], [0, 1, 4, 1], [1, 0, -8, 1], [1, 1, 2, 1], [1, 2, 1, 1]]> : tensor<5x4xi32>} : tensor<3xf32>
// MODEL-NEXT: %if1 = spinnaker2.population "if1"(%[[W]] : tensor<3xf32>) {neuron_model = "lif",
// MODEL-NOT: relay

// GRID-NOT: relay
// GRID:      %[[W:[0-9]+]] = spinnaker2.connections "input->if1@2"(%input : tensor<2xi1>) {connections = dense<{{\[\[}}0, 0, 15, 1], [0, 1, 3, 1], [1, 0, -6, 1], [1, 1, 9, 1], [1, 2, 1, 1]]> : tensor<5x4xi32>} : tensor<3xf32>
// GRID-NEXT: %if1 = spinnaker2.population "if1"(%[[W]] : tensor<3xf32>) {neuron_model = "lif",
// GRID-NOT: relay
