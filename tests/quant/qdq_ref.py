#!/usr/bin/python3
"""qdq_ref.py — the QDQ semantics of a QDQ CNN computed in float64 by numpy, node by node (no ONNX
Runtime, no edgecc): DequantizeLinear gives exact multiples of the scale, Conv, Add and Gemm sum
them in float64, and QuantizeLinear rounds x / scale half to even and saturates, as the ONNX
operator defines it.

ONNX Runtime's unoptimised session computes the same semantics in float32: its sums carry float32
rounding, so a value within that rounding of a rounding boundary (k + 0.5 steps) can land one step
off, and that step travels on through the layers. An int8 implementation (integer sums, exact
until the requantization) lands off only where its requantization's own rounding (XNNPACK: the
scale product in float32) meets such a boundary. float64 leaves ~1e-16 relative error, far below
either, so this is the reference both are measured against.

Ops: QuantizeLinear, DequantizeLinear (per tensor, or per channel on axis 0), Conv (any
pads/strides/dilations/group), Relu, Clip, Add, MaxPool, GlobalAveragePool, Flatten, Gemm."""
import numpy as np
import onnx
from onnx import helper, numpy_helper


def _attrs(n):
    return {a.name: helper.get_attribute_value(a) for a in n.attribute}


def _windows(x, kh, kw, sh, sw, dh, dw):
    """x (C, H, W), padded: its (C, kh, kw, OH, OW) sliding windows."""
    c, h, w = x.shape
    oh, ow = (h - dh * (kh - 1) - 1) // sh + 1, (w - dw * (kw - 1) - 1) // sw + 1
    s = x.strides
    return np.lib.stride_tricks.as_strided(x, (c, kh, kw, oh, ow), (s[0], s[1] * dh, s[2] * dw, s[1] * sh, s[2] * sw),
                                           writeable=False)


def _pad(x, a, value=0.0):
    p = a.get("pads", [0, 0, 0, 0])
    return np.pad(x, ((0, 0), (p[0], p[2]), (p[1], p[3])), constant_values=value)


def _conv(x, w, b, a):
    assert x.shape[0] == 1
    kh, kw = w.shape[2:]
    sh, sw = a.get("strides", [1, 1])
    dh, dw = a.get("dilations", [1, 1])
    g = a.get("group", 1)
    win = _windows(_pad(x[0], a), kh, kw, sh, sw, dh, dw)
    oc, icg = w.shape[0], w.shape[1]
    ocg = oc // g
    out = []
    for k in range(g):
        cols = win[k * icg:(k + 1) * icg].reshape(icg * kh * kw, -1)
        out.append(w[k * ocg:(k + 1) * ocg].reshape(ocg, -1) @ cols)
    y = np.concatenate(out).reshape(oc, win.shape[3], win.shape[4])
    if b is not None:
        y = y + b[:, None, None]
    return y[None]


def _maxpool(x, a):
    kh, kw = a["kernel_shape"]
    sh, sw = a.get("strides", [1, 1])
    win = _windows(_pad(x[0], a, -np.inf), kh, kw, sh, sw, 1, 1)
    return win.max(axis=(1, 2))[None]


def _per_axis(v, x):
    """A scale or zero point: a scalar, or one value per channel of axis 0 (1 for activations)."""
    v = np.asarray(v)
    if v.ndim == 0 or v.size == 1:
        return v.reshape(())
    return v.reshape((-1,) + (1,) * (x.ndim - 1)) if v.size == x.shape[0] else v.reshape((1, -1) + (1,) * (x.ndim - 2))


def run(model, x, every=False):
    """The graph's outputs on input x (float64 arrays); every=True: {tensor: value} of every tensor."""
    m = onnx.load(model) if isinstance(model, str) else model
    g = m.graph
    v = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    v = {k: (a.astype(np.float64) if a.dtype in (np.float32, np.int32) else a) for k, a in v.items()}
    v[g.input[0].name] = np.asarray(x, np.float64)
    for n in g.node:
        a = _attrs(n)
        i = [v[t] if t else None for t in n.input]
        op = n.op_type
        if op == "QuantizeLinear":
            s = _per_axis(i[1].astype(np.float64), i[0])
            z = i[2] if len(i) > 2 else np.uint8(0)
            info = np.iinfo(z.dtype)
            y = np.clip(np.rint(i[0] / s) + _per_axis(z.astype(np.float64), i[0]), info.min, info.max).astype(z.dtype)
        elif op == "DequantizeLinear":
            q = i[0]
            z = i[2] if len(i) > 2 else np.zeros((), q.dtype)
            zq, sq = _per_axis(np.asarray(z, np.float64), q), _per_axis(np.asarray(i[1], np.float64), q)
            y = (q.astype(np.float64) - zq) * sq
        elif op == "Conv":
            y = _conv(i[0], i[1], i[2] if len(i) > 2 else None, a)
        elif op == "Relu":
            y = np.maximum(i[0], 0.0)
        elif op == "Clip":
            lo = i[1] if len(i) > 1 and i[1] is not None else -np.inf
            hi = i[2] if len(i) > 2 and i[2] is not None else np.inf
            y = np.clip(i[0], lo, hi)
        elif op == "Add":
            y = i[0] + i[1]
        elif op == "MaxPool":
            y = _maxpool(i[0], a)
        elif op == "GlobalAveragePool":
            y = i[0].mean(axis=(2, 3), keepdims=True)
        elif op == "Flatten":
            ax = a.get("axis", 1)
            y = i[0].reshape(int(np.prod(i[0].shape[:ax])), -1)
        elif op == "Gemm":
            A = i[0].T if a.get("transA", 0) else i[0]
            B = i[1].T if a.get("transB", 0) else i[1]
            y = a.get("alpha", 1.0) * (A @ B)
            if len(i) > 2 and i[2] is not None:
                y = y + a.get("beta", 1.0) * i[2]
        else:
            raise SystemExit("qdq_ref.py: no float64 reference for %s (node %s)" % (op, n.name))
        v[n.output[0]] = y
    return v if every else [v[o.name] for o in g.output]
