// RUN: nirc opt %s -p 'quantize{calib_steps=60 calib_batch=2 report=false}' | filecheck %s
// RUN: nirc opt %s -p 'quantize{calib_steps=60,calib_batch=2,method=maxabs}' 2>&1 >/dev/null | filecheck %s --check-prefix=MAXABS
// RUN: nirc opt %s -p 'quantize{calib_steps=60 calib_batch=2 granularity=channel bits=6 state_bits=12}' 2>&1 >/dev/null | filecheck %s --check-prefix=CHANNEL
// RUN: nirc opt %s -p 'quantize{calib_steps=60 calib_batch=2 report=false}' --check-equivalence --seeds 2 --steps 100 --min-agreement 0.5 2>&1 >/dev/null | filecheck %s --check-prefix=EQ
// RUN: not nirc opt %s -p 'quantize{calib_steps=60 calib_batch=2 report=false}' --check-equivalence --seeds 2 --steps 100 --min-agreement 1.01 2>&1 >/dev/null | filecheck %s --check-prefix=EQFAIL
// RUN: not nirc opt %s -p 'quantize{report=false calib_steps=20},quantize' 2>&1 | filecheck %s --check-prefix=TWICE
// RUN: not nirc opt %S/fold-weights.mlir --split-input-file -p 'quantize{calib_steps=20}' 2>&1 | filecheck %s --check-prefix=FOLD

// A recurrent CubaLIF layer (fused) and a LIF fed straight from the input.
// Quantized: int8 weights with a shift, integer thresholds and decay
// multipliers (16 fractional bits), the state scale; the gains of the fused
// layer go into its weights, the direct LIF keeps its gain as a multiplier.
builtin.module {
  snn.graph attributes {dt = 1.0e-03 : f64, integrator = "euler", reset = "zero"} {
    %in = snn.input "input" {shape = dense<4> : tensor<1xi64>} : tensor<4xf32>
    %l = snn.layer "lif"(%in, %d : tensor<4xf32>, tensor<3xf32>) : tensor<3xf32> {
    ^bb0(%x: tensor<4xf32>, %r: tensor<3xf32>):
      %fc = snn.dense "fc"(%x : tensor<4xf32>) {weight = dense<[[0.9, -0.3, 0.5, 0.1], [0.2, 0.8, -0.6, 0.4], [0.7, 0.7, 0.1, -0.2]]> : tensor<3x4xf32>, bias = dense<[0.05, 0.0, -0.05]> : tensor<3xf32>} : tensor<3xf32>
      %rec = snn.dense "rec"(%r : tensor<3xf32>) {weight = dense<[[0.0, -0.4, 0.3], [0.5, 0.0, -0.2], [-0.3, 0.6, 0.0]]> : tensor<3x3xf32>} : tensor<3xf32>
      %n = snn.neuron "lif"(%fc, %rec : tensor<3xf32>, tensor<3xf32>) {alpha_mem = dense<0.9> : tensor<f64>, gain_mem = dense<0.5> : tensor<f64>, alpha_syn = dense<0.8> : tensor<f64>, gain_syn = dense<0.4> : tensor<f64>, v_threshold = dense<0.2> : tensor<f64>, reset = "zero"} : tensor<3xf32>
      snn.yield %n : tensor<3xf32>
    }
    %d = snn.delay "d"(%l : tensor<3xf32>) {steps = dense<1> : tensor<i64>} : tensor<3xf32>
    %direct = snn.neuron "direct"(%in : tensor<4xf32>) {alpha_mem = dense<0.8> : tensor<f64>, gain_mem = dense<0.6> : tensor<f64>, v_threshold = dense<1.0> : tensor<f64>, reset = "subtract"} : tensor<4xf32>
    snn.output "output"(%l : tensor<3xf32>)
    snn.output "direct_out"(%direct : tensor<4xf32>)
  }
}
// CHECK:      %fc = snn.dense "fc"(%x : tensor<4xf32>) {weight = dense<{{.*}}> : tensor<3x4xi8>, bias = dense<{{.*}}> : tensor<3xi32>, shift = {{[0-9]+}} : i64, scale = dense<{{.*}}> : tensor<f64>} : tensor<3xf32>
// CHECK-NEXT: %rec = snn.dense "rec"(%r : tensor<3xf32>) {weight = dense<{{.*}}> : tensor<3x3xi8>, shift = {{[0-9]+}} : i64, scale = dense<{{.*}}> : tensor<f64>} : tensor<3xf32>
// CHECK-NEXT: %n = snn.neuron "lif"(%fc, %rec : tensor<3xf32>, tensor<3xf32>) {alpha_mem = dense<58982> : tensor<i64>, alpha_syn = dense<52429> : tensor<i64>, v_threshold = dense<{{[0-9]+}}> : tensor<i32>, reset = "zero", scale = dense<{{.*}}> : tensor<f64>, frac_bits = 16 : i64, state_bits = 16 : i64} : tensor<3xf32>
// CHECK:      %direct = snn.neuron "direct"(%in : tensor<4xf32>) {alpha_mem = dense<52429> : tensor<i64>, gain_mem = dense<{{[0-9]+}}> : tensor<i64>, v_threshold = dense<{{[0-9]+}}> : tensor<i32>, reset = "subtract", scale = dense<{{.*}}> : tensor<f64>, frac_bits = 16 : i64, state_bits = 16 : i64} : tensor<4xf32>

// MAXABS:      quantize: 8-bit weights, 16-bit states, layer scales (maxabs):
// MAXABS-NEXT:   lif: S = {{.*}} (max-abs), fc << 0, rec << 0; weight SNR fc {{.*}} dB, rec {{.*}} dB; spike agreement {{[01]\.[0-9]+}}
// MAXABS-NEXT:   direct: S = {{.*}} (max-abs), no weights; weight SNR -; gains kept as multipliers; spike agreement {{[01]\.[0-9]+}}
// MAXABS-NEXT:   output agreement on the calibration inputs: {{[01]\.[0-9]+}}

// CHANNEL:      quantize: 6-bit weights, 12-bit states, channel scales (search):
// CHANNEL-NEXT:   lif: S = {{[0-9.e+]+\.\.[0-9.e+]+}} ({{.*}}), fc << {{[0-9]+}}, rec << {{[0-9]+}}; weight SNR

// EQ:      check-equivalence: 2 random input(s), 100 steps, rate 0.1, dt 0.001 s, euler, reset zero
// EQ:      agreement: {{[01]\.[0-9]+}}
// EQ-NEXT: equivalence: ok (quantizing pipeline, --min-agreement 0.5)

// EQFAIL:  equivalence: FAILED (quantizing pipeline, --min-agreement 1.01)

// TWICE:   error: {{.*}}: the module is already quantized
// FOLD:    error: pre: quantize cannot give integer semantics to snn.scale
// FOLD-NEXT: hint: run fold-weights first
