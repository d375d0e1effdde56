// RUN: nirc opt %s --verify-diagnostics --split-input-file | filecheck %s

// Every structural rule of a Speck core, and the routing between cores.
// A non-square kernel.
builtin.module {
  speck.chip attributes {dt = 1.000000e+00 : f64, spike_mode = "single"} {
    %input = speck.input "input" {shape = array<i64: 1, 6, 6>} : tensor<1x6x6xi32>
    %c = speck.core "a"(%input : tensor<1x6x6xi32>) {core = 0 : i64, input_shape = array<i64: 1, 6, 6>, weights = dense<1> : tensor<2x1x3x2xi8>, biases = dense<0> : tensor<2xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -32768 : i64, return_to_zero = true, leak_enable = false, monitor_enable = true, destinations = array<i64>, pooling = array<i64>} : tensor<2x6x7xi32>
  }
}

// CHECK: speck.core "a": Speck kernels must be square (expected kx == ky; found 3x2 kernel)

// -----

// A kernel above 16.
builtin.module {
  speck.chip attributes {dt = 1.000000e+00 : f64, spike_mode = "single"} {
    %input = speck.input "input" {shape = array<i64: 1, 20, 20>} : tensor<1x20x20xi32>
    %c = speck.core "a"(%input : tensor<1x20x20xi32>) {core = 0 : i64, input_shape = array<i64: 1, 20, 20>, weights = dense<1> : tensor<2x1x17x17xi8>, biases = dense<0> : tensor<2xi8>, stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, threshold_high = 10 : i64, threshold_low = -32768 : i64, return_to_zero = true, leak_enable = false, monitor_enable = true, destinations = array<i64>, pooling = array<i64>} : tensor<2x4x4xi32>
  }
}

// CHECK: speck.core "a": kernel size out of range (expected 1..16; found 17x17)

// -----

// Stride 3.
builtin.module {
  speck.chip attributes {dt = 1.000000e+00 : f64, spike_mode = "single"} {
    %input = speck.input "input" {shape = array<i64: 1, 6, 6>} : tensor<1x6x6xi32>
    %c = speck.core "a"(%input : tensor<1x6x6xi32>) {core = 0 : i64, input_shape = array<i64: 1, 6, 6>, weights = dense<1> : tensor<2x1x3x3xi8>, biases = dense<0> : tensor<2xi8>, stride = array<i64: 3, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -32768 : i64, return_to_zero = true, leak_enable = false, monitor_enable = true, destinations = array<i64>, pooling = array<i64>} : tensor<2x6x2xi32>
  }
}

// CHECK: speck.core "a": stride x not supported (expected one of {1, 2, 4, 8}; found 3)

// -----

// Padding 8.
builtin.module {
  speck.chip attributes {dt = 1.000000e+00 : f64, spike_mode = "single"} {
    %input = speck.input "input" {shape = array<i64: 1, 6, 6>} : tensor<1x6x6xi32>
    %c = speck.core "a"(%input : tensor<1x6x6xi32>) {core = 0 : i64, input_shape = array<i64: 1, 6, 6>, weights = dense<1> : tensor<2x1x3x3xi8>, biases = dense<0> : tensor<2xi8>, stride = array<i64: 1, 1>, padding = array<i64: 8, 1>, threshold_high = 10 : i64, threshold_low = -32768 : i64, return_to_zero = true, leak_enable = false, monitor_enable = true, destinations = array<i64>, pooling = array<i64>} : tensor<2x6x20xi32>
  }
}

// CHECK: speck.core "a": padding x out of range (expected 0..7; found 8)

// -----

// More than 1024 channels.
builtin.module {
  speck.chip attributes {dt = 1.000000e+00 : f64, spike_mode = "single"} {
    %input = speck.input "input" {shape = array<i64: 1, 6, 6>} : tensor<1x6x6xi32>
    %c = speck.core "a"(%input : tensor<1x6x6xi32>) {core = 0 : i64, input_shape = array<i64: 1, 6, 6>, weights = dense<1> : tensor<1025x1x3x3xi8>, biases = dense<0> : tensor<1025xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -32768 : i64, return_to_zero = true, leak_enable = false, monitor_enable = true, destinations = array<i64>, pooling = array<i64>} : tensor<1025x6x6xi32>
  }
}

// CHECK: speck.core "a": too many output features (expected at most 1024; found 1025)

// -----

// An input above 128x128.
builtin.module {
  speck.chip attributes {dt = 1.000000e+00 : f64, spike_mode = "single"} {
    %input = speck.input "input" {shape = array<i64: 1, 6, 130>} : tensor<1x6x130xi32>
    %c = speck.core "a"(%input : tensor<1x6x130xi32>) {core = 0 : i64, input_shape = array<i64: 1, 6, 130>, weights = dense<1> : tensor<2x1x3x3xi8>, biases = dense<0> : tensor<2xi8>, stride = array<i64: 2, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -32768 : i64, return_to_zero = true, leak_enable = false, monitor_enable = true, destinations = array<i64>, pooling = array<i64>} : tensor<2x6x65xi32>
  }
}

// CHECK: speck.core "a": input feature map too large (expected at most 128x128; found 6x130 (h x w))

// -----

// An output above 64x64.
builtin.module {
  speck.chip attributes {dt = 1.000000e+00 : f64, spike_mode = "single"} {
    %input = speck.input "input" {shape = array<i64: 1, 6, 70>} : tensor<1x6x70xi32>
    %c = speck.core "a"(%input : tensor<1x6x70xi32>) {core = 0 : i64, input_shape = array<i64: 1, 6, 70>, weights = dense<1> : tensor<2x1x3x3xi8>, biases = dense<0> : tensor<2xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -32768 : i64, return_to_zero = true, leak_enable = false, monitor_enable = true, destinations = array<i64>, pooling = array<i64>} : tensor<2x6x70xi32>
  }
}

// CHECK: speck.core "a": output feature map too large (expected at most 64x64; found 6x70 (h x w))

// -----

// Weights beyond int8.
builtin.module {
  speck.chip attributes {dt = 1.000000e+00 : f64, spike_mode = "single"} {
    %input = speck.input "input" {shape = array<i64: 1, 6, 6>} : tensor<1x6x6xi32>
    %c = speck.core "a"(%input : tensor<1x6x6xi32>) {core = 0 : i64, input_shape = array<i64: 1, 6, 6>, weights = dense<200> : tensor<2x1x3x3xi16>, biases = dense<0> : tensor<2xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -32768 : i64, return_to_zero = true, leak_enable = false, monitor_enable = true, destinations = array<i64>, pooling = array<i64>} : tensor<2x6x6xi32>
  }
}

// CHECK: speck.core "a": weights must be int8 (expected integers in -128..127; found values from 200 to 200)

// -----

// A threshold beyond int16.
builtin.module {
  speck.chip attributes {dt = 1.000000e+00 : f64, spike_mode = "single"} {
    %input = speck.input "input" {shape = array<i64: 1, 6, 6>} : tensor<1x6x6xi32>
    %c = speck.core "a"(%input : tensor<1x6x6xi32>) {core = 0 : i64, input_shape = array<i64: 1, 6, 6>, weights = dense<1> : tensor<2x1x3x3xi8>, biases = dense<0> : tensor<2xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 40000 : i64, threshold_low = -32768 : i64, return_to_zero = true, leak_enable = false, monitor_enable = true, destinations = array<i64>, pooling = array<i64>} : tensor<2x6x6xi32>
  }
}

// CHECK: speck.core "a": threshold_high must be int16 (expected -32768..32767; found 40000)

// -----

// threshold_low = 0, a known chip bug.
builtin.module {
  speck.chip attributes {dt = 1.000000e+00 : f64, spike_mode = "single"} {
    %input = speck.input "input" {shape = array<i64: 1, 6, 6>} : tensor<1x6x6xi32>
    %c = speck.core "a"(%input : tensor<1x6x6xi32>) {core = 0 : i64, input_shape = array<i64: 1, 6, 6>, weights = dense<1> : tensor<2x1x3x3xi8>, biases = dense<0> : tensor<2xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = 0 : i64, return_to_zero = true, leak_enable = false, monitor_enable = true, destinations = array<i64>, pooling = array<i64>} : tensor<2x6x6xi32>
  }
}

// CHECK: speck.core "a": threshold_low = 0 does not work on current Speck chips (known hardware bug)

// -----

// Core 9 does not exist.
builtin.module {
  speck.chip attributes {dt = 1.000000e+00 : f64, spike_mode = "single"} {
    %input = speck.input "input" {shape = array<i64: 1, 6, 6>} : tensor<1x6x6xi32>
    %c = speck.core "a"(%input : tensor<1x6x6xi32>) {core = 9 : i64, input_shape = array<i64: 1, 6, 6>, weights = dense<1> : tensor<2x1x3x3xi8>, biases = dense<0> : tensor<2xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -32768 : i64, return_to_zero = true, leak_enable = false, monitor_enable = true, destinations = array<i64>, pooling = array<i64>} : tensor<2x6x6xi32>
  }
}

// CHECK: speck.core "a": core 9 does not exist: Speck has cores 0..8

// -----

// Pooling 3.
builtin.module {
  speck.chip attributes {dt = 1.000000e+00 : f64, spike_mode = "single"} {
    %input = speck.input "input" {shape = array<i64: 1, 6, 6>} : tensor<1x6x6xi32>
    %c = speck.core "a"(%input : tensor<1x6x6xi32>) {core = 0 : i64, input_shape = array<i64: 1, 6, 6>, weights = dense<1> : tensor<2x1x3x3xi8>, biases = dense<0> : tensor<2xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -32768 : i64, return_to_zero = true, leak_enable = false, monitor_enable = false, destinations = array<i64: 1>, pooling = array<i64: 3>} : tensor<2x6x6xi32>
    %d = speck.core "b"(%c : tensor<2x6x6xi32>) {core = 1 : i64, input_shape = array<i64: 2, 2, 2>, weights = dense<1> : tensor<2x2x3x3xi8>, biases = dense<0> : tensor<2xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -32768 : i64, return_to_zero = true, leak_enable = false, monitor_enable = true, destinations = array<i64>, pooling = array<i64>} : tensor<2x2x2xi32>
  }
}

// CHECK: speck.core "a": pooling towards layer 1 not supported (expected one of {1, 2, 4} (stride = kernel); found 3)

// -----

// Three destinations.
builtin.module {
  speck.chip attributes {dt = 1.000000e+00 : f64, spike_mode = "single"} {
    %input = speck.input "input" {shape = array<i64: 1, 6, 6>} : tensor<1x6x6xi32>
    %c = speck.core "a"(%input : tensor<1x6x6xi32>) {core = 0 : i64, input_shape = array<i64: 1, 6, 6>, weights = dense<1> : tensor<2x1x3x3xi8>, biases = dense<0> : tensor<2xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -32768 : i64, return_to_zero = true, leak_enable = false, monitor_enable = true, destinations = array<i64: 1, 2, 3>, pooling = array<i64: 1, 1, 1>} : tensor<2x6x6xi32>
  }
}

// CHECK: speck.core "a": too many destinations (expected at most 2; found 3)

// -----

// A destination that does not read the core.
builtin.module {
  speck.chip attributes {dt = 1.000000e+00 : f64, spike_mode = "single"} {
    %input = speck.input "input" {shape = array<i64: 1, 6, 6>} : tensor<1x6x6xi32>
    %c = speck.core "a"(%input : tensor<1x6x6xi32>) {core = 0 : i64, input_shape = array<i64: 1, 6, 6>, weights = dense<1> : tensor<2x1x3x3xi8>, biases = dense<0> : tensor<2xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -32768 : i64, return_to_zero = true, leak_enable = false, monitor_enable = false, destinations = array<i64: 1>, pooling = array<i64: 1>} : tensor<2x6x6xi32>
    %d = speck.core "b"(%input : tensor<1x6x6xi32>) {core = 1 : i64, input_shape = array<i64: 1, 6, 6>, weights = dense<1> : tensor<2x1x3x3xi8>, biases = dense<0> : tensor<2xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -32768 : i64, return_to_zero = true, leak_enable = false, monitor_enable = true, destinations = array<i64>, pooling = array<i64>} : tensor<2x6x6xi32>
  }
}

// CHECK: speck.core "a": lists core 1 (speck.core "b") as a destination, but that core does not read this core's spikes

// -----

// Routing without a destination.
builtin.module {
  speck.chip attributes {dt = 1.000000e+00 : f64, spike_mode = "single"} {
    %input = speck.input "input" {shape = array<i64: 1, 6, 6>} : tensor<1x6x6xi32>
    %c = speck.core "a"(%input : tensor<1x6x6xi32>) {core = 0 : i64, input_shape = array<i64: 1, 6, 6>, weights = dense<1> : tensor<2x1x3x3xi8>, biases = dense<0> : tensor<2xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -32768 : i64, return_to_zero = true, leak_enable = false, monitor_enable = false, destinations = array<i64>, pooling = array<i64>} : tensor<2x6x6xi32>
    %d = speck.core "b"(%c : tensor<2x6x6xi32>) {core = 1 : i64, input_shape = array<i64: 2, 6, 6>, weights = dense<1> : tensor<2x2x3x3xi8>, biases = dense<0> : tensor<2xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -32768 : i64, return_to_zero = true, leak_enable = false, monitor_enable = true, destinations = array<i64>, pooling = array<i64>} : tensor<2x6x6xi32>
  }
}

// CHECK: speck.core "b": reads the spikes of speck.core "a", which does not list core 1 among its destinations

// -----

// Pooled spikes of the wrong shape.
builtin.module {
  speck.chip attributes {dt = 1.000000e+00 : f64, spike_mode = "single"} {
    %input = speck.input "input" {shape = array<i64: 1, 6, 6>} : tensor<1x6x6xi32>
    %c = speck.core "a"(%input : tensor<1x6x6xi32>) {core = 0 : i64, input_shape = array<i64: 1, 6, 6>, weights = dense<1> : tensor<2x1x3x3xi8>, biases = dense<0> : tensor<2xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -32768 : i64, return_to_zero = true, leak_enable = false, monitor_enable = false, destinations = array<i64: 1>, pooling = array<i64: 2>} : tensor<2x6x6xi32>
    %d = speck.core "b"(%c : tensor<2x6x6xi32>) {core = 1 : i64, input_shape = array<i64: 2, 6, 6>, weights = dense<1> : tensor<2x2x3x3xi8>, biases = dense<0> : tensor<2xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -32768 : i64, return_to_zero = true, leak_enable = false, monitor_enable = true, destinations = array<i64>, pooling = array<i64>} : tensor<2x6x6xi32>
  }
}

// CHECK: speck.core "a": sends [2, 3, 3] (its neurons [2, 6, 6] pooled by 2) to core 1, whose input_shape is [2, 6, 6]

// -----

// Two layers on one core.
builtin.module {
  speck.chip attributes {dt = 1.000000e+00 : f64, spike_mode = "single"} {
    %input = speck.input "input" {shape = array<i64: 1, 6, 6>} : tensor<1x6x6xi32>
    %c = speck.core "a"(%input : tensor<1x6x6xi32>) {core = 0 : i64, input_shape = array<i64: 1, 6, 6>, weights = dense<1> : tensor<2x1x3x3xi8>, biases = dense<0> : tensor<2xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -32768 : i64, return_to_zero = true, leak_enable = false, monitor_enable = true, destinations = array<i64>, pooling = array<i64>} : tensor<2x6x6xi32>
    %d = speck.core "b"(%input : tensor<1x6x6xi32>) {core = 0 : i64, input_shape = array<i64: 1, 6, 6>, weights = dense<1> : tensor<2x1x3x3xi8>, biases = dense<0> : tensor<2xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -32768 : i64, return_to_zero = true, leak_enable = false, monitor_enable = true, destinations = array<i64>, pooling = array<i64>} : tensor<2x6x6xi32>
  }
}

// CHECK: speck.core "b": core 0 is already used by speck.core "a"

// -----

// A result type that is not what the core computes.
builtin.module {
  speck.chip attributes {dt = 1.000000e+00 : f64, spike_mode = "single"} {
    %input = speck.input "input" {shape = array<i64: 1, 6, 6>} : tensor<1x6x6xi32>
    %c = speck.core "a"(%input : tensor<1x6x6xi32>) {core = 0 : i64, input_shape = array<i64: 1, 6, 6>, weights = dense<1> : tensor<2x1x3x3xi8>, biases = dense<0> : tensor<2xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -32768 : i64, return_to_zero = true, leak_enable = false, monitor_enable = true, destinations = array<i64>, pooling = array<i64>} : tensor<2x5x5xi32>
  }
}

// CHECK: speck.core "a": the result has shape [2, 5, 5]; the core computes [2, 6, 6] (features, height, width)

// -----

// An output of a core that is not monitored.
builtin.module {
  speck.chip attributes {dt = 1.000000e+00 : f64, spike_mode = "single"} {
    %input = speck.input "input" {shape = array<i64: 1, 6, 6>} : tensor<1x6x6xi32>
    %c = speck.core "a"(%input : tensor<1x6x6xi32>) {core = 0 : i64, input_shape = array<i64: 1, 6, 6>, weights = dense<1> : tensor<2x1x3x3xi8>, biases = dense<0> : tensor<2xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -32768 : i64, return_to_zero = true, leak_enable = false, monitor_enable = false, destinations = array<i64>, pooling = array<i64>} : tensor<2x6x6xi32>
    speck.output "output"(%c : tensor<2x6x6xi32>) {shape = array<i64: 72>}
  }
}

// CHECK: speck.output "output": reads speck.core "a", whose monitor_enable is off

// -----

// An unknown spike mode.
builtin.module {
  speck.chip attributes {dt = 1.000000e+00 : f64, spike_mode = "double"} {
    %input = speck.input "input" {shape = array<i64: 1, 6, 6>} : tensor<1x6x6xi32>
  }
}

// CHECK: speck.chip: spike_mode must be one of single, multi, found 'double'
