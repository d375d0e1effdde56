// RUN: nirc opt %s | filecheck %s
// RUN: nirc opt %s | %roundtrip | filecheck %s
// RUN: nirc opt %s --print-generic | filecheck %s --check-prefix=GENERIC

// A placement of a 6-neuron layer over two cores of two chips (3 cores per
// chip), the input placed too (core 0). The core table lists every used core:
// its loads (neurons, synapses, shared kernel weights, input axons, source
// slices, recorded neurons) and its memory by the target's formula.
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
  placement.map attributes {target = "spinnaker2", cores_per_chip = 3 : i64, chips = 2 : i64, neurons_per_core = 4 : i64, memory_per_core = 1000.0 : f64, method = "mt-kahypar", traffic = 4.0 : f64, baseline_traffic = 6.0 : f64, core_ids = dense<[0, 3]> : tensor<2xi32>, core_loads = dense<[[4, 4, 0, 2, 1, 2], [4, 8, 0, 2, 1, 4]]> : tensor<2x6xi64>, core_memory = dense<[120.0, 176.0]> : tensor<2xf64>, inputs_placed} {
    placement.population "in" {cores = dense<0> : tensor<2xi32>}
    placement.population "lif" {cores = dense<[0, 0, 3, 3, 3, 3]> : tensor<6xi32>}
  }
}

// CHECK:      placement.map attributes {target = "spinnaker2", cores_per_chip = 3 : i64, chips = 2 : i64, neurons_per_core = 4 : i64, memory_per_core = 1.000000e+03 : f64, method = "mt-kahypar", traffic = 4.000000e+00 : f64, baseline_traffic = 6.000000e+00 : f64, core_ids = dense<[0, 3]> : tensor<2xi32>, core_loads = dense<{{\[}}[4, 4, 0, 2, 1, 2], [4, 8, 0, 2, 1, 4]]> : tensor<2x6xi64>, core_memory = dense<[1.200000e+02, 1.760000e+02]> : tensor<2xf64>, inputs_placed} {
// CHECK-NEXT:   placement.population "in" {cores = dense<0> : tensor<2xi32>}
// CHECK-NEXT:   placement.population "lif" {cores = dense<[0, 0, 3, 3, 3, 3]> : tensor<6xi32>}
// CHECK-NEXT: }

// GENERIC:      "placement.map"() <{target = "spinnaker2", cores_per_chip = 3 : i64
// GENERIC:        "placement.population"() <{name = "in", cores = dense<0> : tensor<2xi32>}> : () -> ()
