// RUN: nirc opt %s --split-input-file -p 'discretize{source=snntorch}' 2>/dev/null | filecheck %s --check-prefix=SNNTORCH
// RUN: nirc opt %s --split-input-file -p 'discretize{source=snntorch}' 2>&1 >/dev/null | filecheck %s --check-prefix=LIMIT-WARN
// RUN: nirc opt %s --split-input-file -p 'discretize{dt=1e-4}' 2>/dev/null | filecheck %s --check-prefix=PLAIN
// RUN: nirc opt %s --split-input-file -p 'discretize{source=rockpool dt=1e-3}' 2>/dev/null | filecheck %s --check-prefix=ROCKPOOL
// RUN: nirc opt %s --split-input-file -p 'discretize{source=rockpool dt=1e-3}' 2>&1 >/dev/null | filecheck %s --check-prefix=ROCKPOOL-WARN
// RUN: nirc opt %s --split-input-file -p 'discretize{source="rockpool:max_spikes=7,max_spikes_out=none" dt=1e-3}' 2>/dev/null | filecheck %s --check-prefix=STATED
// RUN: nirc opt %s --split-input-file -p 'discretize{source="sinabs:min_v_mem=-1"}' 2>/dev/null | filecheck %s --check-prefix=SINABS
// RUN: nirc opt %s --split-input-file -p 'discretize{source=norse}' 2>/dev/null | filecheck %s --check-prefix=NORSE
// RUN: not nirc opt %s --split-input-file -p 'discretize{source="snntorch:max_spikes=3"}' 2>&1 | filecheck %s --check-prefix=NOOPTION
// RUN: not nirc opt %s --split-input-file -p 'discretize{source="rockpool:max_spikes=0"}' 2>&1 | filecheck %s --check-prefix=BADVALUE

// What a framework's file leaves out (docs/profiles.md), stated after the
// profile's name, `--source NAME:key=value,...`, or read from the
// framework's conventions.

// snnTorch exports Leaky(beta=1), an IF, as tau = r = inf (its exporter divides
// by 1 - beta). nirc reads the limit r/tau = 1/dt without leak: alpha_mem = 1
// and a gain of one per step, element by element, with a warning. The second
// neuron is an ordinary Leaky(beta=0.95).
builtin.module {
  nir.graph {
    %input = nir.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %fc = nir.linear "fc"(%input : tensor<2xf32>) {weight = dense<[[1.0, 0.5], [0.25, 2.0]]> : tensor<2x2xf32>} : tensor<2xf32>
    %lif = nir.lif "lif"(%fc : tensor<2xf32>) {tau = dense<"0x000000000000F07FFCA9F1D24D62603F"> : tensor<2xf64>, r = dense<"0x000000000000F07F0000000000003440"> : tensor<2xf64>, v_leak = dense<0.0> : tensor<2xf64>, v_threshold = dense<1.0> : tensor<2xf64>, v_reset = dense<0.0> : tensor<2xf64>} : tensor<2xf32>
    nir.output "output"(%lif : tensor<2xf32>) {shape = dense<2> : tensor<1xi64>}
  }
}
// SNNTORCH: snn.neuron "lif"
// SNNTORCH-SAME: alpha_mem = dense<[1.000000e+00, 9.500000e-01]>
// SNNTORCH-NOT: gain_mem
// SNNTORCH-SAME: reset = "subtract_undecayed"
// LIMIT-WARN: warning: lif: tau = r = inf in 1 of 2 neurons: read as the limit r/tau = 1/dt, no leak, one unit of input per step (an IF)
// PLAIN: snn.neuron "lif"
// PLAIN-SAME: alpha_mem = dense<[1.000000e+00, 9.500000e-01]>
// PLAIN-NOT: gain_mem
// PLAIN-SAME: reset = "zero"
// ROCKPOOL: snn.neuron "lif"
// SINABS: snn.neuron "lif"
// NORSE: snn.neuron "lif"
// NOOPTION: discretize: --source snntorch takes no option `max_spikes`
// NOOPTION-NEXT: expected: snntorch:key=value with key in: no options

// -----
// A Rockpool network whose decays are all Xylo bit shifts (exp(-dt/tau) =
// 1 - 2**-dash) was built for Xylo (SynNet): hidden neurons spike at most 31
// times per step, outputs once (binary). Options state other caps (`none`:
// no cap) and are recorded in the graph's source.
builtin.module {
  nir.graph {
    %input = nir.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %fc1 = nir.linear "fc1"(%input : tensor<2xf32>) {weight = dense<[[1.0, 0.5], [0.25, 2.0]]> : tensor<2x2xf32>} : tensor<2xf32>
    %h = nir.cuba_lif "h"(%fc1 : tensor<2xf32>) {tau_syn = dense<0.0014426950408889636> : tensor<2xf64>, tau_mem = dense<0.0074888756894186176> : tensor<2xf64>, r = dense<1.0> : tensor<2xf64>, v_leak = dense<0.0> : tensor<2xf64>, v_threshold = dense<1.0> : tensor<2xf64>, v_reset = dense<0.0> : tensor<2xf64>, w_in = dense<1.0> : tensor<2xf64>} : tensor<2xf32>
    %fc2 = nir.linear "fc2"(%h : tensor<2xf32>) {weight = dense<[[1.0, 0.5], [0.25, 2.0]]> : tensor<2x2xf32>} : tensor<2xf32>
    %o = nir.cuba_lif "o"(%fc2 : tensor<2xf32>) {tau_syn = dense<0.0074888756894186176> : tensor<2xf64>, tau_mem = dense<0.0074888756894186176> : tensor<2xf64>, r = dense<1.0> : tensor<2xf64>, v_leak = dense<0.0> : tensor<2xf64>, v_threshold = dense<1.0> : tensor<2xf64>, v_reset = dense<0.0> : tensor<2xf64>, w_in = dense<1.0> : tensor<2xf64>} : tensor<2xf32>
    nir.output "output"(%o : tensor<2xf32>) {shape = dense<2> : tensor<1xi64>}
  }
}
// ROCKPOOL: snn.graph attributes {{.*}}source = "rockpool"
// ROCKPOOL: snn.neuron "h"
// ROCKPOOL-SAME: spikes = "multi", max_spikes = 31 : i64
// ROCKPOOL: snn.neuron "o"
// ROCKPOOL-NOT: spikes =
// ROCKPOOL-SAME: : tensor<2xf32>
// ROCKPOOL-WARN: warning: every time constant is a Xylo bit shift: reading this Rockpool network as built for Xylo (SynNet), at most 31 spikes per step in hidden layers and 1 in output layers
// STATED: snn.graph attributes {{.*}}source = "rockpool:max_spikes=7,max_spikes_out=none"
// STATED: snn.neuron "h"
// STATED-SAME: max_spikes = 7 : i64
// STATED: snn.neuron "o"
// STATED-NOT: max_spikes
// STATED-SAME: spikes = "multi"
// BADVALUE: bad value for `max_spikes` in --source
// BADVALUE-NEXT: expected: an integer >= 1, or none
// BADVALUE-NEXT: found: max_spikes=0

// -----
// Sinabs' from_model conversions clip the membrane at min_v_mem, which the
// file does not record: `sinabs:min_v_mem=-1` states it (v_min). Norse's
// IAFCell adds its input per step: its IF's r is per step, not per second.
builtin.module {
  nir.graph {
    %input = nir.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %fc = nir.linear "fc"(%input : tensor<2xf32>) {weight = dense<[[1.0, 0.5], [0.25, 2.0]]> : tensor<2x2xf32>} : tensor<2xf32>
    %if = nir.if "if"(%fc : tensor<2xf32>) {r = dense<1.0> : tensor<2xf64>, v_threshold = dense<1.0> : tensor<2xf64>, v_reset = dense<0.0> : tensor<2xf64>} : tensor<2xf32>
    nir.output "output"(%if : tensor<2xf32>) {shape = dense<2> : tensor<1xi64>}
  }
}
// SINABS: snn.graph attributes {{.*}}source = "sinabs:min_v_mem=-1"
// SINABS: snn.neuron "if"
// SINABS-SAME: spikes = "multi", v_min = dense<-1.000000e+00> : tensor<f64>
// NORSE: snn.neuron "if"
// NORSE-SAME: alpha_mem = dense<1.000000e+00>
// NORSE-NOT: gain_mem
// NORSE-SAME: v_threshold
