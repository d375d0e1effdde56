// RUN: nirc opt %s -p 'lower-loihi2{partition=index}' | filecheck %s
// RUN: nirc opt %s -p 'lower-loihi2{partition=index}' | %roundtrip | filecheck %s

// Two dense layers, as `fuse` leaves them: a LIF (alpha_mem 0.75: vDecay 1024;
// no current stage: iDecay 4096, the current is the step's input) and a CubaLI
// readout (alpha_syn 0.5: iDecay 2048; alpha_mem 0.875: vDecay 512). The
// weights fill the 8-bit mantissa (max-abs scale 254 / max|w| = 254, so the
// LIF's threshold 1.0 becomes vThMant 254). The readout never spikes: the largest
// threshold mantissa, its voltage is the output. NIR's CubaLI reads the
// previous step's current, which lava's neuron does with its input one step
// later: a netx delay of 1 on every synapse. One step of latency per layer.

builtin.module {
  snn.graph attributes {dt = 1.000000e-03 : f64, integrator = "euler", reset = "zero"} {
    %input = snn.input "input" {shape = dense<4> : tensor<1xi64>} : tensor<4xf32>
    %lif1 = snn.layer "lif1"(%input : tensor<4xf32>) : tensor<3xf32> {
    ^bb0(%x: tensor<4xf32>):
      %fc1 = snn.dense "fc1"(%x : tensor<4xf32>) {weight = dense<[[5.000000e-01, -2.500000e-01, 1.000000e+00, 0.000000e+00], [2.500000e-01, 7.500000e-01, -5.000000e-01, 1.000000e+00], [1.000000e+00, 1.000000e+00, 5.000000e-01, -1.000000e+00]]> : tensor<3x4xf32>} : tensor<3xf32>
      %n1 = snn.neuron "lif1"(%fc1 : tensor<3xf32>) {alpha_mem = dense<7.500000e-01> : tensor<f64>, v_threshold = dense<1.000000e+00> : tensor<f64>, reset = "zero"} : tensor<3xf32>
      snn.yield %n1 : tensor<3xf32>
    }
    %li = snn.layer "li"(%lif1 : tensor<3xf32>) : tensor<2xf32> {
    ^bb0(%s: tensor<3xf32>):
      %fc2 = snn.dense "fc2"(%s : tensor<3xf32>) {weight = dense<[[1.000000e+00, -5.000000e-01, 2.500000e-01], [-2.500000e-01, 5.000000e-01, 1.000000e+00]]> : tensor<2x3xf32>} : tensor<2xf32>
      %n2 = snn.neuron "li"(%fc2 : tensor<2xf32>) {alpha_mem = dense<8.750000e-01> : tensor<f64>, alpha_syn = dense<5.000000e-01> : tensor<f64>} : tensor<2xf32>
      snn.yield %n2 : tensor<2xf32>
    }
    snn.output "output"(%li : tensor<2xf32>)
  }
}

// CHECK:      loihi2.network attributes {dt = 1.000000e-03 : f64, latency = 2 : i64, input_bits = 0 : i64,
// CHECK-SAME:   reset_offset = 1 : i64} {
// CHECK-NEXT:   %input = loihi2.input "input" {shape = array<i64: 4>} : tensor<4xi32>
// CHECK-NEXT:   %lif1 = loihi2.layer "lif1"(%input : tensor<4xi32>) {kind = "dense",
// CHECK-SAME:     weight = dense<{{\[\[}}127, -64, 254, 0], [64, 190, -127, 254], [254, 254, 127, -254]]> : tensor<3x4xi16>, weight_exp = 0 : i64, num_weight_bits = 9 : i64,
// CHECK-SAME:     i_decay = dense<4096> : tensor<i64>, v_decay = dense<1024> : tensor<i64>, v_th = 254 : i64, spiking = true,
// CHECK-SAME:     placement = dense<{{\[\[}}0, 3, 0]]> : tensor<1x3xi64>, sources = ["fc1", "lif1"]} : tensor<3xi32>
// CHECK-NEXT:   %li = loihi2.layer "li"(%lif1 : tensor<3xi32>) {kind = "dense",
// CHECK-SAME:     i_decay = dense<2048> : tensor<i64>, v_decay = dense<512> : tensor<i64>, v_th = 131071 : i64, spiking = false,
// CHECK-SAME:     delay = dense<1> : tensor<2x3xi8>} : tensor<2xi32>
// CHECK-NEXT:   loihi2.output "output"(%li : tensor<2xi32>) {shape = array<i64: 2>}
// CHECK-NEXT: }
