// RUN: not nirc opt %s -p 'partition{core_neurons=8 cores_per_chip=2}' 2>&1 | filecheck %s --check-prefix=UNFUSED
// RUN: not nirc opt %s -p 'fuse,partition{target=speck}' 2>&1 | filecheck %s --check-prefix=SPECK
// RUN: not nirc opt %s -p 'fuse,partition' 2>&1 | filecheck %s --check-prefix=MACHINE
// RUN: not nirc opt %s -p 'fuse,partition{core_neurons=2 cores_per_chip=2}' 2>&1 | filecheck %s --check-prefix=TOO-BIG
// RUN: not nirc opt %s -p 'fuse,partition{core_neurons=8 cores_per_chip=2 core_memory=100 capacity=%S/no-such-capacity.json}' 2>&1 | filecheck %s --check-prefix=FILE
// RUN: nirc opt %s -p 'fuse,partition{core_neurons=2 cores_per_chip=2 chips=4 report=false}' | filecheck %s --check-prefix=FITS

// Diagnostics of the `partition` pass. The input is not fused: a dense
// synapse read only by its neuron sits outside a layer.
builtin.module {
  snn.graph attributes {dt = 1.0 : f64} {
    %in = snn.input "in" {shape = dense<3> : tensor<1xi64>} : tensor<3xf32>
    %w = snn.dense "w"(%in : tensor<3xf32>) {weight = dense<1.0> : tensor<5x3xf32>} : tensor<5xf32>
    %n = snn.neuron "n"(%w : tensor<5xf32>) {alpha_mem = dense<0.9> : tensor<f64>, v_threshold = dense<1.0> : tensor<f64>} : tensor<5xf32>
    snn.output "out"(%n : tensor<5xf32>)
  }
}

// UNFUSED:      error: n: partition needs a fused snn module
// UNFUSED-NEXT:   expected: synapses grouped with their neuron in snn.layer ops
// UNFUSED-NEXT:   found:    `w` feeds only `n` outside a layer
// UNFUSED-NEXT:   hint:     run `fuse` first (e.g. -p 'fuse,partition{...}')

// Speck and Xylo place whole layers: they have no capacity model.
// SPECK:      error: partition{target=...}: target `speck` has no capacity model: it places whole layers on its cores
// SPECK-NEXT:   expected: a many-core target ({{.*}}loihi2{{.*}})
// SPECK-NEXT:   found:    speck

// MACHINE:      error: partition: partition needs a machine
// MACHINE-NEXT:   expected: target=NAME, or core_neurons=N and cores_per_chip=N

// Five neurons at two a core need three cores; the machine has 2 x 2 = 4...
// FITS: placement.map attributes {target = "generic", cores_per_chip = 2 : i64, chips = 4 : i64, neurons_per_core = 2 : i64

// ...and one chip (the default) has two: refused with the needs of every population.
// TOO-BIG:      error: the model does not fit generic: it needs 3 cores, the machine has 2 (1 chip(s) x 2)
// TOO-BIG-NEXT:   expected: at most 2 cores
// TOO-BIG-NEXT:   found:
// TOO-BIG-NEXT: population             neurons  per core   cores  memory/core needed  available
// TOO-BIG-NEXT: n                            5         2       3             0.0 KiB  unlimited
// TOO-BIG-NEXT:   hint:     use more chips (--chips 2; pass option chips=2)

// FILE: error: {{.*}}no-such-capacity.json: cannot read the capacity file
