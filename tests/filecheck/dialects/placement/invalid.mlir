// RUN: nirc opt %s --split-input-file --verify-diagnostics | filecheck %s

// Each chunk breaks one rule of placement.map's verifier: every neuron placed
// exactly once, every core on the machine and within its capacity, a
// consistent core table.
// A neuron of the graph is not placed.
builtin.module {
  snn.graph attributes {dt = 1.0 : f64} {
    %in = snn.input "in" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %lif = snn.layer "lif"(%in : tensor<2xf32>) : tensor<6xf32> {
    ^bb0(%x: tensor<2xf32>):
      %w = snn.dense "w"(%x : tensor<2xf32>) {weight = dense<1.0> : tensor<6x2xf32>} : tensor<6xf32>
      %n = snn.neuron "lif"(%w : tensor<6xf32>) {alpha_mem = dense<0.9> : tensor<f64>, v_threshold = dense<1.0> : tensor<f64>} : tensor<6xf32>
      snn.yield %n : tensor<6xf32>
    }
    snn.output "out"(%lif : tensor<6xf32>)
  }
  placement.map attributes {target = "test", cores_per_chip = 3 : i64, chips = 2 : i64, neurons_per_core = 4 : i64, memory_per_core = 1000.0 : f64, method = "mt-kahypar", traffic = 4.0 : f64, baseline_traffic = 6.0 : f64, core_ids = dense<[0]> : tensor<1xi32>, core_loads = dense<[[2, 0, 0, 0, 0, 0]]> : tensor<1x6xi64>, core_memory = dense<[10.0]> : tensor<1xf64>, inputs_placed} {
    placement.population "in" {cores = dense<0> : tensor<2xi32>}
  }
}
// CHECK: placement.map: snn.neuron "lif" is not placed (no placement.population of that name)

// -----

// A population of the wrong size: one entry per neuron.
builtin.module {
  snn.graph attributes {dt = 1.0 : f64} {
    %in = snn.input "in" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %lif = snn.layer "lif"(%in : tensor<2xf32>) : tensor<6xf32> {
    ^bb0(%x: tensor<2xf32>):
      %w = snn.dense "w"(%x : tensor<2xf32>) {weight = dense<1.0> : tensor<6x2xf32>} : tensor<6xf32>
      %n = snn.neuron "lif"(%w : tensor<6xf32>) {alpha_mem = dense<0.9> : tensor<f64>, v_threshold = dense<1.0> : tensor<f64>} : tensor<6xf32>
      snn.yield %n : tensor<6xf32>
    }
    snn.output "out"(%lif : tensor<6xf32>)
  }
  placement.map attributes {target = "test", cores_per_chip = 3 : i64, chips = 2 : i64, neurons_per_core = 4 : i64, memory_per_core = 1000.0 : f64, method = "mt-kahypar", traffic = 4.0 : f64, baseline_traffic = 6.0 : f64, core_ids = dense<[0, 3]> : tensor<2xi32>, core_loads = dense<[[4, 4, 0, 2, 1, 2], [3, 8, 0, 2, 1, 4]]> : tensor<2x6xi64>, core_memory = dense<[120.0, 176.0]> : tensor<2xf64>, inputs_placed} {
    placement.population "in" {cores = dense<0> : tensor<2xi32>}
    placement.population "lif" {cores = dense<[0, 0, 3, 3, 3]> : tensor<5xi32>}
  }
}
// CHECK: placement.map: population "lif" places 5 neurons; snn.neuron "lif" has 6

// -----

// A core over the neurons a core takes.
builtin.module {
  snn.graph attributes {dt = 1.0 : f64} {
    %in = snn.input "in" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %lif = snn.layer "lif"(%in : tensor<2xf32>) : tensor<6xf32> {
    ^bb0(%x: tensor<2xf32>):
      %w = snn.dense "w"(%x : tensor<2xf32>) {weight = dense<1.0> : tensor<6x2xf32>} : tensor<6xf32>
      %n = snn.neuron "lif"(%w : tensor<6xf32>) {alpha_mem = dense<0.9> : tensor<f64>, v_threshold = dense<1.0> : tensor<f64>} : tensor<6xf32>
      snn.yield %n : tensor<6xf32>
    }
    snn.output "out"(%lif : tensor<6xf32>)
  }
  placement.map attributes {target = "test", cores_per_chip = 3 : i64, chips = 2 : i64, neurons_per_core = 3 : i64, memory_per_core = 1000.0 : f64, method = "mt-kahypar", traffic = 4.0 : f64, baseline_traffic = 6.0 : f64, core_ids = dense<[0, 3]> : tensor<2xi32>, core_loads = dense<[[4, 4, 0, 2, 1, 2], [4, 8, 0, 2, 1, 4]]> : tensor<2x6xi64>, core_memory = dense<[120.0, 176.0]> : tensor<2xf64>, inputs_placed} {
    placement.population "in" {cores = dense<0> : tensor<2xi32>}
    placement.population "lif" {cores = dense<[0, 0, 3, 3, 3, 3]> : tensor<6xi32>}
  }
}
// CHECK: placement.map: core 0 (chip 0, core 0) holds 4 neurons; at most 3 fit a core

// -----

// A core over its memory.
builtin.module {
  snn.graph attributes {dt = 1.0 : f64} {
    %in = snn.input "in" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %lif = snn.layer "lif"(%in : tensor<2xf32>) : tensor<6xf32> {
    ^bb0(%x: tensor<2xf32>):
      %w = snn.dense "w"(%x : tensor<2xf32>) {weight = dense<1.0> : tensor<6x2xf32>} : tensor<6xf32>
      %n = snn.neuron "lif"(%w : tensor<6xf32>) {alpha_mem = dense<0.9> : tensor<f64>, v_threshold = dense<1.0> : tensor<f64>} : tensor<6xf32>
      snn.yield %n : tensor<6xf32>
    }
    snn.output "out"(%lif : tensor<6xf32>)
  }
  placement.map attributes {target = "test", cores_per_chip = 3 : i64, chips = 2 : i64, neurons_per_core = 4 : i64, memory_per_core = 150.0 : f64, method = "mt-kahypar", traffic = 4.0 : f64, baseline_traffic = 6.0 : f64, core_ids = dense<[0, 3]> : tensor<2xi32>, core_loads = dense<[[4, 4, 0, 2, 1, 2], [4, 8, 0, 2, 1, 4]]> : tensor<2x6xi64>, core_memory = dense<[120.0, 176.0]> : tensor<2xf64>, inputs_placed} {
    placement.population "in" {cores = dense<0> : tensor<2xi32>}
    placement.population "lif" {cores = dense<[0, 0, 3, 3, 3, 3]> : tensor<6xi32>}
  }
}
// CHECK: placement.map: core 3 (chip 1, core 0) needs 176 bytes; a core has 150

// -----

// A core id beyond the machine.
builtin.module {
  snn.graph attributes {dt = 1.0 : f64} {
    %in = snn.input "in" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %lif = snn.layer "lif"(%in : tensor<2xf32>) : tensor<6xf32> {
    ^bb0(%x: tensor<2xf32>):
      %w = snn.dense "w"(%x : tensor<2xf32>) {weight = dense<1.0> : tensor<6x2xf32>} : tensor<6xf32>
      %n = snn.neuron "lif"(%w : tensor<6xf32>) {alpha_mem = dense<0.9> : tensor<f64>, v_threshold = dense<1.0> : tensor<f64>} : tensor<6xf32>
      snn.yield %n : tensor<6xf32>
    }
    snn.output "out"(%lif : tensor<6xf32>)
  }
  placement.map attributes {target = "test", cores_per_chip = 3 : i64, chips = 2 : i64, neurons_per_core = 4 : i64, memory_per_core = 1000.0 : f64, method = "mt-kahypar", traffic = 4.0 : f64, baseline_traffic = 6.0 : f64, core_ids = dense<[0, 6]> : tensor<2xi32>, core_loads = dense<[[4, 4, 0, 2, 1, 2], [4, 8, 0, 2, 1, 4]]> : tensor<2x6xi64>, core_memory = dense<[120.0, 176.0]> : tensor<2xf64>, inputs_placed} {
    placement.population "in" {cores = dense<0> : tensor<2xi32>}
    placement.population "lif" {cores = dense<[0, 0, 6, 6, 6, 6]> : tensor<6xi32>}
  }
}
// CHECK: placement.map: core 6 is not on the machine (2 chip(s) x 3 cores: ids 0..5)

// -----

// A neuron on a core the table does not list.
builtin.module {
  snn.graph attributes {dt = 1.0 : f64} {
    %in = snn.input "in" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %lif = snn.layer "lif"(%in : tensor<2xf32>) : tensor<6xf32> {
    ^bb0(%x: tensor<2xf32>):
      %w = snn.dense "w"(%x : tensor<2xf32>) {weight = dense<1.0> : tensor<6x2xf32>} : tensor<6xf32>
      %n = snn.neuron "lif"(%w : tensor<6xf32>) {alpha_mem = dense<0.9> : tensor<f64>, v_threshold = dense<1.0> : tensor<f64>} : tensor<6xf32>
      snn.yield %n : tensor<6xf32>
    }
    snn.output "out"(%lif : tensor<6xf32>)
  }
  placement.map attributes {target = "test", cores_per_chip = 3 : i64, chips = 2 : i64, neurons_per_core = 4 : i64, memory_per_core = 1000.0 : f64, method = "mt-kahypar", traffic = 4.0 : f64, baseline_traffic = 6.0 : f64, core_ids = dense<[0, 3]> : tensor<2xi32>, core_loads = dense<[[4, 4, 0, 2, 1, 2], [4, 8, 0, 2, 1, 4]]> : tensor<2x6xi64>, core_memory = dense<[120.0, 176.0]> : tensor<2xf64>, inputs_placed} {
    placement.population "in" {cores = dense<0> : tensor<2xi32>}
    placement.population "lif" {cores = dense<[0, 0, 3, 3, 3, 4]> : tensor<6xi32>}
  }
}
// CHECK: placement.map: population "lif": neuron 5 is on core 4, which is not in the core table

// -----

// The table's neuron count differs from the populations'.
builtin.module {
  snn.graph attributes {dt = 1.0 : f64} {
    %in = snn.input "in" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %lif = snn.layer "lif"(%in : tensor<2xf32>) : tensor<6xf32> {
    ^bb0(%x: tensor<2xf32>):
      %w = snn.dense "w"(%x : tensor<2xf32>) {weight = dense<1.0> : tensor<6x2xf32>} : tensor<6xf32>
      %n = snn.neuron "lif"(%w : tensor<6xf32>) {alpha_mem = dense<0.9> : tensor<f64>, v_threshold = dense<1.0> : tensor<f64>} : tensor<6xf32>
      snn.yield %n : tensor<6xf32>
    }
    snn.output "out"(%lif : tensor<6xf32>)
  }
  placement.map attributes {target = "test", cores_per_chip = 3 : i64, chips = 2 : i64, neurons_per_core = 8 : i64, memory_per_core = 1000.0 : f64, method = "mt-kahypar", traffic = 4.0 : f64, baseline_traffic = 6.0 : f64, core_ids = dense<[0, 3]> : tensor<2xi32>, core_loads = dense<[[5, 4, 0, 2, 1, 2], [4, 8, 0, 2, 1, 4]]> : tensor<2x6xi64>, core_memory = dense<[120.0, 176.0]> : tensor<2xf64>, inputs_placed} {
    placement.population "in" {cores = dense<0> : tensor<2xi32>}
    placement.population "lif" {cores = dense<[0, 0, 3, 3, 3, 3]> : tensor<6xi32>}
  }
}
// CHECK: placement.map: core 0: the populations place 4 neurons on it, the core table says 5

// -----

// A population placed twice.
builtin.module {
  snn.graph attributes {dt = 1.0 : f64} {
    %in = snn.input "in" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %lif = snn.layer "lif"(%in : tensor<2xf32>) : tensor<6xf32> {
    ^bb0(%x: tensor<2xf32>):
      %w = snn.dense "w"(%x : tensor<2xf32>) {weight = dense<1.0> : tensor<6x2xf32>} : tensor<6xf32>
      %n = snn.neuron "lif"(%w : tensor<6xf32>) {alpha_mem = dense<0.9> : tensor<f64>, v_threshold = dense<1.0> : tensor<f64>} : tensor<6xf32>
      snn.yield %n : tensor<6xf32>
    }
    snn.output "out"(%lif : tensor<6xf32>)
  }
  placement.map attributes {target = "test", cores_per_chip = 3 : i64, chips = 2 : i64, neurons_per_core = 8 : i64, memory_per_core = 1000.0 : f64, method = "mt-kahypar", traffic = 4.0 : f64, baseline_traffic = 6.0 : f64, core_ids = dense<[0, 3]> : tensor<2xi32>, core_loads = dense<[[6, 4, 0, 2, 1, 2], [4, 8, 0, 2, 1, 4]]> : tensor<2x6xi64>, core_memory = dense<[120.0, 176.0]> : tensor<2xf64>, inputs_placed} {
    placement.population "in" {cores = dense<0> : tensor<2xi32>}
    placement.population "in" {cores = dense<0> : tensor<2xi32>}
    placement.population "lif" {cores = dense<[0, 0, 3, 3, 3, 3]> : tensor<6xi32>}
  }
}
// CHECK: placement.map: population "in" is placed twice

// -----

// A population that names nothing in the graph.
builtin.module {
  snn.graph attributes {dt = 1.0 : f64} {
    %in = snn.input "in" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %lif = snn.layer "lif"(%in : tensor<2xf32>) : tensor<6xf32> {
    ^bb0(%x: tensor<2xf32>):
      %w = snn.dense "w"(%x : tensor<2xf32>) {weight = dense<1.0> : tensor<6x2xf32>} : tensor<6xf32>
      %n = snn.neuron "lif"(%w : tensor<6xf32>) {alpha_mem = dense<0.9> : tensor<f64>, v_threshold = dense<1.0> : tensor<f64>} : tensor<6xf32>
      snn.yield %n : tensor<6xf32>
    }
    snn.output "out"(%lif : tensor<6xf32>)
  }
  placement.map attributes {target = "test", cores_per_chip = 3 : i64, chips = 2 : i64, neurons_per_core = 8 : i64, memory_per_core = 1000.0 : f64, method = "mt-kahypar", traffic = 4.0 : f64, baseline_traffic = 6.0 : f64, core_ids = dense<[0, 3]> : tensor<2xi32>, core_loads = dense<[[5, 4, 0, 2, 1, 2], [4, 8, 0, 2, 1, 4]]> : tensor<2x6xi64>, core_memory = dense<[120.0, 176.0]> : tensor<2xf64>, inputs_placed} {
    placement.population "in" {cores = dense<0> : tensor<2xi32>}
    placement.population "ghost" {cores = dense<0> : tensor<1xi32>}
    placement.population "lif" {cores = dense<[0, 0, 3, 3, 3, 3]> : tensor<6xi32>}
  }
}
// CHECK: placement.map: population "ghost" names no snn.neuron or placed snn.input of the graph

// -----

// Inputs placed without `inputs_placed`.
builtin.module {
  snn.graph attributes {dt = 1.0 : f64} {
    %in = snn.input "in" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %lif = snn.layer "lif"(%in : tensor<2xf32>) : tensor<6xf32> {
    ^bb0(%x: tensor<2xf32>):
      %w = snn.dense "w"(%x : tensor<2xf32>) {weight = dense<1.0> : tensor<6x2xf32>} : tensor<6xf32>
      %n = snn.neuron "lif"(%w : tensor<6xf32>) {alpha_mem = dense<0.9> : tensor<f64>, v_threshold = dense<1.0> : tensor<f64>} : tensor<6xf32>
      snn.yield %n : tensor<6xf32>
    }
    snn.output "out"(%lif : tensor<6xf32>)
  }
  placement.map attributes {target = "test", cores_per_chip = 3 : i64, chips = 2 : i64, neurons_per_core = 4 : i64, memory_per_core = 1000.0 : f64, method = "mt-kahypar", traffic = 4.0 : f64, baseline_traffic = 6.0 : f64, core_ids = dense<[0, 3]> : tensor<2xi32>, core_loads = dense<[[4, 4, 0, 2, 1, 2], [4, 8, 0, 2, 1, 4]]> : tensor<2x6xi64>, core_memory = dense<[120.0, 176.0]> : tensor<2xf64>} {
    placement.population "in" {cores = dense<0> : tensor<2xi32>}
    placement.population "lif" {cores = dense<[0, 0, 3, 3, 3, 3]> : tensor<6xi32>}
  }
}
// CHECK: placement.map: population "in" names no snn.neuron of the graph

// -----

// Core ids are 32-bit.
builtin.module {
  snn.graph attributes {dt = 1.0 : f64} {
    %in = snn.input "in" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %lif = snn.layer "lif"(%in : tensor<2xf32>) : tensor<6xf32> {
    ^bb0(%x: tensor<2xf32>):
      %w = snn.dense "w"(%x : tensor<2xf32>) {weight = dense<1.0> : tensor<6x2xf32>} : tensor<6xf32>
      %n = snn.neuron "lif"(%w : tensor<6xf32>) {alpha_mem = dense<0.9> : tensor<f64>, v_threshold = dense<1.0> : tensor<f64>} : tensor<6xf32>
      snn.yield %n : tensor<6xf32>
    }
    snn.output "out"(%lif : tensor<6xf32>)
  }
  placement.map attributes {target = "test", cores_per_chip = 3 : i64, chips = 2 : i64, neurons_per_core = 4 : i64, memory_per_core = 1000.0 : f64, method = "mt-kahypar", traffic = 4.0 : f64, baseline_traffic = 6.0 : f64, core_ids = dense<[0, 3]> : tensor<2xi32>, core_loads = dense<[[4, 4, 0, 2, 1, 2], [4, 8, 0, 2, 1, 4]]> : tensor<2x6xi64>, core_memory = dense<[120.0, 176.0]> : tensor<2xf64>, inputs_placed} {
    placement.population "in" {cores = dense<0> : tensor<2xi64>}
    placement.population "lif" {cores = dense<[0, 0, 3, 3, 3, 3]> : tensor<6xi32>}
  }
}
// CHECK: placement.population "in": `cores` must be a 1-D tensor of i32 (one core id per neuron), found shape [2] of int64

// -----

// A core table row has six loads.
builtin.module {
  snn.graph attributes {dt = 1.0 : f64} {
    %in = snn.input "in" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %lif = snn.layer "lif"(%in : tensor<2xf32>) : tensor<6xf32> {
    ^bb0(%x: tensor<2xf32>):
      %w = snn.dense "w"(%x : tensor<2xf32>) {weight = dense<1.0> : tensor<6x2xf32>} : tensor<6xf32>
      %n = snn.neuron "lif"(%w : tensor<6xf32>) {alpha_mem = dense<0.9> : tensor<f64>, v_threshold = dense<1.0> : tensor<f64>} : tensor<6xf32>
      snn.yield %n : tensor<6xf32>
    }
    snn.output "out"(%lif : tensor<6xf32>)
  }
  placement.map attributes {target = "test", cores_per_chip = 3 : i64, chips = 2 : i64, neurons_per_core = 4 : i64, memory_per_core = 1000.0 : f64, method = "mt-kahypar", traffic = 4.0 : f64, baseline_traffic = 6.0 : f64, core_ids = dense<[0, 3]> : tensor<2xi32>, core_loads = dense<[[4, 4, 0, 2, 1], [4, 8, 0, 2, 1]]> : tensor<2x5xi64>, core_memory = dense<[120.0, 176.0]> : tensor<2xf64>, inputs_placed} {
    placement.population "in" {cores = dense<0> : tensor<2xi32>}
    placement.population "lif" {cores = dense<[0, 0, 3, 3, 3, 3]> : tensor<6xi32>}
  }
}
// CHECK: placement.map: `core_loads` must be a 2x6 integer tensor (a row per core: neurons, synapses, shared_weights, input_axons, source_slices, recorded), found shape [2, 5] of int64

// -----

// Core ids in increasing order.
builtin.module {
  snn.graph attributes {dt = 1.0 : f64} {
    %in = snn.input "in" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %lif = snn.layer "lif"(%in : tensor<2xf32>) : tensor<6xf32> {
    ^bb0(%x: tensor<2xf32>):
      %w = snn.dense "w"(%x : tensor<2xf32>) {weight = dense<1.0> : tensor<6x2xf32>} : tensor<6xf32>
      %n = snn.neuron "lif"(%w : tensor<6xf32>) {alpha_mem = dense<0.9> : tensor<f64>, v_threshold = dense<1.0> : tensor<f64>} : tensor<6xf32>
      snn.yield %n : tensor<6xf32>
    }
    snn.output "out"(%lif : tensor<6xf32>)
  }
  placement.map attributes {target = "test", cores_per_chip = 3 : i64, chips = 2 : i64, neurons_per_core = 4 : i64, memory_per_core = 1000.0 : f64, method = "mt-kahypar", traffic = 4.0 : f64, baseline_traffic = 6.0 : f64, core_ids = dense<[3, 0]> : tensor<2xi32>, core_loads = dense<[[4, 8, 0, 2, 1, 4], [4, 4, 0, 2, 1, 2]]> : tensor<2x6xi64>, core_memory = dense<[120.0, 176.0]> : tensor<2xf64>, inputs_placed} {
    placement.population "in" {cores = dense<0> : tensor<2xi32>}
    placement.population "lif" {cores = dense<[0, 0, 3, 3, 3, 3]> : tensor<6xi32>}
  }
}
// CHECK: placement.map: `core_ids` must be strictly increasing

// -----

// A negative core id.
builtin.module {
  snn.graph attributes {dt = 1.0 : f64} {
    %in = snn.input "in" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %lif = snn.layer "lif"(%in : tensor<2xf32>) : tensor<6xf32> {
    ^bb0(%x: tensor<2xf32>):
      %w = snn.dense "w"(%x : tensor<2xf32>) {weight = dense<1.0> : tensor<6x2xf32>} : tensor<6xf32>
      %n = snn.neuron "lif"(%w : tensor<6xf32>) {alpha_mem = dense<0.9> : tensor<f64>, v_threshold = dense<1.0> : tensor<f64>} : tensor<6xf32>
      snn.yield %n : tensor<6xf32>
    }
    snn.output "out"(%lif : tensor<6xf32>)
  }
  placement.map attributes {target = "test", cores_per_chip = 3 : i64, chips = 2 : i64, neurons_per_core = 4 : i64, memory_per_core = 1000.0 : f64, method = "mt-kahypar", traffic = 4.0 : f64, baseline_traffic = 6.0 : f64, core_ids = dense<[0, 3]> : tensor<2xi32>, core_loads = dense<[[4, 4, 0, 2, 1, 2], [4, 8, 0, 2, 1, 4]]> : tensor<2x6xi64>, core_memory = dense<[120.0, 176.0]> : tensor<2xf64>, inputs_placed} {
    placement.population "in" {cores = dense<-1> : tensor<2xi32>}
    placement.population "lif" {cores = dense<[0, 0, 3, 3, 3, 3]> : tensor<6xi32>}
  }
}
// CHECK: placement.population "in": core ids must be >= 0, found -1

// -----

// A population outside a placement.map.
builtin.module {
  placement.population "lif" {cores = dense<0> : tensor<6xi32>}
}
// CHECK: 'placement.population' expects parent op 'placement.map'
