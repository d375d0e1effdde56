// RUN: nirc opt %s -p 'partition{core_neurons=8 cores_per_chip=2 chips=4 method=index report=false}' | filecheck %s --check-prefix=INDEX
// RUN: nirc opt %s -p 'partition{core_neurons=8 cores_per_chip=2 chips=4 report=false}' | filecheck %s --check-prefix=AUTO
// RUN: nirc opt %s -p 'partition{core_neurons=8 cores_per_chip=2 chips=4 report=false}' | %roundtrip | filecheck %s --check-prefix=AUTO
// RUN: nirc opt %s -p 'partition{core_neurons=8 cores_per_chip=2 chips=4}' 2>&1 >/dev/null | filecheck %s --check-prefix=REPORT
// RUN: nirc opt %s -p 'partition{target=loihi2 report=false}' | filecheck %s --check-prefix=LOIHI2

// A fused network: a 3x3 convolution of a 1x4x4 input into 2x4x4 spiking
// neurons pooled 2x2 (layer "conv", 32 neurons), flattened into a recurrent
// layer of 3 neurons ("h"). The input is not placed (it comes from the host).
builtin.module {
  snn.graph attributes {dt = 1.0 : f64, integrator = "euler", reset = "zero"} {
    %in = snn.input "in" {shape = dense<[1, 4, 4]> : tensor<3xi64>} : tensor<1x4x4xf32>
    %pool = snn.layer "conv"(%in : tensor<1x4x4xf32>) : tensor<2x2x2xf32> {
    ^bb0(%x: tensor<1x4x4xf32>):
      %k = snn.conv2d "k"(%x : tensor<1x4x4xf32>) {weight = dense<1.0> : tensor<2x1x3x3xf32>, stride = dense<1> : tensor<2xi64>, padding = dense<1> : tensor<2x2xi64>, dilation = dense<1> : tensor<2xi64>, groups = dense<1> : tensor<i64>} : tensor<2x4x4xf32>
      %conv = snn.neuron "conv"(%k : tensor<2x4x4xf32>) {alpha_mem = dense<0.9> : tensor<f64>, v_threshold = dense<1.0> : tensor<f64>, reset = "subtract"} : tensor<2x4x4xf32>
      %p = snn.sum_pool2d "pool"(%conv : tensor<2x4x4xf32>) {kernel_size = dense<2> : tensor<2xi64>, stride = dense<2> : tensor<2xi64>, padding = dense<0> : tensor<2xi64>} : tensor<2x2x2xf32>
      snn.yield %p : tensor<2x2x2xf32>
    }
    %flat = snn.reshape "flat"(%pool : tensor<2x2x2xf32>) : tensor<8xf32>
    %h = snn.layer "h"(%flat, %d : tensor<8xf32>, tensor<3xf32>) : tensor<3xf32> {
    ^bb0(%f: tensor<8xf32>, %r: tensor<3xf32>):
      %fc = snn.dense "fc"(%f : tensor<8xf32>) {weight = dense<1.0> : tensor<3x8xf32>} : tensor<3xf32>
      %rec = snn.dense "rec"(%r : tensor<3xf32>) {weight = dense<[[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]> : tensor<3x3xf32>} : tensor<3xf32>
      %hn = snn.neuron "h"(%fc, %rec : tensor<3xf32>, tensor<3xf32>) {alpha_mem = dense<0.9> : tensor<f64>, v_threshold = dense<1.0> : tensor<f64>} : tensor<3xf32>
      snn.yield %hn : tensor<3xf32>
    }
    %d = snn.delay "rec.delay"(%h : tensor<3xf32>) {steps = dense<1> : tensor<i64>} : tensor<3xf32>
    snn.output "out"(%h : tensor<3xf32>)
  }
}

// Index order (what the vendors' tools do): the 32 conv neurons in slices of
// 8 on cores 0..3 (a channel's 4x4 map takes two cores: rows 0-1, rows 2-3),
// "h" on core 4 of chip 2. Traffic (see nirc.passes.partition): an input in
// row 0 or 3 reaches one core of each channel, in rows 1-2 both: 4 x (2 + 4 +
// 4 + 2) = 48 copies; every conv spike reaches core 4 on another chip (chip
// hop cost 10): 32 x 10 = 320; "h" reaches only its own core: 368 in all.
// The core table's rows: neurons, synapses, shared kernel weights, input
// axons, source slices, recorded neurons.
// INDEX:      placement.map attributes {target = "generic", cores_per_chip = 2 : i64, chips = 4 : i64, neurons_per_core = 8 : i64, method = "index-order", traffic = 3.680000e+02 : f64, baseline_traffic = 3.680000e+02 : f64, core_ids = dense<[0, 1, 2, 3, 4]> : tensor<5xi32>, core_loads = dense<{{\[}}[8, 0, 9, 12, 1, 0], [8, 0, 9, 12, 1, 0], [8, 0, 9, 12, 1, 0], [8, 0, 9, 12, 1, 0], [3, 27, 0, 35, 5, 3]]> : tensor<5x6xi64>, core_memory = dense<0.000000e+00> : tensor<5xf64>} {
// INDEX-NEXT:   placement.population "conv" {cores = dense<[0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3]> : tensor<32xi32>}
// INDEX-NEXT:   placement.population "h" {cores = dense<4> : tensor<3xi32>}
// INDEX-NEXT: }

// The partitioner (Mt-KaHyPar, seeded) keeps its placement only when it sends
// fewer spike copies on no more cores; the baseline's figure stays recorded.
// AUTO:      snn.graph
// AUTO:      placement.map attributes {target = "generic", cores_per_chip = 2 : i64, chips = 4 : i64, neurons_per_core = 8 : i64, method = "mt-kahypar", traffic = {{.*}} : f64, baseline_traffic = 3.680000e+02 : f64, core_ids = dense<[0, 1, 2, 3, 4]> : tensor<5xi32>, core_loads = dense<{{.*}}> : tensor<5x6xi64>, core_memory = dense<0.000000e+00> : tensor<5xf64>} {
// AUTO-NEXT:   placement.population "conv" {cores = dense<[{{.*}}]> : tensor<32xi32>}
// AUTO-NEXT:   placement.population "h" {cores = dense<{{.*}}> : tensor<3xi32>}
// AUTO-NEXT: }

// The per-core table goes to stderr (report=true, the default).
// REPORT:      placement on generic (mt-kahypar): 5 cores on 3 chip(s); traffic {{.*}} spike copies/step, index order {{.*}} on 5 cores ({{.*}}x)
// REPORT:        core chip  neurons  synapses  kernel   axons sources   rec     memory   use  populations
// REPORT-NEXT:      0    0  {{.*}}  conv ({{[0-9]+}})

// With a target, its spec's capacity model: Loihi 2 takes the whole network on one core.
// LOIHI2: placement.map attributes {target = "loihi2", cores_per_chip = 128 : i64, chips = 1 : i64, neurons_per_core = 8192 : i64, memory_per_core = 1.310720e+05 : f64, method = "mt-kahypar", {{.*}} core_ids = dense<0> : tensor<1xi32>
