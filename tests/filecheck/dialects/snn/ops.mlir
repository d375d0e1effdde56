// RUN: nirc opt %s | filecheck %s
// RUN: nirc opt %s | %roundtrip | filecheck %s
// RUN: nirc opt %s --print-generic | filecheck %s --check-prefix=GENERIC
// RUN: xdsl-opt %s | filecheck %s
// RUN: xdsl-opt %s --print-op-generic | xdsl-opt | filecheck %s

// Every op of the `snn` dialect, float and quantized, in custom syntax; the
// text round-trips through the generic form. The recurrent edge goes through
// a one-step delay, so the graph region may use %rec_d before defining it.

builtin.module {
  snn.graph attributes {dt = 1.0e-04 : f64, integrator = "euler", reset = "zero", metadata = {source = "test"}} {
    %in = snn.input "input" {shape = dense<[2, 6, 6]> : tensor<3xi64>} : tensor<2x6x6xf32>
    %c = snn.conv2d "conv"(%in : tensor<2x6x6xf32>) {weight = dense<0.5> : tensor<4x2x3x3xf32>, bias = dense<0.0> : tensor<4xf32>, stride = dense<1> : tensor<2xi64>, padding = dense<[[1, 1], [0, 1]]> : tensor<2x2xi64>, dilation = dense<1> : tensor<2xi64>, groups = dense<1> : tensor<i64>} : tensor<4x6x5xf32>
    %n = snn.neuron "if"(%c : tensor<4x6x5xf32>) {alpha_mem = dense<1.0> : tensor<f64>, v_threshold = dense<1.0> : tensor<f64>, reset = "subtract", compare = "ge", spikes = "multi"} : tensor<4x6x5xf32>
    %p = snn.sum_pool2d "pool"(%n : tensor<4x6x5xf32>) {kernel_size = dense<2> : tensor<2xi64>, stride = dense<2> : tensor<2xi64>, padding = dense<0> : tensor<2xi64>, divisor = 4 : i64} : tensor<4x3x2xf32>
    %r = snn.reshape "flat"(%p : tensor<4x3x2xf32>) : tensor<24xf32>
    %s = snn.scale "gain"(%r : tensor<24xf32>) {scale = dense<2.0> : tensor<24xf32>} : tensor<24xf32>
    %fc = snn.dense "fc"(%s : tensor<24xf32>) {weight = dense<0.25> : tensor<3x24xf32>, bias = dense<[0.0, 0.5, -0.5]> : tensor<3xf32>} : tensor<3xf32>
    %lif = snn.neuron "lif"(%fc, %rec_d : tensor<3xf32>, tensor<3xf32>) {alpha_mem = dense<0.9> : tensor<f64>, gain_mem = dense<[0.1, 0.1, 0.2]> : tensor<3xf64>, bias_mem = dense<0.01> : tensor<f64>, alpha_syn = dense<0.8> : tensor<f64>, gain_syn = dense<0.2> : tensor<f64>, v_threshold = dense<1.0> : tensor<f64>, v_reset = dense<-0.1> : tensor<f64>, reset = "zero_refractory", current_order = "same", v_init = dense<0.5> : tensor<f64>} : tensor<3xf32>
    %rec = snn.dense "rec"(%lif : tensor<3xf32>) {weight = dense<0.1> : tensor<3x3xf32>} : tensor<3xf32>
    %rec_d = snn.delay "rec.delay"(%rec : tensor<3xf32>) {steps = dense<1> : tensor<i64>} : tensor<3xf32>
    %layer = snn.layer "qlayer"(%lif : tensor<3xf32>) : tensor<2xf32> {
    ^bb0(%x : tensor<3xf32>):
      %w = snn.dense "qfc"(%x : tensor<3xf32>) {weight = dense<[[12, -7, 127], [-128, 3, 0]]> : tensor<2x3xi8>, bias = dense<[5, -5]> : tensor<2xi32>, shift = 3 : i64, scale = dense<[812.5, 900.0]> : tensor<2xf64>} : tensor<2xf32>
      %q = snn.neuron "qlif"(%w : tensor<2xf32>) {alpha_mem = dense<58982> : tensor<i64>, v_threshold = dense<8192> : tensor<i32>, reset = "subtract", scale = dense<8192.0> : tensor<f64>, frac_bits = 16 : i64, state_bits = 16 : i64} : tensor<2xf32>
      snn.yield %q : tensor<2xf32>
    }
    %li = snn.neuron "readout"(%layer : tensor<2xf32>) {alpha_mem = dense<0.5> : tensor<f64>} : tensor<2xf32>
    snn.output "output"(%li : tensor<2xf32>)
    snn.output "spikes"(%lif : tensor<3xf32>)
  }
}

// CHECK:      snn.graph attributes {dt = 1.000000e-04 : f64, integrator = "euler", reset = "zero", metadata = {source = "test"}} {
// CHECK-NEXT:   %in = snn.input "input" {shape = dense<[2, 6, 6]> : tensor<3xi64>} : tensor<2x6x6xf32>
// CHECK-NEXT:   %c = snn.conv2d "conv"(%in : tensor<2x6x6xf32>) {weight = dense<5.000000e-01> : tensor<4x2x3x3xf32>, bias = dense<0.000000e+00> : tensor<4xf32>, stride = dense<1> : tensor<2xi64>, padding = dense<{{\[\[}}1, 1], [0, 1]]> : tensor<2x2xi64>, dilation = dense<1> : tensor<2xi64>, groups = dense<1> : tensor<i64>} : tensor<4x6x5xf32>
// CHECK-NEXT:   %n = snn.neuron "if"(%c : tensor<4x6x5xf32>) {alpha_mem = dense<1.000000e+00> : tensor<f64>, v_threshold = dense<1.000000e+00> : tensor<f64>, reset = "subtract", compare = "ge", spikes = "multi"} : tensor<4x6x5xf32>
// CHECK-NEXT:   %p = snn.sum_pool2d "pool"(%n : tensor<4x6x5xf32>) {kernel_size = dense<2> : tensor<2xi64>, stride = dense<2> : tensor<2xi64>, padding = dense<0> : tensor<2xi64>, divisor = 4 : i64} : tensor<4x3x2xf32>
// CHECK-NEXT:   %r = snn.reshape "flat"(%p : tensor<4x3x2xf32>) : tensor<24xf32>
// CHECK-NEXT:   %s = snn.scale "gain"(%r : tensor<24xf32>) {scale = dense<2.000000e+00> : tensor<24xf32>} : tensor<24xf32>
// CHECK-NEXT:   %fc = snn.dense "fc"(%s : tensor<24xf32>)
// CHECK-NEXT:   %lif = snn.neuron "lif"(%fc, %rec_d : tensor<3xf32>, tensor<3xf32>) {{{.*}}reset = "zero_refractory", current_order = "same"{{.*}}} : tensor<3xf32>
// CHECK-NEXT:   %rec = snn.dense "rec"(%lif : tensor<3xf32>)
// CHECK-NEXT:   %rec_d = snn.delay "rec.delay"(%rec : tensor<3xf32>) {steps = dense<1> : tensor<i64>} : tensor<3xf32>
// CHECK-NEXT:   %layer = snn.layer "qlayer"(%lif : tensor<3xf32>) : tensor<2xf32> {
// CHECK-NEXT:   ^bb0(%x: tensor<3xf32>):
// CHECK-NEXT:     %w = snn.dense "qfc"(%x : tensor<3xf32>) {weight = dense<{{\[\[}}12, -7, 127], [-128, 3, 0]]> : tensor<2x3xi8>, bias = dense<[5, -5]> : tensor<2xi32>, shift = 3 : i64, scale = dense<[8.125000e+02, 9.000000e+02]> : tensor<2xf64>} : tensor<2xf32>
// CHECK-NEXT:     %q = snn.neuron "qlif"(%w : tensor<2xf32>) {alpha_mem = dense<58982> : tensor<i64>, v_threshold = dense<8192> : tensor<i32>, reset = "subtract", scale = dense<8.192000e+03> : tensor<f64>, frac_bits = 16 : i64, state_bits = 16 : i64} : tensor<2xf32>
// CHECK-NEXT:     snn.yield %q : tensor<2xf32>
// CHECK-NEXT:   }
// CHECK-NEXT:   %li = snn.neuron "readout"(%layer : tensor<2xf32>) {alpha_mem = dense<5.000000e-01> : tensor<f64>} : tensor<2xf32>
// CHECK-NEXT:   snn.output "output"(%li : tensor<2xf32>)
// CHECK-NEXT:   snn.output "spikes"(%lif : tensor<3xf32>)
// CHECK-NEXT: }

// GENERIC: "snn.graph"() <{dt = 1.000000e-04 : f64
// GENERIC: "snn.layer"(%lif) <{name = "qlayer"}> ({
// GENERIC: "snn.yield"(%{{.*}}) : (tensor<2xf32>) -> ()
