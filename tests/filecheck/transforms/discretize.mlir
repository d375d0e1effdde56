// RUN: nirc opt %s --split-input-file -p 'discretize{dt=1e-3}' | filecheck %s
// RUN: xdsl-opt %s --split-input-file -p 'discretize{dt=1e-3}' | filecheck %s
// RUN: nirc opt %s --split-input-file -p 'discretize{dt=1e-3 integrator=exact reset=subtract}' | filecheck %s --check-prefix=EXACT
// RUN: not nirc opt %s --split-input-file -p 'discretize' 2>&1 | filecheck %s --check-prefix=NODT
// RUN: not nirc opt %s --split-input-file -p 'discretize{dt=1e-3 integrator=rk4}' 2>&1 | filecheck %s --check-prefix=BADOPT
// RUN: not nirc opt %s --split-input-file -p 'discretize{dt=1e-3},discretize{dt=1e-3}' 2>&1 | filecheck %s --check-prefix=TWICE

// A recurrent LIF layer. Euler at dt = 1 ms, tau = 10 ms: alpha = 1 - dt/tau =
// 0.9, gain_mem = dt/tau * r = 0.1 * 2, bias_mem = dt/tau * v_leak. The
// feedback edge rec -> lif gets a one-step delay; lif's operands are the
// same-step inputs first, then the delayed ones (the nir interpreter's sum).
builtin.module {
  nir.graph {
    %in = nir.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %fc = nir.affine "fc"(%in : tensor<2xf32>) {weight = dense<[[1.0, 0.5], [0.25, 2.0]]> : tensor<2x2xf32>, bias = dense<[0.0, 0.5]> : tensor<2xf32>} : tensor<2xf32>
    %lif = nir.lif "lif"(%rec, %fc : tensor<2xf32>, tensor<2xf32>) {tau = dense<1.0e-02> : tensor<2xf64>, r = dense<2.0> : tensor<2xf64>, v_leak = dense<[0.0, 0.5]> : tensor<2xf64>, v_threshold = dense<1.0> : tensor<2xf64>, v_reset = dense<0.0> : tensor<2xf64>} : tensor<2xf32>
    %rec = nir.linear "rec"(%lif : tensor<2xf32>) {weight = dense<[[0.0, -0.5], [0.5, 0.0]]> : tensor<2x2xf32>} : tensor<2xf32>
    nir.output "output"(%lif : tensor<2xf32>) {shape = dense<2> : tensor<1xi64>}
  }
}
// CHECK:      snn.graph attributes {dt = 1.000000e-03 : f64, integrator = "euler", reset = "zero"} {
// CHECK-NEXT:   %input = snn.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
// CHECK-NEXT:   %fc = snn.dense "fc"(%input : tensor<2xf32>) {weight = dense<{{\[\[}}1.000000e+00, 5.000000e-01], [2.500000e-01, 2.000000e+00]]> : tensor<2x2xf32>, bias = dense<[0.000000e+00, 5.000000e-01]> : tensor<2xf32>} : tensor<2xf32>
// CHECK-NEXT:   %lif = snn.neuron "lif"(%fc, %rec.delay : tensor<2xf32>, tensor<2xf32>) {alpha_mem = dense<9.000000e-01> : tensor<f64>, gain_mem = dense<2.000000e-01> : tensor<f64>, bias_mem = dense<[0.000000e+00, 5.000000e-02]> : tensor<2xf64>, v_threshold = dense<1.000000e+00> : tensor<f64>, reset = "zero"} : tensor<2xf32>
// CHECK-NEXT:   %rec = snn.dense "rec"(%lif : tensor<2xf32>)
// CHECK-NEXT:   %rec.delay = snn.delay "rec.delay"(%rec : tensor<2xf32>) {steps = dense<1> : tensor<i64>} : tensor<2xf32>
// CHECK-NEXT:   snn.output "output"(%lif : tensor<2xf32>)
// CHECK-NEXT: }

// exact: alpha = exp(-0.1), gain = 1 - exp(-0.1); the reset option is recorded.
// EXACT:      snn.graph attributes {dt = 1.000000e-03 : f64, integrator = "exact", reset = "subtract"}
// EXACT:      snn.neuron "lif"{{.*}}alpha_mem = dense<0.90483741803595952> : tensor<f64>, gain_mem = dense<0.19032516392808085> : tensor<f64>{{.*}}reset = "subtract"

// Without the option: the first graph's dt is inferred from r == tau/dt (with
// a warning), the second's comes from its metadata, the third has no dt at all.
// NODT:       warning: no dt given: inferred dt = 0.005 s from r == tau/dt in lif
// NODT:       error: discretize: the graph's neurons need a time step, and none is given
// NODT-NEXT:    expected: discretize{dt=SECONDS}, or `dt` in the graph's metadata
// BADOPT:     error: discretize: unknown integrator
// BADOPT-NEXT:  expected: euler or exact
// TWICE:      error: the module is already discretized (it holds an snn.graph)

// -----
// dt from the graph's metadata; the option wins over it (first RUN line).
// CubaLIF: a synaptic stage with alpha_syn = 1 - dt/tau_syn and gain_syn =
// dt/tau_syn * w_in; I and IF integrate with gain dt * r; Threshold is a
// memoryless neuron; Delay rounds to steps; AvgPool is a sum-pool with a
// divisor; Flatten is a reshape; 'same' padding becomes explicit pads.
builtin.module {
  nir.graph attributes {metadata = {dt = dense<5.0e-04> : tensor<f64>}} {
    %in = nir.input "input" {shape = dense<[1, 4, 4]> : tensor<3xi64>} : tensor<1x4x4xf32>
    %conv = nir.conv2d "conv"(%in : tensor<1x4x4xf32>) {weight = dense<1.0> : tensor<2x1x2x2xf32>, stride = dense<1> : tensor<2xi64>, padding = "same", dilation = dense<1> : tensor<2xi64>, groups = dense<1> : tensor<i64>, bias = dense<0.0> : tensor<2xf32>} : tensor<2x4x4xf32>
    %pool = nir.avg_pool2d "pool"(%conv : tensor<2x4x4xf32>) {kernel_size = dense<2> : tensor<2xi64>, stride = dense<2> : tensor<2xi64>, padding = dense<0> : tensor<2xi64>} : tensor<2x2x2xf32>
    %flat = nir.flatten "flat"(%pool : tensor<2x2x2xf32>) {start_dim = dense<0> : tensor<i64>, end_dim = dense<-1> : tensor<i64>} : tensor<8xf32>
    %cuba = nir.cuba_lif "cuba"(%flat : tensor<8xf32>) {tau_syn = dense<5.0e-03> : tensor<8xf64>, tau_mem = dense<1.0e-02> : tensor<8xf64>, r = dense<1.0> : tensor<8xf64>, v_leak = dense<0.0> : tensor<8xf64>, v_threshold = dense<1.0> : tensor<8xf64>, v_reset = dense<0.0> : tensor<8xf64>, w_in = dense<2.0> : tensor<8xf64>} : tensor<8xf32>
    %i = nir.i "integ"(%cuba : tensor<8xf32>) {r = dense<100.0> : tensor<8xf64>} : tensor<8xf32>
    %if = nir.if "if"(%i : tensor<8xf32>) {r = dense<1.0> : tensor<8xf64>, v_threshold = dense<1.0> : tensor<8xf64>} : tensor<8xf32>
    %thr = nir.threshold "thr"(%if : tensor<8xf32>) {threshold = dense<0.5> : tensor<8xf64>} : tensor<8xf32>
    %d = nir.delay "d"(%thr : tensor<8xf32>) {delay = dense<[0.0, 1.0e-03, 1.4e-03, 1.6e-03, 0.0, 0.0, 0.0, 0.0]> : tensor<8xf64>} : tensor<8xf32>
    nir.output "output"(%d : tensor<8xf32>) {shape = dense<8> : tensor<1xi64>}
  }
}
// CHECK:      snn.graph attributes {dt = 1.000000e-03 : f64, integrator = "euler", reset = "zero", metadata = {dt = dense<5.000000e-04> : tensor<f64>}} {
// CHECK-NEXT:   %input = snn.input "input"
// CHECK-NEXT:   %conv = snn.conv2d "conv"(%input : tensor<1x4x4xf32>) {weight = dense<1.000000e+00> : tensor<2x1x2x2xf32>, bias = dense<0.000000e+00> : tensor<2xf32>, stride = dense<1> : tensor<2xi64>, padding = dense<{{\[\[}}0, 1], [0, 1]]> : tensor<2x2xi64>, dilation = dense<1> : tensor<2xi64>, groups = dense<1> : tensor<i64>} : tensor<2x4x4xf32>
// CHECK-NEXT:   %pool = snn.sum_pool2d "pool"(%conv : tensor<2x4x4xf32>) {kernel_size = dense<2> : tensor<2xi64>, stride = dense<2> : tensor<2xi64>, padding = dense<0> : tensor<2xi64>, divisor = 4 : i64} : tensor<2x2x2xf32>
// CHECK-NEXT:   %flat = snn.reshape "flat"(%pool : tensor<2x2x2xf32>) : tensor<8xf32>
// CHECK-NEXT:   %cuba = snn.neuron "cuba"(%flat : tensor<8xf32>) {alpha_mem = dense<9.000000e-01> : tensor<f64>, gain_mem = dense<1.000000e-01> : tensor<f64>, alpha_syn = dense<8.000000e-01> : tensor<f64>, gain_syn = dense<4.000000e-01> : tensor<f64>, v_threshold = dense<1.000000e+00> : tensor<f64>, reset = "zero"} : tensor<8xf32>
// CHECK-NEXT:   %integ = snn.neuron "integ"(%cuba : tensor<8xf32>) {alpha_mem = dense<1.000000e+00> : tensor<f64>, gain_mem = dense<1.000000e-01> : tensor<f64>} : tensor<8xf32>
// CHECK-NEXT:   %if = snn.neuron "if"(%integ : tensor<8xf32>) {alpha_mem = dense<1.000000e+00> : tensor<f64>, gain_mem = dense<1.000000e-03> : tensor<f64>, v_threshold = dense<1.000000e+00> : tensor<f64>, reset = "zero"} : tensor<8xf32>
// CHECK-NEXT:   %thr = snn.neuron "thr"(%if : tensor<8xf32>) {alpha_mem = dense<0.000000e+00> : tensor<f64>, v_threshold = dense<5.000000e-01> : tensor<f64>, reset = "zero"} : tensor<8xf32>
// CHECK-NEXT:   %d = snn.delay "d"(%thr : tensor<8xf32>) {steps = dense<[0, 1, 1, 2, 0, 0, 0, 0]> : tensor<8xi64>} : tensor<8xf32>
// CHECK-NEXT:   snn.output "output"(%d : tensor<8xf32>)

// -----
// Nothing to infer dt from (r = 1).
builtin.module {
  nir.graph {
    %in = nir.input "input" {shape = dense<1> : tensor<1xi64>} : tensor<1xf32>
    %if = nir.if "if"(%in : tensor<1xf32>) {r = dense<1.0> : tensor<1xf64>, v_threshold = dense<1.0> : tensor<1xf64>} : tensor<1xf32>
    nir.output "output"(%if : tensor<1xf32>) {shape = dense<1> : tensor<1xi64>}
  }
}
// CHECK:      %if = snn.neuron "if"(%input : tensor<1xf32>) {alpha_mem = dense<1.000000e+00> : tensor<f64>, gain_mem = dense<1.000000e-03> : tensor<f64>, v_threshold = dense<1.000000e+00> : tensor<f64>, reset = "zero"} : tensor<1xf32>
