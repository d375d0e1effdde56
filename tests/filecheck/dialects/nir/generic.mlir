// RUN: nirc opt %s --print-generic | filecheck %s --check-prefix=GENERIC
// RUN: nirc opt %s | filecheck %s --check-prefix=CUSTOM
// RUN: nirc opt %s --print-generic | nirc opt - --print-generic | filecheck %s --check-prefix=GENERIC

// The generic syntax: properties in <{...}>, the graph region in ({...}).
// The nested graph has one result per nir.output; edge_order gives the file's
// edge order (here: the recurrent edge w_rec -> lif is listed first).

"builtin.module"() ({
  "nir.graph"() <{edge_order = dense<[2, 0, 1, 3, 4]> : tensor<5xi64>}> ({
    %0 = "nir.input"() <{name = "input", shape = dense<2> : tensor<1xi64>}> : () -> tensor<2xf32>
    %1 = "nir.li"(%0, %2) <{name = "li", tau = dense<1.0e-02> : tensor<2xf32>, r = dense<1.0> : tensor<2xf32>, v_leak = dense<0.0> : tensor<2xf32>}> : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
    %2 = "nir.linear"(%1) <{name = "w_rec", weight = dense<[[0.5, 0.0], [0.0, 0.5]]> : tensor<2x2xf32>}> : (tensor<2xf32>) -> tensor<2xf32>
    %3 = "nir.graph"() <{name = "block"}> ({
      %4 = "nir.input"(%1) <{name = "input", shape = dense<2> : tensor<1xi64>}> : (tensor<2xf32>) -> tensor<2xf32>
      "nir.output"(%4) <{name = "output", shape = dense<2> : tensor<1xi64>}> : (tensor<2xf32>) -> ()
    }) : () -> tensor<2xf32>
    "nir.output"(%3) <{name = "output", shape = dense<2> : tensor<1xi64>}> : (tensor<2xf32>) -> ()
  }) : () -> ()
}) : () -> ()

// GENERIC:      "builtin.module"() ({
// GENERIC-NEXT:   "nir.graph"() <{edge_order = dense<[2, 0, 1, 3, 4]> : tensor<5xi64>}> ({
// GENERIC-NEXT:     %0 = "nir.input"() <{name = "input", shape = dense<2> : tensor<1xi64>}> : () -> tensor<2xf32>
// GENERIC-NEXT:     %1 = "nir.li"(%0, %2) <{name = "li", tau = dense<1.000000e-02> : tensor<2xf32>, r = dense<1.000000e+00> : tensor<2xf32>, v_leak = dense<0.000000e+00> : tensor<2xf32>}> : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
// GENERIC-NEXT:     %2 = "nir.linear"(%1) <{name = "w_rec", weight = dense<{{\[\[}}5.000000e-01, 0.000000e+00], [0.000000e+00, 5.000000e-01]]> : tensor<2x2xf32>}> : (tensor<2xf32>) -> tensor<2xf32>
// GENERIC-NEXT:     %3 = "nir.graph"() <{name = "block"}> ({
// GENERIC-NEXT:       %4 = "nir.input"(%1) <{name = "input", shape = dense<2> : tensor<1xi64>}> : (tensor<2xf32>) -> tensor<2xf32>
// GENERIC-NEXT:       "nir.output"(%4) <{name = "output", shape = dense<2> : tensor<1xi64>}> : (tensor<2xf32>) -> ()
// GENERIC-NEXT:     }) : () -> tensor<2xf32>
// GENERIC-NEXT:     "nir.output"(%3) <{name = "output", shape = dense<2> : tensor<1xi64>}> : (tensor<2xf32>) -> ()
// GENERIC-NEXT:   }) : () -> ()
// GENERIC-NEXT: }) : () -> ()

// CUSTOM:      builtin.module {
// CUSTOM-NEXT:   nir.graph attributes {edge_order = dense<[2, 0, 1, 3, 4]> : tensor<5xi64>} {
// CUSTOM-NEXT:     %0 = nir.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
// CUSTOM-NEXT:     %1 = nir.li "li"(%0, %2 : tensor<2xf32>, tensor<2xf32>) {tau = dense<1.000000e-02> : tensor<2xf32>, r = dense<1.000000e+00> : tensor<2xf32>, v_leak = dense<0.000000e+00> : tensor<2xf32>} : tensor<2xf32>
// CUSTOM-NEXT:     %2 = nir.linear "w_rec"(%1 : tensor<2xf32>) {weight = dense<{{\[\[}}5.000000e-01, 0.000000e+00], [0.000000e+00, 5.000000e-01]]> : tensor<2x2xf32>} : tensor<2xf32>
// CUSTOM-NEXT:     %3 = nir.graph "block" -> tensor<2xf32> {
// CUSTOM-NEXT:       %4 = nir.input "input"(%1 : tensor<2xf32>) {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
// CUSTOM-NEXT:       nir.output "output"(%4 : tensor<2xf32>) {shape = dense<2> : tensor<1xi64>}
// CUSTOM-NEXT:     }
// CUSTOM-NEXT:     nir.output "output"(%3 : tensor<2xf32>) {shape = dense<2> : tensor<1xi64>}
// CUSTOM-NEXT:   }
// CUSTOM-NEXT: }
