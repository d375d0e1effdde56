// RUN: nirc opt %s --split-input-file -p 'discretize{source=snntorch}' | filecheck %s --check-prefix=SNNTORCH
// RUN: nirc opt %s --split-input-file -p 'discretize{source=snntorch reset=zero}' | filecheck %s --check-prefix=SNNTORCH-ZERO
// RUN: nirc opt %s --split-input-file -p 'discretize{dt=1e-4}' | filecheck %s --check-prefix=PLAIN
// RUN: nirc opt %s --split-input-file --source norse -p 'discretize' 2>/dev/null | filecheck %s --check-prefix=NORSE
// RUN: nirc opt %s --split-input-file --source norse -p 'discretize' 2>&1 >/dev/null | filecheck %s --check-prefix=NORSE-WARN
// RUN: nirc opt %s --split-input-file -p 'discretize{source=sinabs}' | filecheck %s --check-prefix=SINABS
// RUN: nirc opt %s --split-input-file -p 'discretize{source=rockpool}' | filecheck %s --check-prefix=ROCKPOOL
// RUN: not nirc opt %s --split-input-file -p 'discretize{source=rockpool reset=zero}' 2>&1 | filecheck %s --check-prefix=NOZERO
// RUN: not nirc opt %s --split-input-file -p 'discretize{source=sinabs integrator=euler}' 2>&1 | filecheck %s --check-prefix=NOEULER
// RUN: not nirc opt %s --split-input-file -p 'discretize{source=snnt}' 2>&1 | filecheck %s --check-prefix=UNKNOWN

// Source profiles (nirc/profiles.py, docs/profiles.md): the same graph read as
// each framework computed it. Every difference is an snn.neuron attribute, a
// gain, or where the feedback delay sits; snn.graph records the source.

// An snnTorch RLeaky layer (`N.lif`, `N.w_rec`) and a Synaptic layer, as
// snnTorch's exporter writes them: tau = 1e-4/(1-beta), r = tau/1e-4,
// w_in = tau_syn/1e-4. dt defaults to the exporter's 1e-4: alpha = beta = 0.9.
builtin.module {
  nir.graph {
    %in = nir.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %fc = nir.affine "fc"(%in : tensor<2xf32>) {weight = dense<[[1.0, 0.5], [0.25, 2.0]]> : tensor<2x2xf32>, bias = dense<0.0> : tensor<2xf32>} : tensor<2xf32>
    %lif = nir.lif "rlif.lif"(%fc, %rec : tensor<2xf32>, tensor<2xf32>) {tau = dense<1.0e-03> : tensor<2xf64>, r = dense<10.0> : tensor<2xf64>, v_leak = dense<0.0> : tensor<2xf64>, v_threshold = dense<1.0> : tensor<2xf64>, v_reset = dense<0.0> : tensor<2xf64>} : tensor<2xf32>
    %rec = nir.affine "rlif.w_rec"(%lif : tensor<2xf32>) {weight = dense<[[0.0, -0.5], [0.5, 0.0]]> : tensor<2x2xf32>, bias = dense<[0.25, 0.0]> : tensor<2xf32>} : tensor<2xf32>
    %syn = nir.cuba_lif "syn"(%lif : tensor<2xf32>) {tau_syn = dense<5.0e-04> : tensor<2xf64>, tau_mem = dense<2.0e-03> : tensor<2xf64>, r = dense<20.0> : tensor<2xf64>, v_leak = dense<0.0> : tensor<2xf64>, v_threshold = dense<1.0> : tensor<2xf64>, v_reset = dense<0.0> : tensor<2xf64>, w_in = dense<5.0> : tensor<2xf64>} : tensor<2xf32>
    nir.output "output"(%syn : tensor<2xf32>) {shape = dense<2> : tensor<1xi64>}
  }
}

// -----
// A Norse LIFCell (CubaLIF, r = 1) exported with to_nir's default dt = 1e-3:
// the time constants are 1000x too small. Norse runs at dt = 1e-3 (assumed,
// with a warning) and the repair scales tau back: alpha_mem = 1 - 1e-3/1e-2,
// alpha_syn = 1 - 1e-3/5e-3. The input jumps into the current (gain_syn =
// w_in, no dt/tau_syn), the current reaches v in the same step, and the
// neuron starts at v_leak.
builtin.module {
  nir.graph {
    %in = nir.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %fc = nir.affine "norse_fc"(%in : tensor<2xf32>) {weight = dense<[[1.0, 0.5], [0.25, 2.0]]> : tensor<2x2xf32>, bias = dense<0.0> : tensor<2xf32>} : tensor<2xf32>
    %cell = nir.cuba_lif "cell"(%fc : tensor<2xf32>) {tau_syn = dense<5.0e-06> : tensor<2xf64>, tau_mem = dense<1.0e-05> : tensor<2xf64>, r = dense<1.0> : tensor<2xf64>, v_leak = dense<0.5> : tensor<2xf64>, v_threshold = dense<1.0> : tensor<2xf64>, v_reset = dense<0.0> : tensor<2xf64>, w_in = dense<2.0> : tensor<2xf64>} : tensor<2xf32>
    nir.output "output"(%cell : tensor<2xf32>) {shape = dense<2> : tensor<1xi64>}
  }
}

// -----
// A Sinabs network: IAF (IF, r = 1) and LIF with tau in steps; dt = 1. LIF
// decays exactly with Sinabs' input normalization: alpha = exp(-1/4), gain =
// 1 - alpha. Spikes count floor(v/thr) where v >= thr; reset subtracts.
builtin.module {
  nir.graph {
    %in = nir.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %fc = nir.affine "sinabs_fc"(%in : tensor<2xf32>) {weight = dense<[[1.0, 0.5], [0.25, 2.0]]> : tensor<2x2xf32>, bias = dense<0.0> : tensor<2xf32>} : tensor<2xf32>
    %iaf = nir.if "iaf"(%fc : tensor<2xf32>) {r = dense<1.0> : tensor<2xf64>, v_threshold = dense<1.0> : tensor<2xf64>, v_reset = dense<0.0> : tensor<2xf64>} : tensor<2xf32>
    %slif = nir.lif "slif"(%iaf : tensor<2xf32>) {tau = dense<4.0> : tensor<2xf64>, r = dense<1.0> : tensor<2xf64>, v_leak = dense<0.0> : tensor<2xf64>, v_threshold = dense<1.0> : tensor<2xf64>, v_reset = dense<0.0> : tensor<2xf64>} : tensor<2xf32>
    nir.output "output"(%slif : tensor<2xf32>) {shape = dense<2> : tensor<1xi64>}
  }
}

// -----
// A Rockpool LIFTorch (CubaLIF) as Rockpool writes it: r = tau*exp(-dt/tau)/dt
// with dt = 1e-3, from which dt is solved. Exact decays; the input is added
// to the current before it decays (gain_syn = exp(-dt/tau_syn)); r is a unit
// membrane gain; spike counts where v >= thr; reset subtracts.
builtin.module {
  nir.graph {
    %in = nir.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %fc = nir.linear "0_LinearTorch"(%in : tensor<2xf32>) {weight = dense<[[1.0, 0.5], [0.25, 2.0]]> : tensor<2x2xf32>} : tensor<2xf32>
    %lif = nir.cuba_lif "1_LIFTorch"(%fc : tensor<2xf32>) {tau_syn = dense<5.0e-03> : tensor<2xf64>, tau_mem = dense<2.0e-02> : tensor<2xf64>, r = dense<19.024588490014281> : tensor<2xf64>, v_leak = dense<0.0> : tensor<2xf64>, v_threshold = dense<1.0> : tensor<2xf64>, v_reset = dense<0.0> : tensor<2xf64>, w_in = dense<1.0> : tensor<2xf64>} : tensor<2xf32>
    nir.output "output"(%lif : tensor<2xf32>) {shape = dense<2> : tensor<1xi64>}
  }
}

// snnTorch (default reset: subtract, its default). The recurrent delay sits on
// the spikes before `rlif.w_rec`, so its bias counts from t = 0; a subtraction
// happens in the next step, after the decay; Synaptic's membrane reads the
// current of the same step.
// SNNTORCH:      snn.graph attributes {dt = 1.000000e-04 : f64, integrator = "euler", reset = "subtract", source = "snntorch"} {
// SNNTORCH:        %rlif.w_rec = snn.dense "rlif.w_rec"(%rlif.lif.delay : tensor<2xf32>)
// SNNTORCH-NEXT:   %rlif.lif = snn.neuron "rlif.lif"(%fc, %rlif.w_rec : tensor<2xf32>, tensor<2xf32>) {alpha_mem = dense<9.000000e-01> : tensor<f64>, v_threshold = dense<1.000000e+00> : tensor<f64>, reset = "subtract_undecayed"} : tensor<2xf32>
// SNNTORCH-NEXT:   %rlif.lif.delay = snn.delay "rlif.lif.delay"(%rlif.lif : tensor<2xf32>) {steps = dense<1> : tensor<i64>} : tensor<2xf32>
// SNNTORCH-NEXT:   %syn = snn.neuron "syn"(%rlif.lif : tensor<2xf32>) {alpha_mem = dense<9.500000e-01> : tensor<f64>, alpha_syn = dense<8.000000e-01> : tensor<f64>, current_order = "same", v_threshold = dense<1.000000e+00> : tensor<f64>, reset = "subtract_undecayed"} : tensor<2xf32>

// snnTorch with reset=zero: RLeaky (a LIF on a cycle) and Synaptic lose the
// whole step after a spike.
// SNNTORCH-ZERO:  snn.neuron "rlif.lif"{{.*}}reset = "zero_refractory"
// SNNTORCH-ZERO:  snn.neuron "syn"{{.*}}current_order = "same"{{.*}}reset = "zero_refractory"

// The plain reading of the same file: the delay after `rlif.w_rec` (its bias
// is missing at t = 0), reset to zero, the current of the previous step.
// PLAIN:      snn.graph attributes {dt = 1.000000e-04 : f64, integrator = "euler", reset = "zero"} {
// PLAIN:        %rlif.lif = snn.neuron "rlif.lif"(%fc, %rlif.w_rec.delay : tensor<2xf32>, tensor<2xf32>)
// PLAIN:        %rlif.w_rec.delay = snn.delay "rlif.w_rec.delay"(%rlif.w_rec : tensor<2xf32>)
// PLAIN:        %syn = snn.neuron "syn"(%rlif.lif : tensor<2xf32>) {alpha_mem = dense<9.500000e-01> : tensor<f64>, alpha_syn = dense<8.000000e-01> : tensor<f64>, v_threshold = dense<1.000000e+00> : tensor<f64>, reset = "zero"} : tensor<2xf32>

// Norse (no dt: 1e-3, with a warning; the time constants scaled back).
// NORSE-WARN: warning: no dt given: assuming Norse's default dt = 0.001 s
// NORSE-WARN: warning: every time constant is below dt = 0.001 s (the largest is 1e-05 s): Norse's to_nir with its default dt = 1e-3 writes tau = 1e-3 x the true time constant; using tau x 1000
// NORSE:      snn.graph attributes {dt = 1.000000e-03 : f64, integrator = "euler", reset = "zero", source = "norse"} {
// NORSE:      %cell = snn.neuron "cell"(%norse_fc : tensor<2xf32>) {alpha_mem = dense<9.000000e-01> : tensor<f64>, gain_mem = dense<1.000000e-01> : tensor<f64>, bias_mem = dense<5.000000e-02> : tensor<f64>, alpha_syn = dense<8.000000e-01> : tensor<f64>, gain_syn = dense<2.000000e+00> : tensor<f64>, current_order = "same", v_init = dense<5.000000e-01> : tensor<f64>, v_threshold = dense<1.000000e+00> : tensor<f64>, reset = "zero"} : tensor<2xf32>

// Sinabs: dt = 1, exact decay with input normalization, >=, spike counts,
// subtraction.
// SINABS:      snn.graph attributes {dt = 1.000000e+00 : f64, integrator = "exact", reset = "subtract", source = "sinabs"} {
// SINABS:      %iaf = snn.neuron "iaf"(%sinabs_fc : tensor<2xf32>) {alpha_mem = dense<1.000000e+00> : tensor<f64>, v_threshold = dense<1.000000e+00> : tensor<f64>, reset = "subtract", compare = "ge", spikes = "multi"} : tensor<2xf32>
// SINABS-NEXT: %slif = snn.neuron "slif"(%iaf : tensor<2xf32>) {alpha_mem = dense<0.77880078307140488> : tensor<f64>, gain_mem = dense<0.22119921692859512> : tensor<f64>, v_threshold = dense<1.000000e+00> : tensor<f64>, reset = "subtract", compare = "ge", spikes = "multi"} : tensor<2xf32>

// Rockpool: dt = 1e-3 solved from r; gain_mem = r*dt/(tau*exp(-dt/tau)) = 1
// (left out), gain_syn = alpha_syn = exp(-0.2).
// ROCKPOOL:      snn.graph attributes {dt = 1.000000e-03 : f64, integrator = "exact", reset = "subtract", source = "rockpool"} {
// ROCKPOOL:      %n1_LIFTorch = snn.neuron "1_LIFTorch"(%n0_LinearTorch : tensor<2xf32>) {alpha_mem = dense<0.95122942450071402> : tensor<f64>, alpha_syn = dense<0.81873075307798182> : tensor<f64>, gain_syn = dense<0.81873075307798182> : tensor<f64>, current_order = "same", v_threshold = dense<1.000000e+00> : tensor<f64>, reset = "subtract", compare = "ge", spikes = "multi"} : tensor<2xf32>

// A profile accepts the framework's resets and integrator only.
// NOZERO:       error: discretize: Rockpool 3.1 has no `zero` reset
// NOZERO-NEXT:    expected: --reset subtract with --source rockpool
// NOEULER:      error: discretize: Sinabs 3.1 integrates with `exact`; --source sinabs does not take --integrator euler
// UNKNOWN:      error: discretize: unknown source profile
// UNKNOWN-NEXT:   expected: nir or snntorch or norse or sinabs or rockpool
// UNKNOWN-NEXT:   found:    snnt
// UNKNOWN-NEXT:   hint:     did you mean `snntorch`?
