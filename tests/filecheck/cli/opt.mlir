// RUN: nirc opt %s -p canonicalize,dce | filecheck %s
// RUN: nirc opt %s -p 'canonicalize,dce' --print-ir-after-all 2>&1 >/dev/null | filecheck %s --check-prefix=DUMP
// RUN: nirc opt %s -p dce -o %t.mlir && filecheck %s --check-prefix=DCE < %t.mlir
// RUN: nirc opt %s -o %t.nir && nirc opt %t.nir | filecheck %s --check-prefix=NIR
// RUN: not nirc opt %s -p canonicalise 2>&1 | filecheck %s --check-prefix=UNKNOWN
// RUN: not nirc opt %s -p 'dce{depth=2}' 2>&1 | filecheck %s --check-prefix=OPTION
// RUN: not nirc opt %s -p 'discretize{dtt=1e-4}' 2>&1 | filecheck %s --check-prefix=OPTNAME
// RUN: echo 'builtin.module { nir.graph { %0 = nir.input "x" } }' | not nirc opt - 2>&1 | filecheck %s --check-prefix=SYNTAX
// RUN: not nirc opt %t.missing 2>&1 | filecheck %s --check-prefix=MISSING

// `nirc opt`: passes from -p, output as IR or (-o x.nir) as a NIR file.

builtin.module {
  nir.graph attributes {metadata = {dt = dense<1.0e-04> : tensor<f64>}} {
    %in = nir.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %fc = nir.affine "fc"(%in : tensor<2xf32>) {weight = dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>, bias = dense<0.0> : tensor<2xf32>} : tensor<2xf32>
    %lif = nir.lif "lif"(%fc : tensor<2xf32>) {tau = dense<1.0e-02> : tensor<2xf32>, r = dense<1.0> : tensor<2xf32>, v_leak = dense<0.0> : tensor<2xf32>, v_threshold = dense<1.0> : tensor<2xf32>, v_reset = dense<0.0> : tensor<2xf32>} : tensor<2xf32>
    %dead = nir.scale "dead"(%lif : tensor<2xf32>) {scale = dense<2.0> : tensor<2xf32>} : tensor<2xf32>
    nir.output "output"(%lif : tensor<2xf32>) {shape = dense<2> : tensor<1xi64>}
  }
}

// CHECK:      %in = nir.input "input"
// CHECK-NEXT: %fc = nir.linear "fc"
// CHECK-NEXT: %lif = nir.lif "lif"
// CHECK-NEXT: nir.output "output"

// DUMP:      // -----// IR Dump After canonicalize //----- //
// DUMP:      %fc = nir.linear "fc"
// DUMP:      %dead = nir.scale "dead"
// DUMP:      // -----// IR Dump After dce //----- //
// DUMP-NOT:  %dead

// DCE:      %fc = nir.affine "fc"
// DCE-NOT:  "dead"

// NIR:      nir.graph attributes {metadata = {dt = dense<1.000000e-04> : tensor<f64>}} {
// NIR-NEXT:   %input = nir.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
// NIR-NEXT:   %fc = nir.affine "fc"(%input : tensor<2xf32>) {weight = dense<{{\[\[}}1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00]]> : tensor<2x2xf32>, bias = dense<0.000000e+00> : tensor<2xf32>} : tensor<2xf32>
// NIR-NEXT:   %lif = nir.lif "lif"(%fc : tensor<2xf32>)
// NIR-NEXT:   %dead = nir.scale "dead"(%lif : tensor<2xf32>)
// NIR-NEXT:   nir.output "output"(%lif : tensor<2xf32>)

// UNKNOWN: error: unknown pass `canonicalise`
// UNKNOWN: expected: one of canonicalize, dce, discretize, fold-weights, fuse, inline-subgraphs, lower-loihi2, lower-speck, lower-spinnaker2, nir-infer-shapes, partition, quantize
// UNKNOWN: hint: did you mean `canonicalize`?

// OPTION: error: dce: pass `dce` has no option `depth`
// OPTION-NEXT: expected: no options

// OPTNAME:      error: discretize: pass `discretize` has no option `dtt`
// OPTNAME-NEXT:   expected: one of dt, integrator, reset, source
// OPTNAME-NEXT:   found:    dtt
// OPTNAME-NEXT:   hint:     did you mean `dt`?

// SYNTAX: error: <stdin>: cannot parse the IR
// SYNTAX-NOT: Traceback

// MISSING: error: {{.*}}.missing: no such file
