// RUN: nirc opt %s -p lower-spinnaker2 | filecheck %s

// Conv2d -> IF -> SumPool2d (fused into the layer by `fuse`) -> Conv2d -> IF:
// both IF layers are lif_conv2d populations fed by Conv2DProjections; the
// pool becomes the second projection's pool_x/pool_y and its kernel is
// printed in py-spinnaker2's (C_in, C_out, kH, kW) order. A non-spiking LI
// readout after a dense layer records its voltage (reads = "v").

builtin.module {
  snn.graph attributes {dt = 1.000000e+00 : f64, integrator = "euler", reset = "subtract"} {
    %input = snn.input "input" {shape = dense<[1, 4, 4]> : tensor<3xi64>} : tensor<1x4x4xf32>
    %pool = snn.layer "if1"(%input : tensor<1x4x4xf32>) : tensor<2x2x2xf32> {
    ^bb0(%x: tensor<1x4x4xf32>):
      %c1 = snn.conv2d "c1"(%x : tensor<1x4x4xf32>) {weight = dense<[[[[1.270000e+02]]], [[[-6.400000e+01]]]]> : tensor<2x1x1x1xf32>, stride = dense<1> : tensor<2xi64>, padding = dense<0> : tensor<2x2xi64>, dilation = dense<1> : tensor<2xi64>, groups = dense<1> : tensor<i64>} : tensor<2x4x4xf32>
      %if1 = snn.neuron "if1"(%c1 : tensor<2x4x4xf32>) {alpha_mem = dense<1.000000e+00> : tensor<f64>, v_threshold = dense<1.005000e+02> : tensor<f64>, reset = "subtract"} : tensor<2x4x4xf32>
      %p = snn.sum_pool2d "pool"(%if1 : tensor<2x4x4xf32>) {kernel_size = dense<2> : tensor<2xi64>, stride = dense<2> : tensor<2xi64>, padding = dense<0> : tensor<2xi64>} : tensor<2x2x2xf32>
      snn.yield %p : tensor<2x2x2xf32>
    }
    %if2 = snn.layer "if2"(%pool : tensor<2x2x2xf32>) : tensor<1x1x1xf32> {
    ^bb0(%y: tensor<2x2x2xf32>):
      %c2 = snn.conv2d "c2"(%y : tensor<2x2x2xf32>) {weight = dense<[[[[1.270000e+02, 1.000000e+00], [2.000000e+00, 3.000000e+00]], [[4.000000e+00, 5.000000e+00], [6.000000e+00, 7.000000e+00]]]]> : tensor<1x2x2x2xf32>, stride = dense<1> : tensor<2xi64>, padding = dense<0> : tensor<2x2xi64>, dilation = dense<1> : tensor<2xi64>, groups = dense<1> : tensor<i64>} : tensor<1x1x1xf32>
      %if2_1 = snn.neuron "if2"(%c2 : tensor<1x1x1xf32>) {alpha_mem = dense<1.000000e+00> : tensor<f64>, v_threshold = dense<1.005000e+02> : tensor<f64>, reset = "subtract"} : tensor<1x1x1xf32>
      snn.yield %if2_1 : tensor<1x1x1xf32>
    }
    %li = snn.layer "li"(%if2 : tensor<1x1x1xf32>) : tensor<2xf32> {
    ^bb0(%z: tensor<1x1x1xf32>):
      %fc = snn.dense "fc"(%z : tensor<1x1x1xf32>) {weight = dense<[[[[1.270000e+02]]], [[[-1.000000e+00]]]]> : tensor<2x1x1x1xf64>, in_rank = 3 : i64} : tensor<2xf32>
      %li_1 = snn.neuron "li"(%fc : tensor<2xf32>) {alpha_mem = dense<5.000000e-01> : tensor<f64>} : tensor<2xf32>
      snn.yield %li_1 : tensor<2xf32>
    }
    snn.output "output"(%li : tensor<2xf32>)
  }
}

// CHECK:      %[[C1:[0-9]+]] = spinnaker2.conv2d "input->if1"(%input : tensor<16xi1>) {weights = dense<{{\[\[\[\[}}127]], {{\[\[}}-64]]]]> : tensor<1x2x1x1xi8>, in_height = 4 : i64, in_width = 4 : i64, stride_x = 1 : i64, stride_y = 1 : i64, pool_x = 1 : i64, pool_y = 1 : i64, pad_top = 0 : i64, pad_bottom = 0 : i64, pad_left = 0 : i64, pad_right = 0 : i64} : tensor<32xf32>
// CHECK-NEXT: %if1 = spinnaker2.population "if1"(%[[C1]] : tensor<32xf32>) {neuron_model = "lif_conv2d", shape = array<i64: 2, 4, 4>, reset = "reset_by_subtraction"
// CHECK:      spinnaker2.conv2d "if1->if2"(%if1 : tensor<32xi1>) {weights = dense<{{.*}}> : tensor<2x1x2x2xi8>, in_height = 4 : i64, in_width = 4 : i64, stride_x = 1 : i64, stride_y = 1 : i64, pool_x = 2 : i64, pool_y = 2 : i64
// CHECK:      %if2 = spinnaker2.population "if2"({{.*}}) {neuron_model = "lif_conv2d", shape = array<i64: 1, 1, 1>
// CHECK:      %li = spinnaker2.population "li"({{.*}}) {neuron_model = "lif_no_delay", shape = array<i64: 2>, reset = "reset_to_v_reset", record = ["v"]
// CHECK-SAME:   threshold = dense<3.40282347e+38> : tensor<f32>, alpha_decay = dense<5.000000e-01> : tensor<f32>
// CHECK:      spinnaker2.output "output"(%li : tensor<2xi1>) {shape = array<i64: 2>, reads = "v"}
