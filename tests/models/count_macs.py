#!/usr/bin/python3
"""Count parameters and Conv/Gemm/MatMul multiply-adds of an ONNX model, independently of edgecc.

Usage: /usr/bin/python3 tests/models/count_macs.py MODEL.onnx
Prints {"params": N, "conv_gemm_macs": M}. params is the element count of all graph
initializers; shapes of activations come from onnx.shape_inference. Shape subgraphs that
onnx's inference cannot see through (Shape -> Gather -> Div -> Mul -> Slice, as PyTorch
exports x.chunk()) are evaluated here on small integer tensors and frozen before inferring again.
"""

import json
import sys

import numpy as np
import onnx
from onnx import numpy_helper, shape_inference

FOLD_LIMIT = 1024  # largest tensor the shape folder will compute or freeze


def numel(dims):
    n = 1
    for d in dims:
        n *= d
    return n


def known_shapes(graph):
    shapes = {}
    for vi in list(graph.input) + list(graph.value_info) + list(graph.output):
        t = vi.type.tensor_type
        if t.HasField("shape"):
            dims = [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim]
            shapes[vi.name] = dims
    for init in graph.initializer:
        shapes[init.name] = list(init.dims)
    return shapes


def shape_of(shapes, name, node):
    dims = shapes.get(name)
    if dims is None or any(d is None for d in dims):
        raise SystemExit("count_macs: no static shape for '%s' (input of %s node '%s')"
                         % (name, node.op_type, node.name))
    return dims


def attr(node, key, default):
    for a in node.attribute:
        if a.name == key:
            return onnx.helper.get_attribute_value(a)
    return default


def node_macs(node, shapes):
    if node.op_type == "Conv":
        # W is [Cout, Cin/group, k...]: each output element costs prod(W.shape[1:]) MACs.
        w = shape_of(shapes, node.input[1], node)
        y = shape_of(shapes, node.output[0], node)
        return numel(y) * numel(w[1:])
    if node.op_type == "Gemm":
        a = shape_of(shapes, node.input[0], node)
        b = shape_of(shapes, node.input[1], node)
        m, k = (a[1], a[0]) if attr(node, "transA", 0) else (a[0], a[1])
        n = b[0] if attr(node, "transB", 0) else b[1]
        return m * n * k
    if node.op_type == "MatMul":
        # Output holds every (batch..., M, N) pair; each is a K-long dot product.
        a = shape_of(shapes, node.input[0], node)
        y = shape_of(shapes, node.output[0], node)
        return numel(y) * a[-1]
    return 0


def int_div(a, b):
    # ONNX integer Div truncates toward zero; numpy's // floors.
    if np.issubdtype(a.dtype, np.integer):
        return (np.sign(a) * np.sign(b) * (np.abs(a) // np.abs(b))).astype(a.dtype)
    return a / b


def slice_op(data, starts, ends, axes=None, steps=None):
    axes = range(len(starts)) if axes is None else [int(a) % data.ndim for a in axes]
    steps = [1] * len(starts) if steps is None else steps
    index = [slice(None)] * data.ndim
    for axis, start, end, step in zip(axes, starts, ends, steps):
        index[axis] = slice(int(start), int(end), int(step))
    return data[tuple(index)]


def eval_node(node, vals):
    """Value of a shape-subgraph node from constant inputs, or None if it is not one."""
    op, x = node.op_type, vals
    if op == "Constant":
        return numpy_helper.to_array(attr(node, "value", None)) if attr(node, "value", None) else None
    if op == "Gather":
        return np.take(x[0], x[1], axis=attr(node, "axis", 0))
    if op in ("Add", "Sub", "Mul", "Div"):
        f = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": int_div}[op]
        return np.asarray(f(x[0], x[1])).astype(x[0].dtype)
    if op == "Unsqueeze":
        out = x[0]
        for a in sorted(int(a) % (x[0].ndim + len(x[1])) for a in x[1]):
            out = np.expand_dims(out, a)
        return out
    if op == "Squeeze":
        return np.squeeze(x[0], axis=tuple(int(a) for a in x[1])) if len(x) > 1 else np.squeeze(x[0])
    if op == "Concat":
        return np.concatenate(x, axis=attr(node, "axis", 0))
    if op == "Slice":
        return slice_op(*x)
    if op == "Cast":
        return x[0].astype(onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[attr(node, "to", 0)])
    if op == "Reshape":
        return x[0].reshape([d if d != 0 else x[0].shape[i] for i, d in enumerate(x[1])])
    return None


def fold_shape_subgraphs(model):
    """Replace small constant-valued node outputs by initializers; return how many."""
    graph = model.graph
    shapes = known_shapes(graph)
    vals = {init.name: numpy_helper.to_array(init) for init in graph.initializer
            if numel(init.dims) <= FOLD_LIMIT}
    folded, keep = [], []
    for node in graph.node:
        out = None
        if node.op_type == "Shape":
            dims = shapes.get(node.input[0])
            if dims is not None and None not in dims:
                out = slice_op(np.array(dims, np.int64), [attr(node, "start", 0)],
                               [attr(node, "end", len(dims))])
        elif all(name in vals for name in node.input if name):
            try:
                out = eval_node(node, [vals[name] if name else None for name in node.input])
            except (ValueError, IndexError, KeyError, TypeError):
                out = None
        if out is not None and len(node.output) == 1 and np.asarray(out).size <= FOLD_LIMIT:
            vals[node.output[0]] = np.asarray(out)
            folded.append(numpy_helper.from_array(np.asarray(out), node.output[0]))
        else:
            keep.append(node)
    if folded:
        del graph.node[:]
        graph.node.extend(keep)
        names = {t.name for t in folded}
        kept_vi = [vi for vi in graph.value_info if vi.name not in names]
        del graph.value_info[:]
        graph.value_info.extend(kept_vi)
        graph.initializer.extend(folded)
    return len(folded)


def count(path):
    original = onnx.load(path)
    params = sum(numel(init.dims) for init in original.graph.initializer)
    model = shape_inference.infer_shapes(original, data_prop=True)
    while fold_shape_subgraphs(model):
        model = shape_inference.infer_shapes(model, data_prop=True)
    graph = model.graph
    shapes = known_shapes(graph)
    macs = sum(node_macs(node, shapes) for node in graph.node)
    return {"params": params, "conv_gemm_macs": macs}


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: count_macs.py MODEL.onnx\n")
        return 2
    print(json.dumps(count(sys.argv[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
