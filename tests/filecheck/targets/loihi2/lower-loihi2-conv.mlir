// RUN: nirc opt %s -p 'lower-loihi2{partition=index}' | filecheck %s

// A Sinabs-style CNN: conv -> IF -> sum-pool 2 -> conv (padding 1) -> IF ->
// sum-pool 2 (stride 1) -> flatten -> linear -> IF. netx cannot load pooling,
// so each pool is folded into the weights that read it, exactly:
// - pool1 (2x2, stride 2, tiling the 6x6 map) into conv2: each tap of the 3x3
//   kernel covers its 2x2 window, a 6x6 kernel of stride 2 and padding 2 on
//   the unpooled [2, 6, 6] spikes (3x2x6x6 weights);
// - pool2 (2x2, stride 1: overlapping windows) into the linear layer, which
//   then reads the [3, 3, 3] spikes through netx's flatten (C order).
// IF neurons: no leak (vDecay 0), no current stage (iDecay 4096).

builtin.module {
  snn.graph attributes {dt = 1.000000e+00 : f64, integrator = "euler", reset = "zero"} {
    %input = snn.input "input" {shape = dense<[1, 6, 6]> : tensor<3xi64>} : tensor<1x6x6xf32>
    %pool1 = snn.layer "if1"(%input : tensor<1x6x6xf32>) : tensor<2x3x3xf32> {
    ^bb0(%input_1: tensor<1x6x6xf32>):
      %conv1 = snn.conv2d "conv1"(%input_1 : tensor<1x6x6xf32>) {weight = dense<[[[[-7.500000e-01, -1.250000e+00, -2.500000e-01], [5.000000e-01, 1.250000e+00, 0.000000e+00], [-5.000000e-01, -7.500000e-01, 7.500000e-01]]], [[[1.750000e+00, 2.500000e-01, -1.250000e+00], [-1.000000e+00, 1.500000e+00, 2.500000e-01], [-1.750000e+00, -0.000000e+00, -1.250000e+00]]]]> : tensor<2x1x3x3xf32>, stride = dense<1> : tensor<2xi64>, padding = dense<1> : tensor<2x2xi64>, dilation = dense<1> : tensor<2xi64>, groups = dense<1> : tensor<i64>} : tensor<2x6x6xf32>
      %if1 = snn.neuron "if1"(%conv1 : tensor<2x6x6xf32>) {alpha_mem = dense<1.000000e+00> : tensor<f64>, v_threshold = dense<1.000000e+00> : tensor<f64>, reset = "zero"} : tensor<2x6x6xf32>
      %pool1_1 = snn.sum_pool2d "pool1"(%if1 : tensor<2x6x6xf32>) {kernel_size = dense<2> : tensor<2xi64>, stride = dense<2> : tensor<2xi64>, padding = dense<0> : tensor<2xi64>} : tensor<2x3x3xf32>
      snn.yield %pool1_1 : tensor<2x3x3xf32>
    }
    %pool2 = snn.layer "if2"(%pool1 : tensor<2x3x3xf32>) : tensor<3x2x2xf32> {
    ^bb0(%pool1_2: tensor<2x3x3xf32>):
      %conv2 = snn.conv2d "conv2"(%pool1_2 : tensor<2x3x3xf32>) {weight = dense<[[[[-7.500000e-01, -5.000000e-01, -7.500000e-01], [5.000000e-01, -0.000000e+00, -5.000000e-01], [5.000000e-01, 7.500000e-01, -1.750000e+00]], [[-2.500000e-01, -1.000000e+00, -2.500000e-01], [-1.250000e+00, 0.000000e+00, -0.000000e+00], [-2.500000e-01, -1.000000e+00, -5.000000e-01]]], [[[-1.000000e+00, -1.250000e+00, 2.500000e-01], [-1.000000e+00, 1.250000e+00, 7.500000e-01], [-2.000000e+00, 2.500000e-01, -1.000000e+00]], [[0.000000e+00, 0.000000e+00, -2.000000e+00], [-2.500000e-01, -2.500000e-01, 1.000000e+00], [-1.250000e+00, 7.500000e-01, -1.000000e+00]]], [[[-2.500000e-01, -7.500000e-01, 1.500000e+00], [5.000000e-01, 2.500000e+00, 7.500000e-01], [7.500000e-01, 7.500000e-01, -5.000000e-01]], [[-0.000000e+00, 1.250000e+00, -5.000000e-01], [2.500000e-01, -0.000000e+00, 5.000000e-01], [-2.500000e-01, -2.500000e-01, 2.500000e-01]]]]> : tensor<3x2x3x3xf32>, stride = dense<1> : tensor<2xi64>, padding = dense<1> : tensor<2x2xi64>, dilation = dense<1> : tensor<2xi64>, groups = dense<1> : tensor<i64>} : tensor<3x3x3xf32>
      %if2 = snn.neuron "if2"(%conv2 : tensor<3x3x3xf32>) {alpha_mem = dense<1.000000e+00> : tensor<f64>, v_threshold = dense<1.500000e+00> : tensor<f64>, reset = "zero"} : tensor<3x3x3xf32>
      %pool2_1 = snn.sum_pool2d "pool2"(%if2 : tensor<3x3x3xf32>) {kernel_size = dense<2> : tensor<2xi64>, stride = dense<1> : tensor<2xi64>, padding = dense<0> : tensor<2xi64>} : tensor<3x2x2xf32>
      snn.yield %pool2_1 : tensor<3x2x2xf32>
    }
    %if3 = snn.layer "if3"(%pool2 : tensor<3x2x2xf32>) : tensor<2xf32> {
    ^bb0(%pool2_2: tensor<3x2x2xf32>):
      %fc = snn.dense "fc"(%pool2_2 : tensor<3x2x2xf32>) {weight = dense<[[[[0.000000e+00, -7.500000e-01], [1.000000e+00, -1.250000e+00]], [[-1.250000e+00, -1.250000e+00], [1.000000e+00, -2.500000e-01]], [[-1.000000e+00, -1.250000e+00], [5.000000e-01, -1.000000e+00]]], [[[-1.250000e+00, 5.000000e-01], [-1.250000e+00, -2.500000e-01]], [[-0.000000e+00, -5.000000e-01], [-0.000000e+00, 1.250000e+00]], [[-5.000000e-01, -1.250000e+00], [-1.750000e+00, -2.500000e-01]]]]> : tensor<2x3x2x2xf32>, in_rank = 3 : i64} : tensor<2xf32>
      %if3_1 = snn.neuron "if3"(%fc : tensor<2xf32>) {alpha_mem = dense<1.000000e+00> : tensor<f64>, v_threshold = dense<1.000000e+00> : tensor<f64>, reset = "zero"} : tensor<2xf32>
      snn.yield %if3_1 : tensor<2xf32>
    }
    snn.output "output"(%if3 : tensor<2xf32>)
  }
}

// CHECK:      loihi2.network attributes {dt = 1.000000e+00 : f64, latency = 3 : i64, input_bits = 0 : i64,
// CHECK:        %if1 = loihi2.layer "if1"(%input : tensor<1x6x6xi32>) {kind = "conv",
// CHECK-SAME:     : tensor<2x1x3x3xi16>, weight_exp = 0 : i64, num_weight_bits = 8 : i64,
// CHECK-SAME:     i_decay = dense<4096> : tensor<i64>, v_decay = dense<0> : tensor<i64>,
// CHECK-SAME:     sources = ["conv1", "if1", "pool1"], stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<2x6x6xi32>
// CHECK-NEXT:   %if2 = loihi2.layer "if2"(%if1 : tensor<2x6x6xi32>) {kind = "conv",
// CHECK-SAME:     : tensor<3x2x6x6xi16>
// CHECK-SAME:     sources = ["pool1", "conv2", "if2", "pool2"], stride = array<i64: 2, 2>, padding = array<i64: 2, 2>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<3x3x3xi32>
// CHECK-NEXT:   %if3 = loihi2.layer "if3"(%if2 : tensor<3x3x3xi32>) {kind = "dense",
// CHECK-SAME:     : tensor<2x27xi16>
// CHECK-SAME:     sources = ["pool2", "fc", "if3"], flatten = true} : tensor<2xi32>
// CHECK-NEXT:   loihi2.output "output"(%if3 : tensor<2xi32>) {shape = array<i64: 2>}
