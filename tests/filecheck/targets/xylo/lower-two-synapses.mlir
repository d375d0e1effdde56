// RUN: nirc compile %s --target xylo --calib-steps 20 --calib-batch 1 -o %t 2>&1 | filecheck %s --check-prefix=SUMMARY
// RUN: filecheck %s < %t/model.mlir
// RUN: not nirc compile %s --target xylo --variant imu --calib-steps 20 -o %t.imu 2>&1 | filecheck %s --check-prefix=IMU

// Two inputs, each through its own LI synaptic filter (tau/dt = 2 and 8), meet
// the LIF `lif`: on Xylo Audio 2 the LIs become lif's synapse 1 (dash_syn 1)
// and synapse 2 (dash_syn_2 3). x1's channels (0, 1) feed only synapse 1 and
// x2's (2, 3) only synapse 2: the trailing axis of weights_in. IMU has one
// synapse per hidden neuron and refuses the graph, naming the neuron.

builtin.module {
  snn.graph attributes {dt = 1.000000e-03 : f64, integrator = "euler", reset = "subtract", metadata = {dt = dense<1.000000e-03> : tensor<f64>}} {
    %x1 = snn.input "x1" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %x2 = snn.input "x2" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %fa = snn.dense "fa"(%x1 : tensor<2xf32>) {weight = dense<[[5.000000e-01, -2.500000e-01], [2.500000e-01, 7.500000e-01]]> : tensor<2x2xf32>} : tensor<2xf32>
    %fb = snn.dense "fb"(%x2 : tensor<2xf32>) {weight = dense<[[1.250000e-01, 2.500000e-01], [-2.500000e-01, 5.000000e-01]]> : tensor<2x2xf32>} : tensor<2xf32>
    %sa = snn.neuron "sa"(%fa : tensor<2xf32>) {alpha_mem = dense<5.000000e-01> : tensor<f64>} : tensor<2xf32>
    %sb = snn.neuron "sb"(%fb : tensor<2xf32>) {alpha_mem = dense<8.750000e-01> : tensor<f64>} : tensor<2xf32>
    %lif = snn.neuron "lif"(%sa, %sb : tensor<2xf32>, tensor<2xf32>) {alpha_mem = dense<7.500000e-01> : tensor<f64>, v_threshold = dense<1.000000e+00> : tensor<f64>, reset = "subtract"} : tensor<2xf32>
    %fo = snn.dense "fo"(%lif : tensor<2xf32>) {weight = dense<[[1.000000e+00, 5.000000e-01]]> : tensor<1x2xf32>} : tensor<1xf32>
    %lo = snn.neuron "lo"(%fo : tensor<1xf32>) {alpha_mem = dense<7.500000e-01> : tensor<f64>, v_threshold = dense<1.000000e+00> : tensor<f64>, reset = "subtract"} : tensor<1xf32>
    snn.output "out"(%lo : tensor<1xf32>)
  }
}

// SUMMARY: compiled lower-two-synapses.mlir for xylo (audio2): 4 inputs, 2/1000 hidden, 1/8 output neurons, fan-out 0/64, 2 synapse(s) per hidden neuron

// x1 -> synapse 1 at 2 * w (the chip's current is (1 - 2**-1) (I + W x)), x2 -> synapse 2
// CHECK:      xylo.network
// CHECK-SAME: weights_in = dense<{{\[\[\[}}64, 0], [32, 0]], {{\[\[}}-32, 0], [96, 0]], {{\[\[}}0, 9], [0, -18]], {{\[\[}}0, 18], [0, 37]]]> : tensor<4x2x2xi8>
// CHECK-SAME: dash_mem = dense<2> : tensor<2xi8>
// CHECK-SAME: dash_syn = dense<1> : tensor<2xi8>, dash_syn_2 = dense<3> : tensor<2xi8>
// CHECK-SAME: input_names = ["x1", "x2"]
// CHECK-SAME: hidden_layers = ["lif"], hidden_sizes = array<i64: 2>, output_layers = ["lo"]
// CHECK-NOT:  aliases

// IMU:      error: lif[0]: two synaptic time constants meet one neuron, but Xylo IMU's hidden neurons have 1 synapse
// IMU-NEXT:   expected: 1 synaptic time constant per hidden neuron (imu)
// IMU-NEXT:   found:    2 distinct (tau/dt ~ 2**1 from LI sa, tau/dt ~ 2**3 from LI sb)
