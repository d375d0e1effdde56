// RUN: nirc opt %s --split-input-file --verify-diagnostics | filecheck %s

// Each chunk breaks one rule of the `nir` dialect's verifiers.

// Conv output size per axis, each with its own kernel size (3 and 5 here).
builtin.module {
  nir.graph {
    %0 = nir.input "input" {shape = dense<[2, 8, 8]> : tensor<3xi64>} : tensor<2x8x8xf32>
    %1 = nir.conv2d "conv"(%0 : tensor<2x8x8xf32>) {weight = dense<1.0> : tensor<4x2x3x5xf32>, stride = dense<1> : tensor<2xi64>, padding = dense<0> : tensor<2xi64>, dilation = dense<1> : tensor<2xi64>, groups = dense<1> : tensor<i64>, bias = dense<0.0> : tensor<4xf32>} : tensor<4x6x6xf32>
  }
}
// CHECK: nir.conv2d "conv": result type says shape [4, 6, 6] but the node computes [4, 6, 4]

// -----
// A kernel that does not fit its input on one axis.
builtin.module {
  nir.graph {
    %0 = nir.input "input" {shape = dense<[1, 8]> : tensor<2xi64>} : tensor<1x8xf32>
    %1 = nir.conv1d "conv"(%0 : tensor<1x8xf32>) {weight = dense<1.0> : tensor<2x1x9xf32>, stride = dense<1> : tensor<1xi64>, padding = dense<0> : tensor<1xi64>, dilation = dense<1> : tensor<1xi64>, groups = dense<1> : tensor<i64>, bias = dense<0.0> : tensor<2xf32>} : tensor<*xf32>
  }
}
// CHECK: nir.conv1d "conv": Conv1d kernel does not fit its input on axis 0

// -----
// groups must divide the output channels.
builtin.module {
  nir.graph {
    %0 = nir.input "input" {shape = dense<[4, 8, 8]> : tensor<3xi64>} : tensor<4x8x8xf32>
    %1 = nir.conv2d "conv"(%0 : tensor<4x8x8xf32>) {weight = dense<1.0> : tensor<3x2x3x3xf32>, stride = dense<1> : tensor<2xi64>, padding = dense<1> : tensor<2xi64>, dilation = dense<1> : tensor<2xi64>, groups = dense<2> : tensor<i64>, bias = dense<0.0> : tensor<3xf32>} : tensor<*xf32>
  }
}
// CHECK: nir.conv2d "conv": conv.groups: groups must divide the output channels; expected a divisor of out_channels=3; found 2

// -----
// Input channels = weight.shape[1] x groups.
builtin.module {
  nir.graph {
    %0 = nir.input "input" {shape = dense<[3, 8, 8]> : tensor<3xi64>} : tensor<3x8x8xf32>
    %1 = nir.conv2d "conv"(%0 : tensor<3x8x8xf32>) {weight = dense<1.0> : tensor<4x2x3x3xf32>, stride = dense<1> : tensor<2xi64>, padding = dense<1> : tensor<2xi64>, dilation = dense<1> : tensor<2xi64>, groups = dense<2> : tensor<i64>, bias = dense<0.0> : tensor<4xf32>} : tensor<*xf32>
  }
}
// CHECK: nir.conv2d "conv": Conv2d input channels disagree with its weight; expected 4 channels (weight.shape[1]=2 x groups=2); found input shape [3, 8, 8]

// -----
// Padding 'same' needs stride 1.
builtin.module {
  nir.graph {
    %0 = nir.input "input" {shape = dense<[2, 8, 8]> : tensor<3xi64>} : tensor<2x8x8xf32>
    %1 = nir.conv2d "conv"(%0 : tensor<2x8x8xf32>) {weight = dense<1.0> : tensor<4x2x3x3xf32>, stride = dense<2> : tensor<2xi64>, padding = "same", dilation = dense<1> : tensor<2xi64>, groups = dense<1> : tensor<i64>, bias = dense<0.0> : tensor<4xf32>} : tensor<*xf32>
  }
}
// CHECK: nir.conv2d "conv": conv.padding: padding 'same' needs stride 1 (as in PyTorch)

// -----
// The bias has one entry per output channel.
builtin.module {
  nir.graph {
    %0 = nir.input "input" {shape = dense<[2, 8, 8]> : tensor<3xi64>} : tensor<2x8x8xf32>
    %1 = nir.conv2d "conv"(%0 : tensor<2x8x8xf32>) {weight = dense<1.0> : tensor<4x2x3x3xf32>, stride = dense<1> : tensor<2xi64>, padding = "valid", dilation = dense<1> : tensor<2xi64>, groups = dense<1> : tensor<i64>, bias = dense<0.0> : tensor<3xf32>} : tensor<*xf32>
  }
}
// CHECK: nir.conv2d "conv": Conv2d bias must have one entry per output channel; expected shape [4] (or a scalar); found shape [3]

// -----
// Pooling: the window must fit the padded input.
builtin.module {
  nir.graph {
    %0 = nir.input "input" {shape = dense<[2, 4, 4]> : tensor<3xi64>} : tensor<2x4x4xf32>
    %1 = nir.sum_pool2d "pool"(%0 : tensor<2x4x4xf32>) {kernel_size = dense<[2, 5]> : tensor<2xi64>, stride = dense<2> : tensor<2xi64>, padding = dense<0> : tensor<2xi64>} : tensor<*xf32>
  }
}
// CHECK: nir.sum_pool2d "pool": SumPool2d kernel larger than its padded input on axis 1

// -----
// Pooling: the output size.
builtin.module {
  nir.graph {
    %0 = nir.input "input" {shape = dense<[2, 4, 4]> : tensor<3xi64>} : tensor<2x4x4xf32>
    %1 = nir.avg_pool2d "pool"(%0 : tensor<2x4x4xf32>) {kernel_size = dense<2> : tensor<2xi64>, stride = dense<2> : tensor<2xi64>, padding = dense<0> : tensor<2xi64>} : tensor<2x4x4xf32>
  }
}
// CHECK: nir.avg_pool2d "pool": result type says shape [2, 4, 4] but the node computes [2, 2, 2]

// -----
// Flatten dims index the per-sample shape.
builtin.module {
  nir.graph {
    %0 = nir.input "input" {shape = dense<[2, 3]> : tensor<2xi64>} : tensor<2x3xf32>
    %1 = nir.flatten "flat"(%0 : tensor<2x3xf32>) {start_dim = dense<1> : tensor<i64>, end_dim = dense<2> : tensor<i64>} : tensor<*xf32>
  }
}
// CHECK: nir.flatten "flat": Flatten dims out of range for its input; expected 0 <= start_dim <= end_dim < 2 (negative counts from the end); found start_dim=1, end_dim=2, input [2, 3]

// -----
// Flatten's input_type must be what reaches it.
builtin.module {
  nir.graph {
    %0 = nir.input "input" {shape = dense<[2, 3]> : tensor<2xi64>} : tensor<2x3xf32>
    %1 = nir.flatten "flat"(%0 : tensor<2x3xf32>) {start_dim = dense<0> : tensor<i64>, end_dim = dense<-1> : tensor<i64>, input_type = dense<[3, 2]> : tensor<2xi64>} : tensor<6xf32>
  }
}
// CHECK: nir.flatten "flat": Flatten input disagrees with its `input_type`; expected input of shape [3, 2]; found input of shape [2, 3]

// -----
// Affine: the input size is the weight's last axis.
builtin.module {
  nir.graph {
    %0 = nir.input "input" {shape = dense<1> : tensor<1xi64>} : tensor<1xf32>
    %1 = nir.affine "fc"(%0 : tensor<1xf32>) {weight = dense<1.0> : tensor<4x12xf32>, bias = dense<0.0> : tensor<4xf32>} : tensor<4xf32>
  }
}
// CHECK: nir.affine "fc": Affine input size disagrees with its weight; expected last input axis 12 (weight is [4, 12]); found input shape [1]

// -----
// Affine: the result size is the weight's first axis.
builtin.module {
  nir.graph {
    %0 = nir.input "input" {shape = dense<12> : tensor<1xi64>} : tensor<12xf32>
    %1 = nir.linear "fc"(%0 : tensor<12xf32>) {weight = dense<1.0> : tensor<4x12xf32>} : tensor<5xf32>
  }
}
// CHECK: nir.linear "fc": result type says shape [5] but the node computes [4]

// -----
// Affine: the bias matches the output.
builtin.module {
  nir.graph {
    %0 = nir.input "input" {shape = dense<12> : tensor<1xi64>} : tensor<12xf32>
    %1 = nir.affine "fc"(%0 : tensor<12xf32>) {weight = dense<1.0> : tensor<4x12xf32>, bias = dense<0.0> : tensor<3xf32>} : tensor<4xf32>
  }
}
// CHECK: nir.affine "fc": Affine bias does not match the weight's output size; expected shape [4]; found shape [3]

// -----
// Neuron parameters all have the layer's shape (no broadcasting, except w_in).
builtin.module {
  nir.graph {
    %0 = nir.input "input" {shape = dense<3> : tensor<1xi64>} : tensor<3xf32>
    %1 = nir.lif "lif"(%0 : tensor<3xf32>) {tau = dense<1.0e-02> : tensor<3xf32>, r = dense<1.0> : tensor<3xf32>, v_leak = dense<0.0> : tensor<f32>, v_threshold = dense<1.0> : tensor<3xf32>} : tensor<3xf32>
  }
}
// CHECK: nir.lif "lif": `v_leak` does not have the layer's shape (NIR does not broadcast neuron parameters, except w_in); expected shape [3] like `tau`; found shape []

// -----
// Time constants are positive.
builtin.module {
  nir.graph {
    %0 = nir.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %1 = nir.cuba_li "li"(%0 : tensor<2xf32>) {tau_syn = dense<[5.0e-03, 0.0]> : tensor<2xf64>, tau_mem = dense<1.0e-02> : tensor<2xf64>, r = dense<1.0> : tensor<2xf64>, v_leak = dense<0.0> : tensor<2xf64>} : tensor<2xf32>
  }
}
// CHECK: nir.cuba_li "li": time constant `tau_syn` must be > 0; expected every entry > 0 (seconds); found 0.0

// -----
// Values are finite.
builtin.module {
  nir.graph {
    %0 = nir.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %1 = nir.if "if"(%0 : tensor<2xf32>) {r = dense<1.0> : tensor<2xf32>, v_threshold = dense<"0x0000C07F0000803F"> : tensor<2xf32>} : tensor<2xf32>
  }
}
// CHECK: nir.if "if": `v_threshold` holds non-finite values; expected finite numbers; found nan among 2 values

// -----
// An elementwise node's input has its parameters' shape.
builtin.module {
  nir.graph {
    %0 = nir.input "input" {shape = dense<3> : tensor<1xi64>} : tensor<3xf32>
    %1 = nir.threshold "thr"(%0 : tensor<3xf32>) {threshold = dense<1.0> : tensor<4xf32>} : tensor<4xf32>
  }
}
// CHECK: nir.threshold "thr": Threshold input disagrees with its parameters' shape; expected input of shape [4]; found input of shape [3]

// -----
// Fan-in is summed: every input of a node has the same shape.
builtin.module {
  nir.graph {
    %0 = nir.input "a" {shape = dense<3> : tensor<1xi64>} : tensor<3xf32>
    %1 = nir.input "b" {shape = dense<4> : tensor<1xi64>} : tensor<4xf32>
    %2 = nir.i "i"(%0, %1 : tensor<3xf32>, tensor<4xf32>) {r = dense<1.0> : tensor<3xf32>} : tensor<3xf32>
  }
}
// CHECK: nir.i "i": inputs of different shapes cannot be summed; expected every input of shape [3]; found input 1 of shape [4]

// -----
// Delays are not negative.
builtin.module {
  nir.graph {
    %0 = nir.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %1 = nir.delay "d"(%0 : tensor<2xf32>) {delay = dense<[1.0e-03, -1.0e-03]> : tensor<2xf32>} : tensor<2xf32>
  }
}
// CHECK: nir.delay "d": `delay` must be >= 0

// -----
// A declared shape is a list of non-negative integers.
builtin.module {
  nir.graph {
    %0 = nir.input "input" {shape = dense<2.0> : tensor<1xf32>} : tensor<2xf32>
  }
}
// CHECK: nir.input "input": `shape` must be a list of non-negative integers; expected a 1-D integer tensor; found float32 of shape [1]

// -----
// Node names are unique within a graph.
builtin.module {
  nir.graph {
    %0 = nir.input "x" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    nir.output "x"(%0 : tensor<2xf32>) {shape = dense<2> : tensor<1xi64>}
  }
}
// CHECK: nir.graph "<top>": node name "x" is used twice; NIR node names must be unique within a graph

// -----
// A nested graph has one result per nir.output.
builtin.module {
  nir.graph {
    %0 = nir.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %1, %2 = nir.graph "sub" -> tensor<2xf32>, tensor<2xf32> {
      %3 = nir.input "in"(%0 : tensor<2xf32>) {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
      nir.output "out"(%3 : tensor<2xf32>) {shape = dense<2> : tensor<1xi64>}
    }
  }
}
// CHECK: nir.graph "sub": has 2 results but 1 nir.output ops; a nested graph has one result per nir.output, in block order

// -----
// edge_order is a permutation of the graph's edges.
builtin.module {
  nir.graph attributes {edge_order = dense<[0, 0]> : tensor<2xi64>} {
    %0 = nir.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %1 = nir.scale "s"(%0 : tensor<2xf32>) {scale = dense<2.0> : tensor<2xf32>} : tensor<2xf32>
    nir.output "output"(%1 : tensor<2xf32>) {shape = dense<2> : tensor<1xi64>}
  }
}
// CHECK: nir.graph "<top>": edge_order must be a permutation of the 2 edges (an i64 tensor<2xi64>), found int64 of shape [2]

// -----
// Edges stay within a graph: inner nodes reach outer values through nir.input.
builtin.module {
  nir.graph {
    %0 = nir.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %1 = nir.graph "sub" -> tensor<2xf32> {
      %2 = nir.scale "s"(%0 : tensor<2xf32>) {scale = dense<2.0> : tensor<2xf32>} : tensor<2xf32>
      nir.output "out"(%2 : tensor<2xf32>) {shape = dense<2> : tensor<1xi64>}
    }
  }
}
// CHECK: nir.scale "s": an edge must come from a node of the same graph (edges into a nested graph go through its nir.input ops)

// -----
// A top-level nir.input has no operands.
builtin.module {
  nir.graph {
    %0 = nir.input "a" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %1 = nir.input "b"(%0 : tensor<2xf32>) {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
  }
}
// CHECK: nir.input "b": a top-level nir.input takes no operands

// -----
// Node ops live in a nir.graph.
builtin.module {
  %0 = nir.input "a" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
}
// CHECK: 'nir.input' expects parent op 'nir.graph'

// -----
// A nested graph is a NIR node: it has a name.
builtin.module {
  nir.graph {
    nir.graph {
    }
  }
}
// CHECK: a nested nir.graph needs a name (its NIR node name)


// -----
// Unknown fields are refused (a misspelt optional field would be lost).
builtin.module {
  nir.graph {
    %0 = nir.input "input" {shape = dense<2> : tensor<1xi64>} : tensor<2xf32>
    %1 = nir.scale "s"(%0 : tensor<2xf32>) {scale = dense<2.0> : tensor<2xf32>, gain = dense<1.0> : tensor<2xf32>} : tensor<2xf32>
  }
}
// CHECK: nir.scale "s": unknown field(s) gain; nir.scale has metadata, scale
