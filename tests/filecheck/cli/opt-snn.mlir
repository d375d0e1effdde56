// RUN: nirc opt %S/../../../examples/braille_rnn.nir -p 'inline-subgraphs,discretize{dt=1e-4},fold-weights,fuse' --check-equivalence --seeds 2 --steps 100 --timing 2>&1 >/dev/null | filecheck %s
// RUN: nirc opt %S/../../../examples/braille_rnn.nir -p 'discretize{dt=1e-4,integrator=exact,reset=subtract},canonicalize,dce' --print-ir-after-all 2>&1 >/dev/null | filecheck %s --check-prefix=DUMP
// RUN: nirc opt %S/../../../examples/braille_rnn.nir -p 'discretize{dt=1e-4}' -o %t.mlir && nirc run %t.mlir --input random:p=0.1,T=50 --record lif1.lif.v | filecheck %s --check-prefix=SIM
// RUN: nirc run %S/../../../examples/braille_rnn.nir --dt 1e-4 --level snn --input random:p=0.1,T=50 | filecheck %s --check-prefix=SIM
// RUN: python -c "import numpy as np; np.savez('%t.npz', input=(np.random.default_rng(0).random((40, 2, 12)) < 0.1))"
// RUN: nirc opt %t.mlir -p 'fold-weights,quantize{calibrate=%t.npz,report=false}' --check-equivalence --seeds 1 --steps 50 --min-agreement 0.3 2>&1 >/dev/null | filecheck %s --check-prefix=QUANT
// RUN: not nirc opt %t.mlir -p 'quantize{granularity=neuron}' 2>&1 | filecheck %s --check-prefix=BADOPT
// RUN: not nirc export %t.mlir -o %t.nir 2>&1 | filecheck %s --check-prefix=LEVEL
// RUN: nirc show %t.mlir | filecheck %s --check-prefix=SHOW
// RUN: nirc compile %S/../../../examples/braille_rnn.nir --target loihi2 --dt 1e-4 -o %t.l2 2>/dev/null >/dev/null
// RUN: not nirc run %t.l2/model.mlir --input random:T=3 2>&1 | filecheck %s --check-prefix=CHIP
// RUN: nirc show %t.l2/model.mlir | filecheck %s --check-prefix=SHOWCHIP

// The issue's pipeline on the example Braille network: exact, identical
// spikes; per-pass wall times; an snn module runs with `nirc run`.

// CHECK:      check-equivalence: 2 random input(s), 100 steps, rate 0.1, dt 0.0001 s, euler, reset zero
// CHECK-NEXT:   output output: 1.000000 of entries equal (exact)
// CHECK-NEXT: agreement: 1.0
// CHECK-NEXT: equivalence: ok (exact pipeline: identical spikes, real values within 1e-09 relative)
// CHECK-NEXT: // pass timing (wall clock)
// CHECK-NEXT: //   inline-subgraphs  {{ *[0-9.]+}} s
// CHECK-NEXT: //   discretize        {{ *[0-9.]+}} s
// CHECK-NEXT: //   fold-weights      {{ *[0-9.]+}} s
// CHECK-NEXT: //   fuse              {{ *[0-9.]+}} s
// CHECK-NEXT: //   total             {{ *[0-9.]+}} s

// DUMP:      // -----// IR Dump After discretize //----- //
// DUMP:      snn.graph attributes {dt = 1.000000e-04 : f64, integrator = "exact", reset = "subtract"}
// DUMP:      // -----// IR Dump After canonicalize //----- //
// DUMP:      // -----// IR Dump After dce //----- //

// SIM:      simulated 50 steps (dt = 0.0001 s (module), euler, reset zero)
// SIM:      output output [7]:

// QUANT:    agreement: {{[01]\.[0-9]+}}
// QUANT:    equivalence: ok (quantizing pipeline, --min-agreement 0.3)

// BADOPT:   error: unknown granularity

// An snn-level module is past what a NIR file holds: export says so; show tables it.
// LEVEL:      error: the module must hold exactly one top-level nir.graph (the level a NIR file describes)
// LEVEL:        found:    0 nir.graph ops; top-level snn.graph
// LEVEL-NEXT:   hint:     this module is past `discretize`: use the NIR file or IR it came from

// A compiled module runs with its target: the plain run says which.
// CHIP:      found:    0 nir.graph ops; top-level loihi2.network
// CHIP-NEXT: hint:     a module compiled for loihi2: `nirc run FILE --target loihi2` simulates it

// SHOW:      {{.*}}.mlir: 8 ops of the snn dialect (after `discretize`): dt = 0.0001, integrator = euler, reset = zero
// SHOW:      lif1.lif          snn.neuron  [38]               38         0       0
// SHOW:      total                                            45      2166    2249
// SHOW-NEXT: recurrent edges: lif1.w_rec -> lif1.w_rec.delay

// show tables a compiled module op by op (any chip): the values its arrays
// hold and its settings, the chip's own report pointed at.
// SHOWCHIP:      {{.*}}model.mlir: compiled for loihi2 (loihi2.network): dt=0.0001, latency=2, input_bits=0
// SHOWCHIP:      op        kind    output shape  values  settings
// SHOWCHIP:      lif1.lif  layer   [38]          {{ *[0-9]+}}  kind=dense_rec {{.*}}spiking=true{{.*}} weight[38, 12] {{.*}}weight_rec[38, 38]
// SHOWCHIP:      lif2      layer   [7]           {{ *[0-9]+}}  kind=dense {{.*}}weight[7, 38]
// SHOWCHIP:      total
// SHOWCHIP-NEXT: the compile report beside it: {{.*}}report.txt
