#!/usr/bin/python3
"""diff.py — the differential harness "fast equals reference" (docs/fast-kernels.md, "The
differential harness"): seeded random small graphs, one per case, built with python3-onnx from
every pattern lowering rewrites or fuses (PATTERNS below), compiled by the edgecc binary once per
kernel family in FAST_KERNELS and once with --kernels ref (without the graph passes in
REF_NO_PASS, so that the blocks they fold are compared with the graph as exported), built against
the libraries of the
edgecc build folder, run, and compared by the zoo's rule: max |fast - ref| <= 1e-4 of max |ref|.
Per case it also checks that the nodes a pattern names ran where they should: on an XNNPACK
operator ("xnn"), on any fast kernel ("fast"), or fused away ("fused"), so a pass that falls back
to the reference kernels cannot pass for a fast one.

A case is a pure function of its seed: the seed picks the pattern (seed % len(PATTERNS)), the
shapes, the opset and whether a cut between two partitions follows the pattern. Cases without a
cut are packed into one model per opset (up to --batch cases, each with its own inputs and
outputs: one compile and one build for many cases); a cut case is compiled alone with
--targets a=host,b=host --split-at its output, and its two programs run one after the other.
A failing case prints its seed, writes its model and inputs to WORK/fail/seed<N>/, and is run
again alone; replay it with --replay N.

Usage: diff.py --edgecc PATH --build-dir BUILD [--work DIR] [--seed S] [--count N]
               [--batch K] [--replay SEED[,SEED...]] [--list] [--keep] [--kernels LIB[,LIB]]
Exit status: 0 every case agrees and ran where it should, 1 a case failed, 2 usage error.
"""

import argparse
import math
import os
import re
import shutil
import subprocess
import sys
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BUILD_HOOK = os.path.join(REPO, "tests", "codegen", "build_generated.sh")
# The fast kernel families compared with --kernels ref; later families join this table. --kernels
# picks among them (the CI tests run each family in tests of their own).
# "default" compiles without --kernels: the target's default order (host on x86-64: oneDNN first,
# Mul on XNNPACK; docs/fast-kernels.md), where an "xnn" node may run on either library.
FAST_KERNELS = ["xnnpack", "onednn", "default"]
# Where a pattern wants a node on XNNPACK ("xnn"), --kernels onednn may run it on oneDNN instead
# (conv, fully connected, pooling, Add, Mul: fast_kernels.def's EC_DNNL rows); the run then
# fails unless some step of every one of these primitive kinds ran on oneDNN, so a lowering that
# never picks oneDNN cannot pass for one that does.
# SUM: a Conv with a residual Add fused; INTO_CONCAT: a Conv or pooling writing into an in-place
# Concat's channels (on a dense copy in its stage, eck_dnnl_stage).
ONEDNN_KINDS = ["CONV", "FC", "MAXPOOL", "AVGPOOL", "ADD", "MUL", "SUM", "INTO_CONCAT"]
# oneDNN's int8 kinds (QLinearConv, QLinearMatMul with int8 weights): a run of the qlinear pattern
# alone (--pattern qlinear) must see both; a generated run of every pattern has too few such cases.
ONEDNN_INT8_KINDS = ["QCONV", "QFC"]
TOL = 1e-4


# ---- building one case ------------------------------------------------------------------------

class Case:
    """One pattern instance: nodes, weights, inputs (with data), outputs, and where named nodes
    must run. Every name carries the prefix c<seed>_ so that cases can share a model."""

    def __init__(self, seed):
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        if seed >= REGRESS_BASE:
            self.pattern = REGRESSIONS[seed - REGRESS_BASE]
        else:
            self.pattern = PATTERNS[seed % len(PATTERNS)]
        self.name = self.pattern.__name__[2:]
        self.pre = "c%d_" % seed
        self.nodes, self.inits, self.inputs, self.outputs = [], [], [], []
        self.expect = []      # (node name, "xnn" | "fast" | "fused" | "sum" | "nostep" | "dnnl8" | "dnnl" | "padpool")
        self.opset = 13
        self.count = 0
        self.cut = False
        self.shapes = {}      # tensor name -> shape, as the pattern knows it
        self.dtypes = {}      # output name -> numpy dtype, where not float32
        self.lsb = {}         # output name -> the absolute difference allowed (int8: 1 LSB)

    # random choices
    def pick(self, *options):
        return options[int(self.rng.integers(len(options)))]

    def int(self, lo, hi):
        return int(self.rng.integers(lo, hi + 1))

    def chance(self, p):
        return bool(self.rng.random() < p)

    def fresh(self, what):
        self.count += 1
        return "%s%s%d" % (self.pre, what, self.count)

    # graph pieces
    def input(self, shape, positive=False, dtype=np.float32, scale=1.0):
        name = self.fresh("in")
        if dtype == np.float32:
            data = (self.rng.standard_normal(shape) * scale).astype(np.float32)
            if positive:
                data = np.abs(data) + 0.5
        else:  # int8 / uint8: every value of the type
            info = np.iinfo(dtype)
            data = self.rng.integers(info.min, info.max + 1, size=shape).astype(dtype)
        self.inputs.append((name, data))
        self.shapes[name] = list(shape)
        return name

    def const(self, arr, dtype=np.float32):
        name = self.fresh("w")
        self.inits.append(numpy_helper.from_array(np.asarray(arr, dtype), name))
        self.shapes[name] = list(np.shape(arr))
        return name

    def rand(self, shape, scale=1.0, positive=False):
        a = self.rng.standard_normal(shape) * scale
        if positive:
            a = np.abs(a) + 0.5
        return self.const(a)

    def node(self, op, ins, expect=None, n_out=1, shape=None, **attrs):
        name = self.fresh("n_" + op + "_")
        outs = [self.fresh("t") for _ in range(n_out)]
        self.nodes.append(helper.make_node(op, ins, outs, name=name, **attrs))
        if expect:
            self.expect.append((name, expect))
        if shape is not None:
            self.shapes[outs[0]] = list(shape)
        return outs[0] if n_out == 1 else outs

    def last_node(self):
        return self.nodes[-1].name

    def out(self, t):
        self.outputs.append(t)

    # NHWC data: a graph input, or (usually) a 1x1 convolution's output, which lowering keeps NHWC
    def feat(self, n, c, h, w, nhwc=None):
        x = self.input([n, c, h, w])
        if nhwc is None:
            nhwc = self.chance(0.8)
        if not nhwc:
            return x
        return self.conv1x1(x, c, c)

    def conv1x1(self, x, cin, cout, bias=True):
        ins = [x, self.rand([cout, cin, 1, 1], 1 / math.sqrt(cin))]
        if bias:
            ins.append(self.rand([cout], 0.3))
        y = self.node("Conv", ins, "xnn")
        n, _, h, w = self.shape(x)
        self.shapes[y] = [n, cout, h, w]
        return y

    def shape(self, t):
        """t's shape: as the pattern recorded it, else by ONNX's shape inference."""
        if t not in self.shapes:
            self.shapes[t] = out_shape(self, t)
        return self.shapes[t]


def build_case(seed, cut_rate):
    c = Case(seed)
    c.pattern(c)
    # A cut after the pattern: its output crosses between two partitions; a tail reads it there,
    # a Relu (which fuse-act must not fuse across the cut) or a 1x1 Conv. Regression cases are
    # kept exactly as written: they ask for a cut themselves (c.tail).
    tail = getattr(c, "tail", None)
    if tail is None and seed < REGRESS_BASE and cut_rate > 0 and len(c.outputs) == 1 and not c.dtypes and \
            c.rng.random() < cut_rate:
        tail = "Relu" if c.chance(0.4) else "Conv"
    if tail is not None:
        c.cut = True
        t = c.outputs[0]
        c.cut_tensor = t
        shape = c.shape(t)
        if tail == "Conv" and len(shape) == 4:
            c.outputs = [c.conv1x1(t, shape[1], 3)]
        else:  # (ONNX infers no shape for Relu-1: say it)
            c.outputs = [c.node("Relu", [t], shape=shape)]
    return c


def out_shape(c, t):
    """The shape of tensor t of case c, by ONNX's shape inference."""
    outs = c.outputs
    c.outputs = [t]
    try:
        m = make_model([c], c.opset, check=False)
    finally:
        c.outputs = outs
    for v in list(m.graph.value_info) + list(m.graph.output):
        if v.name == t:
            return [d.dim_value for d in v.type.tensor_type.shape.dim]
    raise RuntimeError("seed %d: no shape for %s" % (c.seed, t))


def case_data(c):
    """The graph inputs and outputs of case c (output shapes where the pattern knows them)."""
    elem = onnx.mapping.NP_TYPE_TO_TENSOR_TYPE
    ins = [helper.make_tensor_value_info(n, elem[d.dtype], list(d.shape)) for n, d in c.inputs]
    outs = [helper.make_tensor_value_info(t, elem[np.dtype(c.dtypes.get(t, np.float32))], c.shapes.get(t))
            for t in c.outputs]
    return ins, outs


def make_model(cases, opset, name="diff", check=True):
    ins, outs, nodes, inits = [], [], [], []
    for c in cases:
        i, o = case_data(c)
        ins += i
        outs += o
        nodes += c.nodes
        inits += c.inits
    g = helper.make_graph(nodes, name, ins, outs, inits)
    ops = [helper.make_opsetid("", opset)]
    if any(n.domain == "com.microsoft" for n in nodes):  # ONNX Runtime's contrib ops (QLinearAdd...)
        ops.append(helper.make_opsetid("com.microsoft", 1))
    m = helper.make_model(g, opset_imports=ops)
    m.ir_version = 7
    m = onnx.shape_inference.infer_shapes(m)
    if check:
        onnx.checker.check_model(m)
    return m


# ---- patterns: each fills one Case ------------------------------------------------------------
# Expectations ("xnn", "fast", "fused") name what lowering promises for the pattern; a pattern
# that lowering leaves on the reference kernels on purpose expects nothing of that node.

def p_conv(c):
    """A Conv alone: random groups (depthwise too), kernel, strides, dilations, asymmetric pads,
    auto_pad, with and without bias. A depthwise Conv of more than 25 taps (ConvNeXt's 7x7, up to
    40 channels: full and partial blocks of 16) runs on eck_xnn_dwconv ("fast"), sometimes with a
    Relu fused into it."""
    n = c.pick(1, 1, 1, 2)
    groups = c.pick(1, 1, 2, 3, "dw", "big_dw")
    big = groups == "big_dw"
    if big:
        cin = c.int(2, 40)
        groups, cout = cin, cin
    elif groups == "dw":
        cin = c.int(1, 12)
        groups, cout = cin, cin * c.pick(1, 1, 2)
    else:
        cin, cout = groups * c.int(1, 4), groups * c.int(1, 4)
    kh, kw = c.pick(1, 2, 3, 3, 5), c.pick(1, 2, 3, 3)
    if big:
        kh, kw = c.pick(6, 7, 7, 8), c.pick(5, 7, 7, 8)
    sh, sw = c.pick(1, 1, 2, 3), c.pick(1, 1, 2)
    dh, dw = c.pick(1, 1, 1, 2), c.pick(1, 1, 2)
    attrs = dict(kernel_shape=[kh, kw], strides=[sh, sw], dilations=[dh, dw], group=groups)
    auto = c.pick("NOTSET", "NOTSET", "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID")
    pads = [c.int(0, kh - 1), c.int(0, kw - 1), c.int(0, kh - 1), c.int(0, kw - 1)]
    if auto == "NOTSET":
        attrs["pads"] = pads
    else:
        attrs["auto_pad"] = auto
        pads = [kh, kw, kh, kw] if auto != "VALID" else [0, 0, 0, 0]
    eh, ew = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    h = max(c.int(1, 9), eh - pads[0] - pads[2])
    w = max(c.int(1, 9), ew - pads[1] - pads[3])
    if big:  # rows and runs of 4 columns whose whole window is inside (the kernel's fast path)
        h, w = c.int(eh, eh + 8), c.int(ew + 3, ew + 12)
    if auto == "VALID":
        h, w = max(h, eh), max(w, ew)
    x = c.feat(n, cin, h, w)
    ins = [x, c.rand([cout, cin // groups, kh, kw], 1 / math.sqrt(cin // groups * kh * kw))]
    if c.chance(0.7):
        ins.append(c.rand([cout], 0.3))
    if big and c.chance(0.3):
        c.out(c.node("Relu", [c.node("Conv", ins, "fast", **attrs)], "fused"))
        return
    c.out(c.node("Conv", ins, "fast" if big else "xnn", **attrs))


def p_pool(c):
    """MaxPool / AveragePool alone: kernel, strides, pads, ceil_mode, count_include_pad,
    dilations (MaxPool); GlobalAveragePool; ReduceMean over H, W."""
    n, ch = c.pick(1, 1, 2), c.int(1, 12)
    kind = c.pick("MaxPool", "AveragePool", "AveragePool", "GlobalAveragePool", "ReduceMean")
    h, w = c.int(1, 10), c.int(1, 10)
    x = c.feat(n, ch, h, w)
    if kind == "GlobalAveragePool":
        c.out(c.node(kind, [x], "xnn", shape=[n, ch, 1, 1]))
        return
    if kind == "ReduceMean":
        c.out(c.node(kind, [x], "xnn", axes=[2, 3], keepdims=1, shape=[n, ch, 1, 1]))
        return
    kh, kw = c.int(1, min(h, 3) + 1), c.int(1, min(w, 3) + 1)
    kh, kw = min(kh, h), min(kw, w)
    attrs = dict(kernel_shape=[kh, kw], strides=[c.pick(1, 1, 2, 3), c.pick(1, 2)])
    pads = [c.int(0, kh - 1), c.int(0, kw - 1), c.int(0, kh - 1), c.int(0, kw - 1)]
    expect = "xnn" if kh * kw > 1 else None
    if c.chance(0.1):  # a pad as wide as the window: windows of padding only, the reference's
        pads[c.int(0, 3)] = kh if c.chance(0.5) else kw
        pads = [min(p, kh if i % 2 == 0 else kw) for i, p in enumerate(pads)]
        expect = None
    if c.chance(0.6) or expect is None:
        attrs["pads"] = pads
    else:
        pads = [0, 0, 0, 0]
    # ceil_mode, except where ONNX's output size (shape inference) and PyTorch's (edgecc) differ:
    # when the last window would start past the input and its begin pad.
    ceil_ok = all((-(-(i + pads[a] + pads[a + 2] - k) // attrs["strides"][a])) * attrs["strides"][a] < i + pads[a]
                  for a, (i, k) in enumerate(((h, kh), (w, kw))))
    if c.chance(0.3) and ceil_ok:
        attrs["ceil_mode"] = 1
    if kind == "MaxPool" and c.chance(0.2) and max(kh, kw) > 1 and not attrs.get("ceil_mode"):
        d = c.pick(1, 2)
        if (kh - 1) * d + 1 <= h + pads[0] + pads[2] and (kw - 1) * d + 1 <= w + pads[1] + pads[3]:
            attrs["dilations"] = [d, d]
            c.opset = max(c.opset, 10)
    d = attrs.get("dilations", [1, 1])
    for a, (i, k) in enumerate(((h, kh), (w, kw))):
        if window_of_padding(i, k, attrs["strides"][a], d[a], pads[a], pads[a + 2], attrs.get("ceil_mode", 0)):
            expect = None
    if kind == "AveragePool" and c.chance(0.4):
        attrs["count_include_pad"] = 1
        if attrs.get("ceil_mode"):
            expect = None  # ceil_mode's extra row, which does not count: the reference kernel
        elif any(pads) and expect:
            expect = "dnnl"  # XNNPACK's average excludes padding (the reference kernel runs it there)
    if attrs.get("ceil_mode"):
        c.opset = max(c.opset, 10)
    c.out(c.node(kind, [x], expect, **attrs))


def window_of_padding(size, k, s, d, pb, pe, ceil):
    """Can a pooling window along one axis see padding only (the reference kernel's case)?"""
    keff = (k - 1) * d + 1
    span = size + pb + pe - keff
    out = (-(-span // s) if ceil else span // s) + 1
    pe = max(pe, (out - 1) * s + keff - size - pb)
    return pb >= keff or pe >= keff or (d > 1 and size < d)


def p_gemm(c):
    """Gemm / MatMul with a constant operand (XNNPACK fully connected), a Flatten head, and
    MatMul of two activations (OpenBLAS)."""
    m, k, nout = c.int(1, 5), c.int(1, 24), c.int(1, 16)
    kind = c.pick("gemm", "gemm", "matmul", "head", "matmul2")
    if kind == "head":
        ch = c.int(2, 16)
        x = c.feat(1, ch, c.int(1, 5), c.int(1, 5))
        g = c.node("GlobalAveragePool", [x], "xnn")
        f = c.node("Flatten", [g], axis=1)
        c.out(c.node("Gemm", [f, c.rand([nout, ch], 0.3), c.rand([nout], 0.3)], "xnn", transB=1))
        return
    if kind == "matmul2":
        a, b = c.input([c.pick(1, 2), m, k]), c.input([k, nout])
        c.out(c.node("MatMul", [a, b], "fast"))
        return
    if kind == "matmul":
        lead = c.pick([], [2], [1, 3])
        x = c.input(lead + [m, k])
        c.out(c.node("MatMul", [x, c.rand([k, nout], 0.3)], "xnn"))
        return
    x = c.input([m, k])
    tb = c.pick(0, 1)
    ins = [x, c.rand([nout, k] if tb else [k, nout], 0.3)]
    if c.chance(0.7):
        ins.append(c.rand(c.pick([nout], [1, nout]), 0.3))
    c.out(c.node("Gemm", ins, "xnn", transB=tb))


def binary_operand(c, op, n, ch, h, w):
    """The second operand of a broadcasting element-wise op with NHWC data [n, ch, h, w]:
    [1,C,1,1], [1,1,H,W], [W], [1], scalar, [C,1,1] or the same shape; a constant or an
    activation. Returns (tensor, whether XNNPACK runs the op in NHWC with it)."""
    shape = c.pick([1, ch, 1, 1], [1, 1, h, w], [w], [1], [], [ch, 1, 1], [n, ch, h, w], [n, ch, h, w])
    positive = op == "Div"
    if c.chance(0.4) or shape == []:
        t = c.rand(shape, 1.0, positive) if shape else c.const(np.float32(c.pick(0.5, 2.0, 3.0)))
        # A constant whose bytes depend on the layout (channels and pixels both > 1) stays NCHW.
        full = [1] * (4 - len(shape)) + shape
        return t, full[1] == 1 or full[2] * full[3] == 1
    if shape == [1, ch, 1, 1] and c.chance(0.5):  # a computed per-channel operand (as in SE blocks)
        g = c.node("GlobalAveragePool", [c.feat(n, ch, h, w)], "xnn")
        if positive:
            g = c.node("Add", [c.node("Sigmoid", [g]), c.const(np.float32(0.5))])
        return g, True
    return c.input(shape, positive), True


def p_binary(c):
    """Add/Sub/Mul/Div/Max/Min of NHWC data with every broadcast shape, on either side."""
    op = c.pick("Add", "Sub", "Mul", "Div", "Max", "Min")
    n, ch, h, w = c.pick(1, 1, 2), c.int(1, 9), c.int(1, 6), c.int(1, 6)
    x = c.feat(n, ch, h, w)
    y, fast = binary_operand(c, op, n, ch, h, w)
    if op != "Div" and c.chance(0.1):  # x op x
        y, fast = x, True
    if op == "Div" or c.chance(0.5):
        ins = [x, y]
        if op == "Div" and c.chance(0.5):
            ins = [y, x]
            x2 = c.node("Sigmoid", [x])
            ins = [y, c.node("Add", [x2, c.const(np.float32(0.5))])]
    else:
        ins = [y, x]
    if op in ("Max", "Min"):
        c.opset = max(c.opset, 8)
    c.out(c.node(op, ins, "xnn" if fast else None))


def p_unary(c):
    """Relu, Clip, Sigmoid, HardSwish, Softmax (last axis) on NHWC data and on plain tensors."""
    op = c.pick("Relu", "Sigmoid", "HardSwish", "Softmax", "Clip", "LeakyRelu")
    rank4 = c.chance(0.7)
    if rank4:
        # Not after a convolution: a Relu or Clip there would be fused.
        h, w = c.int(1, 5), c.int(1, 5)
        x = c.node("Concat", [c.feat(1, c.int(1, 6), h, w) for _ in range(2)],
                   axis=1) if op in ("Relu", "Clip") else c.feat(1, c.int(1, 9), h, w)
    else:
        x = c.input([c.int(1, 4), c.int(1, 17)])
    attrs = {}
    expect = "xnn"
    if op == "HardSwish":
        c.opset = 14
    if op == "Softmax":
        attrs["axis"] = -1
        if rank4:
            expect = None  # NHWC data: the last axis is not contiguous
    if op == "LeakyRelu":
        attrs["alpha"] = 0.1
        expect = None
    if op == "Clip":
        lo, hi = sorted(c.rng.standard_normal(2).astype(np.float32).tolist())
        if c.chance(0.4):
            c.opset = c.pick(6, 10)
            c.out(c.node(op, [x], expect, min=lo, max=hi))
            return
        ins = [x, c.const(np.float32(lo)) if c.chance(0.8) else "", c.const(np.float32(hi)) if c.chance(0.8) else ""]
        while ins[-1] == "":
            ins.pop()
        c.out(c.node(op, ins, expect))
        return
    c.out(c.node(op, [x], expect, **attrs))


def clamp_node(c, x, expect):
    """Relu, or Clip by attributes (opset <= 10) or by inputs (opset >= 11), on x."""
    kind = c.pick("Relu", "Relu", "Clip6", "Clip")
    if kind == "Relu":
        return c.node("Relu", [x], expect)
    lo, hi = c.pick((0.0, 6.0), (-1.0, 1.0), (0.0, 0.5), (-0.5, 3.0))
    if c.opset <= 10:
        return c.node("Clip", [x], expect, min=lo, max=hi)
    ins = [x, c.const(np.float32(lo)) if c.chance(0.8) else "", c.const(np.float32(hi)) if c.chance(0.8) else ""]
    while ins[-1] == "":
        ins.pop()
    return c.node("Clip", ins, expect)


def p_fuse_act(c):
    """An activation fused into its producer: Conv, Gemm, pooling, Add/Mul, BatchNormalization,
    followed by Relu or Clip (by attributes at opset <= 10, by inputs otherwise), sometimes two."""
    c.opset = c.pick(6, 10, 11, 13)
    prod = c.pick("Conv", "Conv", "Gemm", "MaxPool", "AveragePool", "GlobalAveragePool", "Add", "Mul",
                  "BatchNormalization")
    n, ch, h, w = 1, c.int(1, 8), c.int(2, 6), c.int(2, 6)
    if prod == "Gemm":
        y = c.node("Gemm", [c.input([c.int(1, 3), ch]), c.rand([5, ch], 0.4), c.rand([5], 0.3)], "xnn", transB=1)
    elif prod == "Conv":
        x = c.feat(n, ch, h, w, nhwc=c.chance(0.5))
        y = c.node("Conv", [x, c.rand([4, ch, 3, 3], 0.3), c.rand([4], 0.3)], "xnn", pads=[1, 1, 1, 1])
    elif prod in ("MaxPool", "AveragePool"):
        y = c.node(prod, [c.feat(n, ch, h, w)], "xnn", kernel_shape=[2, 2])
    elif prod == "GlobalAveragePool":
        y = c.node(prod, [c.feat(n, ch, h, w)], "xnn")
    elif prod in ("Add", "Mul"):
        y = c.node(prod, [c.feat(n, ch, h, w), c.feat(n, ch, h, w)], "xnn")
    else:  # (3x3 at least: a 1x1-pixel BatchNormalization rightly stays on the reference kernel)
        x = c.node("MaxPool", [c.feat(n, max(ch, 2), max(h, 3), max(w, 3))], "xnn", kernel_shape=[2, 2])
        k = max(ch, 2)
        params = [c.rand([k], 0.5), c.rand([k], 0.3), c.rand([k], 0.3), c.rand([k], 0.5, positive=True)]
        y = c.node("BatchNormalization", [x] + params, "fast")
        if c.opset < 9:
            c.opset = 9
    # The producer's output also leaving the graph: the clamp must stay a step of its own.
    also_out = c.chance(0.15)
    r = clamp_node(c, y, None if also_out else "fused")
    if c.chance(0.25):
        r = clamp_node(c, r, None if also_out else "fused")
    if also_out:
        c.out(y)
    c.out(r)


def p_fold_pad(c):
    """Pad before a Conv: zero constant pads on H, W fold into the Conv's padding; a non-zero
    value, pads on N or C, or reflect mode stay a Pad."""
    c.opset = c.pick(2, 11, 13)
    ch, h, w = c.int(1, 6), c.int(1, 6), c.int(1, 6)
    x = c.feat(1, ch, h, w)
    pads = [0, 0, c.int(0, 2), c.int(0, 2), 0, 0, c.int(0, 2), c.int(0, 2)]
    value = c.pick(0.0, 0.0, 0.0, 0.5)
    mode = c.pick("constant", "constant", "constant", "reflect" if min(h, w) > 2 else "constant")
    fold = value == 0.0 and mode == "constant"
    if c.opset == 2:
        p = c.node("Pad", [x], "fused" if fold else None, pads=pads, value=value, mode=mode)
    else:
        ins = [x, c.const(np.array(pads, np.int64), np.int64)]
        if value != 0.0 or c.chance(0.5):
            ins.append(c.const(np.float32(value)))
        p = c.node("Pad", ins, "fused" if fold else None, mode=mode)
    k = c.pick(1, 3)
    hp, wp = h + pads[2] + pads[6], w + pads[3] + pads[7]
    k = min(k, hp, wp)
    c.out(c.node("Conv", [p, c.rand([3, ch, k, k], 0.3)], "xnn"))


def p_pad(c):
    """A constant Pad alone on NHWC data (XNNPACK), sometimes feeding an AveragePool: on oneDNN a
    zero Pad on H and W folds into the pool's counted padding (lowering's fold-pad-pool), unless a
    window of the pool would see padding only (the reference kernel's case)."""
    c.opset = c.pick(2, 11, 13)
    ch, h, w = c.int(1, 6), c.int(1, 6), c.int(1, 6)
    x = c.feat(1, ch, h, w)
    pads = [0, c.int(0, 1), c.int(0, 2), c.int(0, 2), 0, c.int(0, 1), c.int(0, 2), c.int(0, 2)]
    value = c.pick(0.0, 0.25)
    pool = c.chance(0.5) and min(h + pads[2] + pads[6], w + pads[3] + pads[7]) >= 2
    fold = (pool and value == 0.0 and not pads[1] and not pads[5] and
            not any(window_of_padding(i, 2, 2, 1, pads[2 + a], pads[6 + a], 0) for a, i in enumerate((h, w))))
    expect = "padpool" if fold else "xnn"
    if c.opset == 2:
        p = c.node("Pad", [x], expect, pads=pads, value=value)
    else:
        p = c.node("Pad", [x, c.const(np.array(pads, np.int64), np.int64), c.const(np.float32(value))], expect)
    if pool:
        p = c.node("AveragePool", [p], "xnn", kernel_shape=[2, 2], strides=[2, 2])
    c.out(p)


def p_pad_pool(c):
    """A zero Pad on H and W before an AveragePool (Inception's pooling branch as PyTorch exports
    it): on oneDNN the Pad folds into the pool's counted padding (lowering's fold-pad-pool) when the
    pool counts its own padding or has none and no window would see padding only; otherwise, and on
    XNNPACK, the Pad stays a step."""
    c.opset = c.pick(11, 13)
    ch, h, w = c.int(1, 12), c.int(1, 9), c.int(1, 9)
    nhwc = c.chance(0.8)  # else a graph input: the Pad runs on NCHW data, a layout conversion after it
    x = c.feat(1, ch, h, w, nhwc=nhwc)
    pads = [0, 0, c.int(0, 2), c.int(0, 2), 0, 0, c.int(0, 2), c.int(0, 2)]
    hp, wp = h + pads[2] + pads[6], w + pads[3] + pads[7]
    kh, kw = min(c.int(1, 4), hp), min(c.int(1, 4), wp)
    strides = [c.pick(1, 1, 2, 3), c.pick(1, 2)]
    own = [c.int(0, kh - 1), c.int(0, kw - 1), c.int(0, kh - 1), c.int(0, kw - 1)] if c.chance(0.4) else [0] * 4
    cip = c.chance(0.6)
    attrs = dict(kernel_shape=[kh, kw], strides=strides)
    if any(own):
        attrs["pads"] = own
    if cip:
        attrs["count_include_pad"] = 1
    tb, te = [pads[2] + own[0], pads[3] + own[1]], [pads[6] + own[2], pads[7] + own[3]]
    free = ch == 1 or h * w == 1  # the same bytes in both layouts: which one the Pad follows decides
    fold = (nhwc and kh * kw > 1 and (cip or not any(own)) and
            not any(window_of_padding(i, k, strides[a], 1, tb[a], te[a], 0)
                    for a, (i, k) in enumerate(((h, kh), (w, kw)))))
    p = c.node("Pad", [x, c.const(np.array(pads, np.int64), np.int64)],
               None if free else "padpool" if fold else "xnn")
    c.out(c.node("AveragePool", [p], "dnnl" if fold and not free else None, **attrs))


def hard_sigmoid(c, x):
    """HardSigmoid as exporters write it: the op (torch, opset >= 6), or Add 3 / Clip 0..6 / Div 6
    (other frameworks, older opsets). The op runs on its vectorized kernel (eck_xnn_hardsigmoid)."""
    if c.chance(0.6):
        return c.node("HardSigmoid", [x], "fast", alpha=1.0 / 6, beta=0.5)
    a = c.node("Add", [x, c.const(np.float32(3.0))])
    if c.opset <= 10:
        r = c.node("Clip", [a], min=0.0, max=6.0)
    else:
        r = c.node("Clip", [a, c.const(np.float32(0.0)), c.const(np.float32(6.0))])
    return c.node("Div", [r, c.const(np.float32(6.0))])


def p_se(c):
    """Squeeze-and-excitation: GlobalAveragePool (or ReduceMean) -> Conv -> Relu -> Conv ->
    HardSigmoid (or Sigmoid) -> Mul with the block's input, as MobileNetV3 and other exporters
    write it, at opsets 9 to 13, sometimes followed by a projection Conv."""
    c.opset = c.pick(9, 11, 13)
    n, ch, h, w = 1, c.pick(4, 8, 16), c.int(1, 7), c.int(1, 7)
    r = max(1, ch // c.pick(2, 4))
    x = c.feat(n, ch, h, w, nhwc=c.chance(0.9))
    if c.chance(0.7):
        g = c.node("GlobalAveragePool", [x], "xnn")
    else:
        g = c.node("ReduceMean", [x], "xnn", axes=[2, 3], keepdims=1)
    s1 = c.node("Conv", [g, c.rand([r, ch, 1, 1], 0.5), c.rand([r], 0.3)], "xnn")
    s1 = c.node("Relu", [s1], "fused")
    s2 = c.node("Conv", [s1, c.rand([ch, r, 1, 1], 0.5), c.rand([ch], 0.3)], "xnn")
    gate = hard_sigmoid(c, s2) if c.chance(0.7) else c.node("Sigmoid", [s2])
    y = c.node("Mul", [x, gate] if c.chance(0.5) else [gate, x], "xnn")
    if c.chance(0.5):
        y = c.conv1x1(y, ch, c.int(1, 8))
    c.out(y)


def p_hsig_mul(c):
    """HardSigmoid(x)*x (hard swish as opset-13 exporters write it) and HardSigmoid(y)*x."""
    c.opset = c.pick(9, 11, 13)
    n, ch, h, w = c.pick(1, 2), c.int(1, 9), c.int(1, 6), c.int(1, 6)
    x = c.feat(n, ch, h, w)
    y = x if c.chance(0.5) else c.conv1x1(x, ch, ch)
    hs = hard_sigmoid(c, y)
    c.out(c.node("Mul", [x, hs] if c.chance(0.5) else [hs, x], "xnn"))


def p_concat(c):
    """A channel Concat of NHWC branches (convolution, pooling, resize, BatchNormalization,
    Slice, a graph input), nested as in DenseNet, read by a Conv: in place where it can be."""
    n, h, w = 1, c.int(2, 7), c.int(2, 7)
    ch = c.int(1, 6)
    x = c.feat(n, ch, h, w)
    branches = []
    # Lowering concatenates in NHWC when some input is NHWC data (not layout-free); otherwise the
    # inputs are NCHW (graph inputs) or layout-free and the reference Concat is as good.
    x_nhwc = bool(c.nodes) and c.nodes[-1].output[0] == x and ch > 1
    nhwc = False
    for _ in range(c.int(2, 4)):
        kind = c.pick("conv", "conv", "maxpool", "avgpool", "bn", "slice", "input", "copy")
        if kind == "slice" and ch < 2:
            kind = "copy"
        nhwc |= kind in ("maxpool", "avgpool", "bn") and ch > 1 or (kind == "copy" and x_nhwc)
        if kind == "conv":
            co = c.int(1, 5)
            nhwc |= co > 1
            branches.append(c.node("Conv", [x, c.rand([co, ch, 3, 3], 0.3)], "xnn", pads=[1, 1, 1, 1], shape=[n, co, h, w]))
        elif kind in ("maxpool", "avgpool"):
            op = "MaxPool" if kind == "maxpool" else "AveragePool"
            branches.append(c.node(op, [x], "xnn", kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1], shape=[n, ch, h, w]))
        elif kind == "bn":
            c.opset = max(c.opset, 9)
            p = [c.rand([ch], 0.5), c.rand([ch], 0.3), c.rand([ch], 0.3), c.rand([ch], 0.5, positive=True)]
            mp = c.node("MaxPool", [x], "xnn", kernel_shape=[2, 2], pads=[0, 0, 1, 1], shape=[n, ch, h, w])
            branches.append(c.node("BatchNormalization", [mp] + p, "fast" if ch > 1 else None, shape=[n, ch, h, w]))
        elif kind == "slice":
            lo = c.int(0, ch - 2)
            hi = c.int(lo + 1, ch)
            # (a Slice of an NCHW graph input stays NCHW, on the reference kernel)
            nhwc |= hi - lo > 1 and x_nhwc
            branches.append(c.node("Slice", [x, c.const([lo], np.int64), c.const([hi], np.int64),
                                            c.const([1], np.int64)], "fast" if x_nhwc else None,
                                   shape=[n, hi - lo, h, w]))
        elif kind == "input":
            branches.append(c.input([n, c.int(1, 4), h, w]))
        else:
            branches.append(x)
    y = c.node("Concat", branches, "fast" if nhwc else None, axis=1)
    total = sum(c.shapes[b][1] for b in branches)
    c.shapes[y] = [n, total, h, w]
    if c.chance(0.4):  # DenseNet: the next block's concat holds this one
        z = c.node("Conv", [y, c.rand([2, total, 1, 1], 0.3)], "xnn", shape=[n, 2, h, w])
        y = c.node("Concat", [y, z], "fast", axis=1)
        total += 2
        c.shapes[y] = [n, total, h, w]
    if c.chance(0.7):
        y = c.conv1x1(y, total, c.int(1, 4))
    c.out(y)


def p_shuffle(c):
    """ShuffleNet's Reshape -> Transpose(0,2,1,3,4) -> Reshape: one channel shuffle, NHWC
    (XNNPACK) or NCHW; with one channel per group, no step at all."""
    groups, per = c.int(2, 4), c.int(1, 4)
    n, h, w = c.pick(1, 1, 2), c.int(1, 5), c.int(1, 5)
    ch = groups * per
    nhwc = c.chance(0.7)
    x = c.feat(n, ch, h, w, nhwc=nhwc)
    # One channel per group: the shuffle is the identity, its Transpose moves only a dim of 1 and
    # transpose-opt makes it a Reshape; all three alias their input.
    ident = per == 1
    r1 = c.node("Reshape", [x, c.const([n, groups, per, h, w], np.int64)], None if ident else "fused")
    t = c.node("Transpose", [r1], "nostep" if ident else "xnn" if nhwc and ch > 1 and h * w > 1 else "fast",
               perm=[0, 2, 1, 3, 4])
    r2 = c.node("Reshape", [t, c.const([n, ch, h, w], np.int64)], None if ident else "fused", shape=[n, ch, h, w])
    if c.chance(0.5):
        r2 = c.conv1x1(r2, ch, c.int(1, 4))
    c.out(r2)


def p_resize(c):
    """Resize (opsets 10, 11, 13) and Upsample (opsets 7, 9): linear in every coordinate mode,
    by scales and by sizes, up and down; nearest stays on the reference kernel."""
    ch, h, w = c.int(1, 6), c.int(1, 6), c.int(1, 6)
    x = c.feat(1, ch, h, w)
    form = c.pick("resize13", "resize13", "resize11", "resize10", "upsample9", "upsample7")
    mode = c.pick("linear", "linear", "linear", "nearest")
    up = c.chance(0.7)
    sh, sw = (c.pick(1, 2, 3), c.pick(1, 2, 3)) if up else (c.pick(0.5, 1.0), c.pick(0.5, 1.0))
    if not up and (h % 2 or w % 2):
        sh, sw = 1.0, 1.0 if w % 2 else sw
    oh, ow = int(math.floor(h * sh)), int(math.floor(w * sw))
    coord = "asymmetric"
    if form in ("resize13", "resize11"):
        c.opset = 13 if form == "resize13" else 11
        coord = c.pick("half_pixel", "align_corners", "asymmetric", "pytorch_half_pixel")
        attrs = dict(mode=mode, coordinate_transformation_mode=coord)
        if mode == "nearest":
            attrs["nearest_mode"] = "floor"
        roi = c.const(np.zeros(0, np.float32)) if c.opset == 11 else ""
        if c.chance(0.5):
            ins = [x, roi, c.const([1, 1, sh, sw])]
        else:
            ins = [x, roi, "" if c.opset == 13 else c.const(np.zeros(0, np.float32)),
                   c.const([1, ch, oh, ow], np.int64)]
    elif form == "resize10":
        c.opset = 10
        attrs = dict(mode=mode)
        ins = [x, c.const([1, 1, sh, sw])]
    else:
        c.opset = 9 if form == "upsample9" else 7
        attrs = dict(mode=mode)
        if not up:
            sh, sw, oh, ow = 1.0, 1.0, h, w
        if form == "upsample9":
            ins = [x, c.const([1, 1, sh, sw])]
        else:
            ins, attrs["scales"] = [x], [1.0, 1.0, float(sh), float(sw)]
    fast = mode == "linear" and not (coord in ("pytorch_half_pixel", "align_corners") and min(oh, ow) < 2)
    op = "Upsample" if form.startswith("upsample") else "Resize"
    y = c.node(op, ins, "xnn" if fast else None, shape=[1, ch, oh, ow], **attrs)
    if c.chance(0.4):
        y = c.conv1x1(y, ch, c.int(1, 4))
    c.out(y)


def p_residual(c):
    """A residual block: Conv -> Relu -> Conv, Add of the block's input (either side), Relu.
    Variants for oneDNN's fused sum (the Add becomes the second Conv's sum post-op, "sum"): a Relu
    between that Conv and the Add (clamp before the sum; with a Relu after the Add too, two clamps,
    nothing fuses), the block's input read again after the Add (the sum copies it, not in place),
    one Conv reading the block's input that it also adds, both operands Convs."""
    n, ch, h, w = c.pick(1, 2), c.int(1, 8), c.int(1, 6), c.int(1, 6)
    x = c.feat(n, ch, h, w)
    if c.chance(0.2):
        b = x  # Add(Conv(x), x): the Conv reads the bytes its sum adds
    else:
        a = c.node("Conv", [x, c.rand([ch, ch, 3, 3], 0.3), c.rand([ch], 0.2)], "xnn", pads=[1, 1, 1, 1])
        b = c.node("Relu", [a], "fused")
    b = c.node("Conv", [b, c.rand([ch, ch, 3, 3], 0.3)], "xnn", pads=[1, 1, 1, 1])
    mid = c.chance(0.3)
    if mid:
        b = c.node("Relu", [b], "fused")
    after = c.chance(0.7)
    if c.chance(0.2):
        x = c.node("Conv", [x, c.rand([ch, ch, 1, 1], 0.5)], "xnn")  # a downsampling branch
    y = c.node("Add", [b, x] if c.chance(0.5) else [x, b], "xnn" if mid and after else "sum")
    if after:
        y = c.node("Relu", [y], "fused")
    c.out(y)
    if c.chance(0.3):
        c.out(c.conv1x1(x, ch, ch))  # the residual read after the sum


def p_batchnorm(c):
    """BatchNormalization of NHWC data (not after a Conv, which would fold it), a channel Slice."""
    c.opset = c.pick(9, 13)
    n, ch, h, w = c.pick(1, 2), c.int(2, 9), c.int(1, 6), c.int(1, 6)
    # Not right after a Conv, which bn-fold would fold it into.
    if c.chance(0.7):
        x = c.node("AveragePool", [c.feat(n, ch, h, w)], "xnn", kernel_shape=[2, 2], pads=[0, 0, 1, 1])
    else:
        # One operand NHWC at least: an Add of two NCHW graph inputs stays NCHW, and so would the
        # BatchNormalization after it (on its reference kernel, rightly).
        x = c.node("Add", [c.feat(n, ch, h, w, nhwc=True), c.feat(n, ch, h, w)], "xnn")
    if c.chance(0.6):
        p = [c.rand([ch], 0.5), c.rand([ch], 0.3), c.rand([ch], 0.3), c.rand([ch], 0.5, positive=True)]
        # Layout-free data (1x1 pixels) needs no NHWC kernel: the reference one runs it, rightly.
        c.out(c.node("BatchNormalization", [x] + p, "fast" if h * w > 1 else None, epsilon=c.pick(1e-5, 1e-3)))
        return
    c.opset = 13
    lo = c.int(0, ch - 2)
    hi = c.int(lo + 1, ch)
    ends = hi if hi < ch or c.chance(0.5) else c.pick(2**63 - 1, 2**31 - 1)  # "to the end", as exporters write it
    if c.chance(0.3):  # negative indices count from the end
        lo, ends = lo - ch, (ends - ch if ends < ch else ends)
    c.out(c.node("Slice", [x, c.const([lo], np.int64), c.const([ends], np.int64), c.const([1], np.int64)],
                 "fast" if h * w > 1 else None))


# ---- blocks the graph passes fold (layernorm, gelu, pow-square): the reference build compiles them
# unfused (REF_NO_PASS), so the fused fast build is compared with the graph as exported.

def expect_block(c, first, want):
    """The node a pass folded the nodes c.nodes[first:] into, named FIRST..LAST (they share no
    scope), runs where `want` says."""
    c.expect.append(("%s..%s" % (c.nodes[first].name, c.nodes[-1].name), want))


def fusion_input(c, shape, scale=1.0):
    """A graph input, or (half the time) a MatMul by a weight producing the data, as in a
    transformer, on a fast kernel; values of about `scale`."""
    if c.chance(0.5):
        return c.input(shape, scale=scale)
    k = c.int(1, 12)
    return c.node("MatMul", [c.input(shape[:-1] + [k], scale=scale), c.rand([k, shape[-1]], 1 / math.sqrt(k))], "xnn",
                  shape=shape)


def p_layernorm(c):
    """LayerNorm as PyTorch exports it below opset 17 (ReduceMean, Sub, Pow 2, ReduceMean, Add eps,
    Sqrt, Div, Mul gamma, Add beta) and the variants (Mul d d, Mul by Reciprocal, operands swapped,
    no or partial affine, two trailing axes): folded into one LayerNormalization; sometimes an
    intermediate is also a graph output, and nothing may fold."""
    rank = c.pick(2, 3, 3, 4)
    shape = [c.int(1, 3) for _ in range(rank - 1)] + [c.int(1, 24)]
    x = fusion_input(c, shape)
    axes = [-1] if c.chance(0.8) or rank < 3 else [-2, -1]
    norm = shape[len(shape) - len(axes):]
    leak = c.chance(0.15)
    fused = None if leak else "fused"
    swap = lambda a, b: [b, a] if c.chance(0.5) else [a, b]
    first = len(c.nodes)
    m = c.node("ReduceMean", [x], fused, axes=axes, shape=shape[:-len(axes)] + [1] * len(axes))
    d = c.node("Sub", [x, m], fused, shape=shape)
    if c.chance(0.6):
        sq = c.node("Pow", [d, c.const(np.float32(2.0))], fused)
    else:
        sq = c.node("Mul", [d, d], fused)
    v = c.node("ReduceMean", [sq], fused, axes=axes)
    e = c.node("Add", swap(v, c.const(np.float32(c.pick(1e-5, 1e-6, 1e-12, 1e-3)))), fused)
    s = c.node("Sqrt", [e], fused)
    if c.chance(0.7):
        y = c.node("Div", [d, s], fused, shape=shape)
    else:
        y = c.node("Mul", swap(d, c.node("Reciprocal", [s], fused)), fused, shape=shape)
    affine = c.pick("none", "gamma", "both", "both", "both")
    if affine != "none":
        gshape = c.pick(norm, norm[-1:]) if len(norm) > 1 else norm
        g = c.const(c.rng.uniform(0.5, 1.5, gshape))
        y = c.node("Mul", swap(y, g), fused, shape=shape)
    if affine == "both":
        y = c.node("Add", swap(y, c.rand(norm[-1:], 0.3)), fused, shape=shape)
    # The fast LayerNorm takes a scale and bias of one value, or of one per element of the row.
    row = int(np.prod(norm))
    fits = lambda k: k in (1, row)
    if not leak and (affine == "none" or fits(int(np.prod(gshape)))) and (affine != "both" or fits(norm[-1])):
        expect_block(c, first, "fast")
    if leak:
        c.out(d)
    c.out(y)


def gelu_tail(c, x, a, fused, shape):
    """x * a * 0.5 in one of the orders exporters write."""
    half = c.const(np.float32(0.5))
    swap = lambda p, q: [q, p] if c.chance(0.5) else [p, q]
    form = c.pick("xa_h", "ah_x", "xh_a")
    if form == "xa_h":
        return c.node("Mul", swap(c.node("Mul", swap(x, a), fused), half), fused, shape=shape)
    if form == "ah_x":
        return c.node("Mul", swap(c.node("Mul", swap(a, half), fused), x), fused, shape=shape)
    return c.node("Mul", swap(c.node("Mul", swap(x, half), fused), a), fused, shape=shape)


def p_gelu_erf(c):
    """GELU as PyTorch exports it (Div by sqrt 2, Erf, Add 1, Mul x, Mul 0.5) and its variants
    (Mul by 1/sqrt 2, the products in any order): folded into one com.edgecc Gelu. A third of the
    cases take values up to about +-40, where the fast kernel's erf polynomial overflows to
    infinity (erf exactly 1, its tails)."""
    shape = [c.int(1, 4), c.int(1, 3), c.int(1, 20)][c.int(0, 1):]
    x = fusion_input(c, shape, c.pick(1.0, 1.0, 12.0))
    leak = c.chance(0.15)
    fused = None if leak else "fused"
    first = len(c.nodes)
    if c.chance(0.7):
        d = c.node("Div", [x, c.const(np.float32(math.sqrt(2)))], fused)
    else:
        d = c.node("Mul", [c.const(np.float32(1 / math.sqrt(2))), x], fused)
    e = c.node("Erf", [d], fused)
    a = c.node("Add", [e, c.const(np.float32(1))] if c.chance(0.5) else [c.const(np.float32(1)), e], fused)
    if leak:
        c.out(e)
    c.out(gelu_tail(c, x, a, fused, shape))
    if not leak:
        expect_block(c, first, "fast")


def p_gelu_tanh(c):
    """GELU(approximate='tanh') as PyTorch exports it (x*(x*x), Mul 0.044715, Add x, Mul
    sqrt(2/pi), Tanh, Add 1, Mul x, Mul 0.5) and with Pow(x, 3): one com.edgecc Gelu, on the fast
    kernel (eck_xnn_gelu_tanh). A third of the cases take values up to about +-40, past the clamp
    of its exp; blocks of up to 600 elements cross its 256-element chunks."""
    shape = [c.int(1, 4), c.int(1, 3), c.int(1, 50)][c.int(0, 1):]
    x = fusion_input(c, shape, c.pick(1.0, 1.0, 12.0))
    fused = "fused"
    first = len(c.nodes)
    if c.chance(0.5):
        cube = c.node("Pow", [x, c.const(np.float32(3))], fused)
    else:
        cube = c.node("Mul", [x, c.node("Mul", [x, x], fused)], fused)
    k = c.node("Mul", [c.const(np.float32(0.044715)), cube], fused)
    inner = c.node("Mul", [c.const(np.float32(math.sqrt(2 / math.pi))), c.node("Add", [x, k], fused)], fused)
    t = c.node("Tanh", [inner], fused)
    a = c.node("Add", [c.const(np.float32(1)), t], fused)
    c.out(gelu_tail(c, x, a, fused, shape))
    expect_block(c, first, "fast")


def stored_shape(logical, perm):
    """The shape a tensor must have for Transpose(., perm) to give `logical`."""
    s = [0] * len(perm)
    for i, p in enumerate(perm):
        s[p] = logical[i]
    return s


def moves_data(shape, perm):
    """False when Transpose(shape, perm) moves only dims of extent 1 (transpose-opt makes it a
    Reshape) or is the identity."""
    kept = [p for p in perm if shape[p] != 1]
    return kept != sorted(kept)


def attention_mm(c, a, b, pa, pb, py, sy):
    """MatMul of Transpose(a, pa) and Transpose(b, pb) (None: no Transpose), the product (of shape
    sy) transposed by py (None: none): every Transpose that moves data folds into one
    StridedMatMul (pass matmul-transpose) named FIRST..LAST of the nodes it replaces, on a fast
    kernel; the others become Reshapes (transpose-opt)."""
    block = []

    def tr(x, perm, shape):
        moves = moves_data(shape, perm)
        y = c.node("Transpose", [x], "fused" if moves else None, perm=perm)
        if moves:
            block.append(c.last_node())
        return y

    if pa is not None:
        a = tr(a, pa, c.shape(a))
    if pb is not None:
        b = tr(b, pb, c.shape(b))
    y = c.node("MatMul", [a, b], shape=sy)
    mm = c.last_node()
    block.append(mm)
    if py is not None:
        y = tr(y, py, sy)
        c.shapes[y] = [sy[i] for i in py]
    if len(block) > 1:
        c.expect.append((mm, "fused"))
        c.expect.append(("%s..%s" % (block[0], block[-1]), "fast"))
    else:
        c.expect.append((mm, "fast"))
    return y


def p_attention(c):
    """Attention's Transposes around the MatMuls of two activations, folded into StridedMatMuls
    (passes transpose-opt and matmul-transpose) and run on eck_blas_strided_matmul: the heads
    split from [B, S, H*D] (swin_t's and PyTorch's MultiheadAttention's batch-first layout, or
    vit_b_32's sequence-first one), Kᵀ (one Transpose, or two that transpose-opt composes), Q scaled
    by a scalar before or after its Transpose (transpose-opt moves the Transpose below it),
    Softmax, the product with V, the heads merged back; or a lone product of random rank, shapes,
    permutations and broadcast batch dims. Products up to 1e6 multiply-adds run on the own
    AVX kernels (a transposed operand packed), larger ones on OpenBLAS (transposed in place)."""
    form = c.pick("batch_first", "seq_first", "random", "random")
    if form == "random":
        r = c.pick(2, 3, 3, 4)
        big = c.chance(0.1)
        m, k, n = (c.int(60, 120), c.int(60, 120), c.int(60, 120)) if big else (c.int(1, 9), c.int(1, 40), c.int(1, 40))
        batch = [c.int(1, 3) for _ in range(r - 2)]
        bb = [d if c.chance(0.8) else 1 for d in batch]
        ba = [d if c.chance(0.8) or b == 1 else 1 for d, b in zip(batch, bb)]
        la, lb = ba + [m, k], bb + [k, n]
        ly = [max(x, y) for x, y in zip(ba, bb)] + [m, n]
        perms = lambda n_: [int(v) for v in c.rng.permutation(n_)]
        pa = perms(r) if c.chance(0.6) else None
        pb = perms(r) if c.chance(0.6) else None
        py = perms(r) if c.chance(0.5) else None
        if pa is None and pb is None and py is None:
            pb = list(range(r - 2)) + [r - 1, r - 2]
        a = c.input(stored_shape(la, pa) if pa else la)
        b = c.input(stored_shape(lb, pb) if pb else lb)
        c.out(attention_mm(c, a, b, pa, pb, py, ly))
        return
    # At least 2 of S, H and D: a Transpose of a dim of 1 would be a Reshape (transpose-opt).
    B, S, H, D = c.pick(1, 1, 2), c.int(2, 12), c.int(2, 4), c.int(2, 16)
    E = H * D
    scale = np.float32(1 / math.sqrt(D))
    if form == "batch_first":
        q, k, v = (c.node("Reshape", [c.input([B, S, E]), c.const(np.array([B, S, H, D]), np.int64)],
                          shape=[B, S, H, D]) for _ in range(3))
        split, kt, merge = [0, 2, 1, 3], [0, 2, 3, 1], [0, 2, 1, 3]
        back = [B, S, E]
    else:  # sequence first, heads folded into the batch: [S, B*H, D]
        q, k, v = (c.node("Reshape", [c.input([S, B, E]), c.const(np.array([S, B * H, D]), np.int64)],
                          shape=[S, B * H, D]) for _ in range(3))
        split, kt, merge = [1, 0, 2], [1, 2, 0], [1, 0, 2]
        back = [S, B, E]
    op = c.pick("Mul", "Div", None)
    sc = c.const(scale if op == "Mul" else np.float32(1 / scale)) if op else None
    if op and c.chance(0.5):  # scaled before the split
        q = c.node(op, [q, sc])
        op = None
    # Q's Transpose, then (maybe) its scaling, feed the scores' MatMul.
    first = len(c.nodes)
    qt = c.node("Transpose", [q], "fused", perm=split)
    if op:
        qt = c.node(op, [qt, sc])
    if c.chance(0.5):
        kk = c.node("Transpose", [k], "fused", perm=kt)
    else:  # split first, then Kᵀ: two Transposes, one after transpose-opt
        inner = split
        last_two = list(range(len(split) - 2)) + [len(split) - 1, len(split) - 2]
        kk = c.node("Transpose", [c.node("Transpose", [k], "fused", perm=inner)], "fused", perm=last_two)
    scores = c.node("MatMul", [qt, kk], "fused")
    c.expect.append(("%s..%s" % (c.nodes[first].name, c.nodes[-1].name), "fast"))
    p = c.node("Softmax", [scores], axis=-1)
    sv = [B, H, S, D] if form == "batch_first" else [B * H, S, D]
    y = attention_mm(c, p, v, None, split, merge, sv)
    c.out(c.node("Reshape", [y, c.const(np.array(back), np.int64)], shape=back))


def p_pow2(c):
    """Pow by a constant 2 (Mul x x) or 0.5 (Sqrt), of a graph input or a MatMul's output."""
    shape = [c.int(1, 4), c.int(1, 20)]
    x = fusion_input(c, shape)
    if c.chance(0.5):
        c.out(c.node("Pow", [x, c.const(np.float32(2.0))], shape=shape))
    else:
        a = c.node("Add", [c.node("Abs", [x]), c.const(np.float32(0.5))])
        c.out(c.node("Pow", [a, c.const(c.pick(np.float32(0.5), np.array([0.5], np.float32)))], shape=shape))


def p_matmul_bias(c):
    """nn.Linear of an input of rank 2 to 4 as PyTorch exports it: MatMul by a constant [K, N], then
    Add of a constant bias ([N], or with leading ones; either side): one Gemm with that bias (the
    Add fused away) on a fast fully-connected operator, between Reshapes that move no byte. Near
    misses keep the Add: the MatMul's output also a graph output, a bias of another shape, a
    computed bias."""
    rank = c.pick(2, 3, 3, 4)
    shape = [c.int(1, 4) for _ in range(rank - 2)] + [c.int(1, 9), c.int(1, 24)]
    x = fusion_input(c, shape)
    n = c.int(1, 20)
    miss = c.pick(None, None, None, None, "leak", "shape", "computed")
    mm = c.node("MatMul", [x, c.rand([shape[-1], n], 1 / math.sqrt(shape[-1]))], "xnn", shape=shape[:-1] + [n])
    if miss == "shape":  # one bias row per row of the last matrix dim: a row only when that dim is 1
        bias = c.rand([shape[-2], n], 0.3)
        miss = None if shape[-2] == 1 else miss
    elif miss == "computed":
        bias = c.node("Relu", [c.input([n])])
    else:
        bias = c.rand([1] * c.int(0, rank - 1) + [n], 0.3)
    add = c.node("Add", [mm, bias] if c.chance(0.5) else [bias, mm], "fused" if miss is None else None)
    if miss == "leak":
        c.out(mm)
    c.out(add)


def p_qlinear(c):
    """int8 on XNNPACK's qu8/qs8/qc8 operators (and, with --kernels onednn, oneDNN's int8
    convolution and matmul wherever the weights are int8), uint8 or int8 data, per-tensor scales and
    zero points: QLinearConv (groups, depthwise, kernel, strides, dilations, pads, int32 bias or
    none; NCHW graph tensors, so 8-bit layout conversions around it; int8 weights also with one
    scale per output channel, qc8; uint8 data with int8 weights, oneDNN only; ResNet's widths),
    MaxPool of 8-bit data (u8/s8, exact), QLinearAdd/QLinearMul (ONNX Runtime's
    contrib ops, broadcasting B), QLinearMatMul with a constant right
    operand (fully connected), QuantizeLinear and DequantizeLinear (convert). Outputs are
    compared within 1 LSB: the int8 tensor itself, or a dequantized one within its scale."""
    dt = c.pick(np.uint8, np.int8)
    info = np.iinfo(dt)
    tt = onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[np.dtype(dt)]
    kind = c.pick("conv", "conv", "matmul", "quant", "dequant", "maxpool", "add", "mul")

    def scale(lo, hi):
        return c.const(np.float32(lo * (hi / lo) ** c.rng.random()))

    def zp(weights=False):
        v = 0 if (weights and dt == np.int8) else c.int(info.min // 2 + info.max // 4, info.max // 2 + 32)
        return c.const(np.array(v, dt), dt)

    def qout(t, ys, yz, shape):
        c.shapes[t] = shape
        if c.chance(0.3):  # dequantized: 1 LSB is the scale
            f = c.node("DequantizeLinear", [t, ys, yz], "xnn", shape=shape)
            c.lsb[f] = float(numpy_helper.to_array(next(i for i in c.inits if i.name == ys))) * 1.0001
            c.out(f)
        else:
            c.dtypes[t] = dt
            c.lsb[t] = 1.0
            c.out(t)

    if kind == "quant":
        x = c.input(c.pick([7], [2, 3, 5], [1, 4, 3, 3]))
        ins = [x, scale(0.005, 0.05)]
        if dt == np.int8 or c.chance(0.7):
            ins.append(zp())
        y = c.node("QuantizeLinear", ins, "xnn", shape=c.shape(x))
        c.dtypes[y] = dt if len(ins) == 3 else np.uint8
        c.lsb[y] = 1.0
        c.out(y)
        return
    if kind in ("add", "mul"):  # QLinearAdd / QLinearMul (com.microsoft), broadcasting B
        shape = c.pick([2, 7], [1, 3, 4, 5], [2, 4, 3, 3])
        bshape = c.pick(shape, [1] * (len(shape) - 3) + shape[-3:-2] + [1, 1] if len(shape) == 4 else shape, [1])
        a, b = c.input(shape, dtype=dt), c.input(bshape, dtype=dt)
        as_, bs = scale(0.005, 0.05), scale(0.005, 0.05)
        fa = float(numpy_helper.to_array(next(i for i in c.inits if i.name == as_)))
        fb = float(numpy_helper.to_array(next(i for i in c.inits if i.name == bs)))
        ys = c.const(np.float32((fa + fb) * (0.6 + c.rng.random()) if kind == "add"
                                else fa * fb * 60.0 * (0.5 + c.rng.random())))
        yz = zp()
        y = c.node("QLinearAdd" if kind == "add" else "QLinearMul", [a, as_, zp(), b, bs, zp(), ys, yz], "xnn",
                   shape=shape, domain="com.microsoft")
        c.dtypes[y] = dt
        c.lsb[y] = 1.0
        c.out(y)
        return
    if kind == "maxpool":  # 8-bit max pooling (u8/s8): exact
        k = [c.int(2, 3), c.int(1, 3)]
        st, pads = [c.pick(1, 2), c.pick(1, 2)], [c.int(0, k[0] - 1), c.int(0, k[1] - 1)] * 2
        h, w = c.int(k[0], 9), c.int(k[1], 9)
        x = c.input([c.pick(1, 2), c.int(1, 12), h, w], dtype=dt)
        y = c.node("MaxPool", [x], "xnn", kernel_shape=k, strides=st, pads=pads)
        c.shapes[y] = [c.shape(x)[0], c.shape(x)[1], (h + 2 * pads[0] - k[0]) // st[0] + 1,
                       (w + 2 * pads[1] - k[1]) // st[1] + 1]
        c.dtypes[y] = dt
        c.lsb[y] = 0.0
        c.out(y)
        return
    if kind == "dequant":
        x = c.input(c.pick([9], [3, 5], [1, 3, 4, 2]), dtype=dt)
        s = scale(0.001, 0.1)
        ins = [x, s] + ([zp()] if c.chance(0.8) else [])
        if len(ins) == 2 and dt == np.int8:
            ins.append(zp())
        y = c.node("DequantizeLinear", ins, "xnn", shape=c.shape(x))
        c.lsb[y] = float(numpy_helper.to_array(next(i for i in c.inits if i.name == s))) * 1.0001
        c.out(y)
        return
    xs, xz = scale(0.005, 0.05), zp()
    # uint8 data with int8 weights of zero point 0 (ONNX Runtime's U8S8): only oneDNN runs it
    # (XNNPACK's qu8 wants uint8 weights: the reference kernel there); int8 weights of either data
    # type must run on oneDNN's int8 kernels with --kernels onednn ("dnnl8").
    wdt = np.int8 if dt == np.int8 or c.chance(0.4) else np.uint8
    winfo = np.iinfo(wdt)
    want = "dnnl8" if wdt == np.int8 else "xnn"
    ws = scale(0.002, 0.02)
    wz = c.const(np.array(0, wdt), wdt) if wdt != dt else zp(weights=True)

    def weights(shape):
        return c.const(c.rng.integers(winfo.min, winfo.max + 1, size=shape), wdt)

    def out_scale(k):
        # about three standard deviations of the accumulator over the output's range
        a = float(numpy_helper.to_array(next(i for i in c.inits if i.name == xs)))
        b = float(numpy_helper.to_array(next(i for i in c.inits if i.name == ws)).mean())
        return c.const(np.float32(a * b * 40.0 * math.sqrt(k) * (0.5 + c.rng.random())))

    if kind == "matmul":
        m, k, nout = c.int(1, 5), c.int(1, 24), c.int(1, 16)
        lead = c.pick([], [], [2], [1, 3])
        a = c.input(lead + [m, k], dtype=dt)
        ys, yz = out_scale(k), zp()
        y = c.node("QLinearMatMul", [a, xs, xz, weights([k, nout]), ws, wz, ys, yz], want)
        qout(y, ys, yz, lead + [m, nout])
        return
    n = c.pick(1, 1, 2)
    groups = c.pick(1, 1, 2, "dw")
    if groups == "dw":
        cin = c.int(1, 12)
        groups, cout = cin, cin * c.pick(1, 1, 2)
    elif c.chance(0.2):  # ResNet's widths: the blocked kernels (oneDNN's brgconv, VNNI), sums of thousands
        groups, cin, cout = 1, c.int(24, 160), c.int(16, 80)
    else:
        cin, cout = groups * c.int(1, 4), groups * c.int(1, 4)
    kh, kw = c.pick(1, 2, 3, 3), c.pick(1, 2, 3)
    sh, sw = c.pick(1, 1, 2), c.pick(1, 2)
    dh, dw = c.pick(1, 1, 2), c.pick(1, 1, 2)
    pads = [c.int(0, kh - 1), c.int(0, kw - 1), c.int(0, kh - 1), c.int(0, kw - 1)]
    eh, ew = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    h = max(c.int(1, 9), eh - pads[0] - pads[2])
    w = max(c.int(1, 9), ew - pads[1] - pads[3])
    x = c.input([n, cin, h, w], dtype=dt)
    if wdt == np.int8 and c.chance(0.5):  # per channel (qc8; oneDNN): scales over a decade, zero points 0
        ws = c.const((0.002 * 10.0 ** c.rng.random(cout)).astype(np.float32))
        wz = c.const(np.zeros(cout, np.int8), np.int8)
    ys, yz = out_scale(cin // groups * kh * kw), zp()
    ins = [x, xs, xz, weights([cout, cin // groups, kh, kw]), ws, wz, ys, yz]
    if c.chance(0.7):
        ins.append(c.const(c.rng.integers(-2000, 2001, size=[cout]), np.int32))
    y = c.node("QLinearConv", ins, want, kernel_shape=[kh, kw], strides=[sh, sw], dilations=[dh, dw],
               group=groups, pads=pads)
    oh = (h + pads[0] + pads[2] - eh) // sh + 1
    ow = (w + pads[1] + pads[3] - ew) // sw + 1
    qout(y, ys, yz, [n, cout, oh, ow])


def p_permute(c):
    """ConvNeXt's block: a depthwise Conv (NHWC on XNNPACK), Transpose to channels-last (0,2,3,1),
    a Linear (MatMul by a constant), Transpose back (0,3,1,2), then a 1x1 Conv or the residual Add
    of the block's input. Both Transposes move no byte once the convolution writes NHWC
    (cancel-transpose), so neither runs a step; without the Conv the first one reads the block's
    input, which the Add still needs: a copy, or a real transpose of a graph input."""
    n, ch, h, w = c.pick(1, 1, 2), c.int(1, 8), c.int(1, 6), c.int(1, 6)
    x = c.feat(n, ch, h, w)
    conv = c.chance(0.8)
    src = x
    if conv:
        src = c.node("Conv", [x, c.rand([ch, 1, 3, 3], 0.3), c.rand([ch], 0.3)], "xnn", shape=[n, ch, h, w],
                     group=ch, kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    t1 = c.node("Transpose", [src], "nostep" if conv else None, shape=[n, h, w, ch], perm=[0, 2, 3, 1])
    c2 = ch if c.chance(0.5) else c.int(1, 12)
    m = c.node("MatMul", [t1, c.rand([ch, c2], 1 / math.sqrt(ch))], "xnn", shape=[n, h, w, c2])
    y = c.node("Transpose", [m], "nostep", shape=[n, c2, h, w], perm=[0, 3, 1, 2])
    if c2 == ch and c.chance(0.6):  # the block's input, as ConvNeXt's residual
        y = c.node("Add", [y, x], shape=[n, ch, h, w])
    else:
        y = c.conv1x1(y, c2, c.int(1, 4))
    c.out(y)


RNN_ACTS = [("Sigmoid", None, None), ("Tanh", None, None), ("Relu", None, None), ("Affine", 1.0, 0.0),
            ("LeakyRelu", 0.01, None), ("ThresholdedRelu", 1.0, None), ("ScaledTanh", 1.0, 1.0),
            ("HardSigmoid", 0.2, 0.5), ("Elu", 1.0, None), ("Softsign", None, None), ("Softplus", None, None)]


def p_rnn(c):
    """LSTM, GRU or RNN on eck_xnn_rnn ("fast"): forward, reverse or bidirectional, layout 0 or 1,
    batch 1 (mostly) or more, sizes around the kernel's blocks of 4 rows and 16 lanes, with or
    without bias, sequence_lens, initial states (graph inputs: state carried in), peepholes,
    clip, input_forget, linear_before_reset, custom activations (alpha and beta), and any subset
    of the outputs Y, Y_h, Y_c."""
    c.opset = 14  # layout
    op = c.pick("LSTM", "LSTM", "GRU", "GRU", "RNN")
    G = {"LSTM": 4, "GRU": 3, "RNN": 1}[op]
    direction = c.pick("forward", "forward", "reverse", "bidirectional")
    D = 2 if direction == "bidirectional" else 1
    S, NB = c.int(1, 10), c.pick(1, 1, 1, 2, 3)
    I, H = c.pick(c.int(1, 8), c.int(9, 40)), c.pick(c.int(1, 8), c.int(9, 40))
    layout = c.pick(0, 0, 1)
    x = c.input([NB, S, I] if layout else [S, NB, I])
    ins = [x, c.rand([D, G * H, I], 1 / math.sqrt(I)), c.rand([D, G * H, H], 1 / math.sqrt(H))]
    opt = []
    opt.append(c.rand([D, 2 * G * H], 0.3) if c.chance(0.7) else "")
    if c.chance(0.3):
        name = c.fresh("in")
        c.inputs.append((name, c.rng.integers(0, S + 1, size=[NB]).astype(np.int32)))
        c.shapes[name] = [NB]
        opt.append(name)
    else:
        opt.append("")
    state = [NB, D, H] if layout else [D, NB, H]
    opt.append(c.input(state, scale=0.5) if c.chance(0.6) else "")
    if op == "LSTM":
        opt.append(c.input(state, scale=0.5) if c.chance(0.5) else "")
        opt.append(c.rand([D, 3 * H], 0.5) if c.chance(0.4) else "")
    while opt and opt[-1] == "":
        opt.pop()
    attrs = {"hidden_size": H, "direction": direction}
    if layout:
        attrs["layout"] = 1
    if c.chance(0.3):
        attrs["clip"] = float(c.pick(0.5, 1.0, 3.0))
    if op == "GRU" and c.chance(0.5):
        attrs["linear_before_reset"] = 1
    if op == "LSTM" and c.chance(0.2):
        attrs["input_forget"] = 1
    if c.chance(0.35):
        # A gate (LSTM's and GRU's first activation) stays within [0, 1], Sigmoid or HardSigmoid: an
        # unbounded gate makes the state grow geometrically, past 1e23 in ten steps or past float's
        # range, where float and the reference kernel's doubles rightly differ (seeds 923, 1275, 4179
        # of the first run). The others are any of the eleven.
        per = {"LSTM": 3, "GRU": 2, "RNN": 1}[op]
        acts = [RNN_ACTS[c.pick(0, 7)] if k % per == 0 and op != "RNN" else RNN_ACTS[c.int(0, len(RNN_ACTS) - 1)]
                for k in range(per * D)]
        attrs["activations"] = [a[0] for a in acts]
        if c.chance(0.5):  # explicit alpha and beta for every one (the defaults where it has none)
            attrs["activation_alpha"] = [float(a[1]) * c.pick(1.0, 0.5) if a[1] is not None else 0.0 for a in acts]
            attrs["activation_beta"] = [float(a[2]) if a[2] is not None else 0.0 for a in acts]
    n_out = 3 if op == "LSTM" else 2
    keep = [c.chance(0.7) for _ in range(n_out)]
    if not any(keep):
        keep[c.int(0, n_out - 1)] = True
    outs = [c.fresh("t") if k else "" for k in keep]
    while outs[-1] == "":
        outs.pop()
    name = c.fresh("n_" + op + "_")
    c.nodes.append(helper.make_node(op, ins + opt, outs, name=name, **attrs))
    c.expect.append((name, "fast"))
    for t in outs:
        if t:
            c.out(t)


PATTERNS = [p_conv, p_pool, p_gemm, p_binary, p_unary, p_fuse_act, p_fold_pad, p_pad, p_se, p_hsig_mul,
            p_concat, p_shuffle, p_resize, p_residual, p_batchnorm, p_layernorm, p_gelu_erf, p_gelu_tanh,
            p_pow2, p_qlinear, p_permute, p_rnn, p_matmul_bias, p_attention, p_pad_pool]
# The graph passes that fold the blocks above: off for the reference build.
REF_NO_PASS = ["layernorm", "gelu", "pow-square", "matmul-bias", "transpose-opt", "matmul-transpose"]


# ---- regressions: fixed graphs of the differences the harness found (seeds REGRESS_BASE + i) ---
# Each is the smallest graph that showed one bug, kept exactly as written (random data only), so
# that later changes to the generators above cannot move it away from the bug it guards.

def r_se_mobilenet(c):
    """MobileNetV3's squeeze-and-excitation at opset 13: the Relu fused into the first SE
    Conv, whose output [1,r,1,1] is layout-free, was dropped (that Conv fell to the reference
    kernel, which ignores a fused clamp): 0.41-0.52 of the output on mobilenet_v3_large."""
    x = c.conv1x1(c.input([1, 16, 7, 7]), 16, 16)
    g = c.node("GlobalAveragePool", [x], "xnn")
    s1 = c.node("Relu", [c.node("Conv", [g, c.rand([4, 16, 1, 1], 0.5), c.rand([4], 0.5)], "xnn")], "fused")
    s2 = c.node("Conv", [s1, c.rand([16, 4, 1, 1], 0.5), c.rand([16], 0.3)], "xnn")
    gate = c.node("HardSigmoid", [s2], alpha=1.0 / 6, beta=0.5)
    c.out(c.node("Mul", [gate, x], "xnn"))


def r_se_opset9(c):
    """The same block as older exporters write it (opset 9): ReduceMean, Add/Clip/Div as the
    hard sigmoid, on a graph input."""
    c.opset = 9
    x = c.input([1, 8, 5, 5])
    g = c.node("ReduceMean", [x], "xnn", axes=[2, 3], keepdims=1)
    s1 = c.node("Relu", [c.node("Conv", [g, c.rand([2, 8, 1, 1], 0.5), c.rand([2], 0.5)], "xnn")], "fused")
    s2 = c.node("Conv", [s1, c.rand([8, 2, 1, 1], 0.5), c.rand([8], 0.3)], "xnn")
    a = c.node("Clip", [c.node("Add", [s2, c.const(np.float32(3))])], min=0.0, max=6.0)
    c.out(c.node("Mul", [x, c.node("Div", [a, c.const(np.float32(6))])], "xnn"))


def r_pool_one_channel_relu(c):
    """A Relu fused into an AveragePool of one channel (layout-free output): the same dropped
    clamp, 11.7 of the largest value."""
    c.opset = 10
    x = c.conv1x1(c.input([1, 1, 6, 4]), 1, 1)
    c.out(c.node("Relu", [c.node("AveragePool", [x], "xnn", kernel_shape=[2, 2])], "fused"))


def r_shuffle_1x1(c):
    """A channel shuffle of 1x1 pixels: lowering tagged its input NHWC and its output NCHW,
    and edgecc stopped with an internal error."""
    x = c.conv1x1(c.input([1, 12, 1, 1]), 12, 12)
    r = c.node("Reshape", [x, c.const([1, 3, 4, 1, 1], np.int64)], "fused")
    t = c.node("Transpose", [r], "xnn", perm=[0, 2, 1, 3, 4])
    y = c.node("Reshape", [t, c.const([1, 12, 1, 1], np.int64)], "fused", shape=[1, 12, 1, 1])
    c.out(c.conv1x1(y, 12, 3))


def r_pool_layout_free_input(c):
    """Pooling a one-channel graph input (needs no conversion) ran on the reference kernel."""
    c.out(c.node("AveragePool", [c.input([1, 1, 5, 5])], "xnn", kernel_shape=[3, 3], pads=[1, 1, 1, 1]))


def r_avgpool_window_of_padding(c):
    """An AveragePool whose pad is as wide as its window: the last row of windows sees padding
    only, and XNNPACK's average (padding not counted) divided by 0 (inf)."""
    c.opset = 9
    x = c.conv1x1(c.input([2, 6, 5, 4]), 6, 6)
    c.out(c.node("AveragePool", [x], kernel_shape=[1, 2], pads=[0, 0, 1, 1]))


def r_maxpool_window_of_padding(c):
    """A MaxPool whose top pad is as tall as its window: its first row of windows sees padding
    only: XNNPACK's maximum took the next row instead of -inf."""
    x = c.conv1x1(c.input([1, 4, 3, 3]), 4, 4)
    c.out(c.node("MaxPool", [x], kernel_shape=[2, 2], pads=[2, 0, 0, 0]))


def r_clamp_chain(c):
    """Two clamps in a row after a BatchNormalization (and a Conv): fuse-act fused the first and
    moved on, leaving the second as a step of its own."""
    c.opset = 11
    x = c.node("MaxPool", [c.conv1x1(c.input([1, 6, 4, 3]), 6, 6)], "xnn", kernel_shape=[2, 2])
    p = [c.rand([6], 0.5), c.rand([6], 0.3), c.rand([6], 0.3), c.rand([6], 0.5, positive=True)]
    b = c.node("BatchNormalization", [x] + p, "fast")
    b = c.node("Clip", [b, "", c.const(np.float32(0.5))], "fused")
    c.out(c.node("Clip", [b, c.const(np.float32(-0.25)), c.const(np.float32(1.0))], "fused"))
    y = c.node("Conv", [c.input([1, 3, 4, 4]), c.rand([4, 3, 3, 3], 0.3)], "xnn")
    c.out(c.node("Clip", [c.node("Relu", [y], "fused"), c.const(np.float32(0)), c.const(np.float32(0.3))], "fused"))


def r_cut_before_relu(c):
    """--split-at the output of a Conv followed by a Relu: lowering (before the plan) fused the
    Relu into the Conv and the named tensor vanished ('computed from constants only')."""
    c.out(c.node("Conv", [c.conv1x1(c.input([1, 4, 5, 5]), 4, 4), c.rand([3, 4, 3, 3], 0.3)], "xnn"))
    c.tail = "Relu"


def r_qconv_groups_zero_point(c):
    """oneDNN 2.6.3's GEMM-based int8 convolution (x64:gemm_s8u8s32:jit) with groups and a source
    zero point: 82% of the outputs off, by up to 128 (seed 3377 of the qlinear pattern); eck_dnnl
    refuses that implementation there."""
    x = c.input([2, 4, 8, 5], dtype=np.uint8)
    ws = c.const((0.002 * 10.0 ** c.rng.random(8)).astype(np.float32))
    w = c.const(c.rng.integers(-128, 128, size=[8, 2, 2, 2]), np.int8)
    ins = [x, c.const(np.float32(0.02)), c.const(np.array(78, np.uint8), np.uint8), w, ws,
           c.const(np.zeros(8, np.int8), np.int8), c.const(np.float32(0.3)), c.const(np.array(90, np.uint8), np.uint8),
           c.const(c.rng.integers(-2000, 2001, size=[8]), np.int32)]
    y = c.node("QLinearConv", ins, "dnnl8", kernel_shape=[2, 2], strides=[1, 1], dilations=[2, 1], group=2,
               pads=[0, 0, 0, 1])
    c.shapes[y] = [2, 8, 6, 5]
    c.dtypes[y] = np.uint8
    c.lsb[y] = 1.0
    c.out(y)


REGRESSIONS = [r_se_mobilenet, r_se_opset9, r_pool_one_channel_relu, r_shuffle_1x1, r_pool_layout_free_input,
               r_avgpool_window_of_padding, r_maxpool_window_of_padding, r_clamp_chain, r_cut_before_relu,
               r_qconv_groups_zero_point]
REGRESS_BASE = 1000000


# ---- running ----------------------------------------------------------------------------------

def run(argv, what, timeout=120, cwd=None):
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout, cwd=cwd)
    except subprocess.TimeoutExpired:
        raise Failure("%s: timed out after %d s" % (what, timeout))
    if p.returncode != 0:
        err = (p.stderr.decode(errors="replace") + p.stdout.decode(errors="replace")).strip().splitlines()
        raise Failure("%s: exit %d: %s" % (what, p.returncode, " | ".join(err[-3:])))
    return p.stdout.decode(errors="replace")


class Failure(Exception):
    pass


def save_pb(arr, path):
    with open(path, "wb") as f:
        f.write(numpy_helper.from_array(arr).SerializeToString())


def load_pb(path):
    t = TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


STEP_RE = re.compile(r"^/\* node '([^']*)' \(")
KERNEL_RE = re.compile(r"^/\* kernel: (.*) \*/$")
# A node that runs no step (an in-place Concat, a reshape whose output aliases its input): the
# tensor table's comment on its output names it and what it is instead.
NO_STEP_RE = re.compile(r"/\* \w+, no step: (.*); node '([^']*)' \*/$")


def kernels_of(folder):
    """Node name -> kernel label of its step ("reference" when the step has none), over every
    generated partition source under folder."""
    got = {}
    for root, _, files in os.walk(folder):
        if os.path.basename(root) in ("runtime", "ref", "xnnpack", "blas", "onednn", "cmake"):
            continue
        for f in files:
            if not re.match(r".*_p\d+\.c$", f):
                continue
            node = None
            with open(os.path.join(root, f)) as fh:
                for line in fh:
                    m = NO_STEP_RE.search(line.rstrip("\n"))
                    if m:
                        got[m.group(2)] = m.group(1)
                        continue
                    m = STEP_RE.match(line)
                    if m:
                        node = m.group(1)
                        got[node] = "reference"
                        continue
                    m = KERNEL_RE.match(line)
                    if m and node is not None:
                        got[node] = m.group(1)
                    if line.startswith("static int "):
                        node = None
    return got


def check_kernels(case, labels, kernels="xnnpack"):
    """Problems with where the case's nodes ran on a fast kernel family."""
    bad = []
    kernels = "onednn" if kernels == "default" else kernels  # the same promises (oneDNN or XNNPACK)
    for name, want in case.expect:
        got = labels.get(name)
        if want == "fused" and got is not None:
            bad.append("%s should be fused away but runs as a step (%s)" % (name, got))
        elif want == "nostep" and got is not None and not got.startswith("aliases "):
            bad.append("%s should run no step (its output aliases its input) but runs on %s" % (name, got))
        elif want == "sum" and kernels == "onednn" and got is not None:
            bad.append("%s should be fused into a Conv as oneDNN's sum but runs as a step (%s)" % (name, got))
        elif want == "sum" and kernels != "onednn" and got != "XNNPACK":
            bad.append("%s should run on XNNPACK but runs on %s" % (name, got or "nothing"))
        elif want == "xnn" and kernels == "onednn" and got is None and "_n_Add_" in name:
            pass  # fuse-sum may make a oneDNN Add of a Conv's output that Conv's sum post-op
        elif want == "xnn" and kernels == "onednn" and got not in ("XNNPACK", "oneDNN"):
            bad.append("%s should run on oneDNN or XNNPACK but runs on %s" % (name, got or "nothing"))
        elif want == "xnn" and kernels != "onednn" and got != "XNNPACK":
            bad.append("%s should run on XNNPACK but runs on %s" % (name, got or "nothing"))
        elif want == "dnnl" and kernels == "onednn" and got != "oneDNN":
            bad.append("%s should run on oneDNN but runs on %s" % (name, got or "nothing"))
        elif want == "padpool" and kernels == "onednn" and got is not None:
            bad.append("%s should be folded into its AveragePool on oneDNN but runs as a step (%s)" % (name, got))
        elif want == "padpool" and kernels != "onednn" and got != "XNNPACK":
            bad.append("%s should run on XNNPACK but runs on %s" % (name, got or "nothing"))
        elif want == "dnnl8" and kernels == "onednn" and got != "oneDNN":
            bad.append("%s should run on oneDNN's int8 kernels but runs on %s" % (name, got or "nothing"))
        elif want == "fast" and (got is None or got == "reference"):
            bad.append("%s should run on a fast kernel but runs on %s" % (name, got or "nothing"))
    return bad


class Harness:
    def __init__(self, args):
        self.args = args
        self.edgecc = os.path.abspath(args.edgecc)
        self.build = os.path.abspath(args.build_dir)
        self.work = os.path.abspath(args.work)
        self.failures = []
        self.n_cases = 0
        self.n_cut = 0
        self.dnnl_kinds = {}  # oneDNN primitive kind -> steps seen (--kernels onednn)
        self.lsb_stats = {}   # kernels -> [values compared within 1 LSB, values one step off]

    def compile_and_run(self, d, model_path, cases, kernels, cut_tensor, threads):
        """Compiles with one kernel library, builds, runs; returns (outputs by name, labels)."""
        out = os.path.join(d, "out_" + kernels)
        shutil.rmtree(out, ignore_errors=True)
        kflag = [] if kernels == "default" else ["--kernels", kernels]
        if cut_tensor is None:
            argv = [self.edgecc, "compile", model_path, "--targets", "host"] + kflag + ["-o", out]
            parts = [("host", 0)]
        else:
            argv = [self.edgecc, "compile", model_path, "--targets", "a=host,b=host"] + kflag + [
                    "--split-at", cut_tensor, "-o", out]
            parts = [("a", 0), ("b", 1)]
        if kernels == "ref":
            for p in REF_NO_PASS:
                argv += ["--no-pass", p]
        run(argv, "edgecc compile --kernels " + kernels)
        env = dict(os.environ, CFLAGS="-O1", PART="0")
        progs = []
        for dev, k in parts:
            exe = os.path.join(d, "bin_%s_%s" % (kernels, dev), "prog")
            env["PART"] = str(k)
            try:
                p = subprocess.run(["sh", BUILD_HOOK, os.path.join(out, dev), self.build, exe], env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
            except subprocess.TimeoutExpired:
                raise Failure("build (%s): timed out" % kernels)
            if p.returncode != 0:
                raise Failure("build (%s): %s" % (kernels, p.stdout.decode(errors="replace").strip()[-400:]))
            progs.append(exe)
        ins = []
        for c in cases:
            for name, data in c.inputs:
                ins += ["--input", os.path.join(d, name + ".pb")]
        outs = [t for c in cases for t in c.outputs]
        got = {}
        thr = ["--threads", str(threads)]
        if cut_tensor is None:
            files = [os.path.join(d, "%s_%s.pb" % (t, kernels)) for t in outs]
            run([progs[0]] + ins + sum([["--output", f] for f in files], []) + thr, "run (%s)" % kernels)
        else:
            cut = os.path.join(d, "cut_%s.pb" % kernels)
            run([progs[0]] + ins + ["--output", cut] + thr, "run p0 (%s)" % kernels)
            files = [os.path.join(d, "%s_%s.pb" % (t, kernels)) for t in outs]
            run([progs[1], "--input", cut] + sum([["--output", f] for f in files], []) + thr, "run p1 (%s)" % kernels)
            got[cut_tensor] = load_pb(cut)
        for t, f in zip(outs, files):
            got[t] = load_pb(f)
        if kernels in ("onednn", "default"):
            for root, _, fs in os.walk(out):
                for f in fs:
                    if re.match(r".*_p\d+\.c$", f) and not f.startswith("main_"):
                        with open(os.path.join(root, f)) as fh:
                            text = fh.read()
                            for k in re.findall(r"^\s*\.kind = ECK_DNNL_([A-Z]+)", text, re.M):
                                self.dnnl_kinds[k] = self.dnnl_kinds.get(k, 0) + 1
                            n_sum = len(re.findall(r"^\s*\.kind = ECK_DNNL_CONV, \.flags = [A-Z_ |]*ECK_DNNL_SUM", text, re.M))
                            self.dnnl_kinds["SUM"] = self.dnnl_kinds.get("SUM", 0) + n_sum
                            n_cat = len(re.findall(r"\beck_dnnl_stage\(", text))
                            self.dnnl_kinds["INTO_CONCAT"] = self.dnnl_kinds.get("INTO_CONCAT", 0) + n_cat
        return got, kernels_of(out)

    def run_model(self, d, cases, opset, threads):
        """Builds one model of the cases; returns {seed: [problem, ...]} (empty lists: pass).
        Raises Failure when the model as a whole does not compile, build or run."""
        os.makedirs(d, exist_ok=True)
        try:
            model = make_model(cases, opset)
        except Exception as e:  # a generator's mistake: report the seed, do not stop the run
            raise Failure("the generated model is not valid ONNX: %s" % str(e).splitlines()[0])
        path = os.path.join(d, "model.onnx")
        onnx.save(model, path)
        for c in cases:
            for name, data in c.inputs:
                save_pb(data, os.path.join(d, name + ".pb"))
        cut = cases[0].cut_tensor if cases[0].cut else None
        want, _ = self.compile_and_run(d, path, cases, "ref", cut, threads)
        problems = {c.seed: [] for c in cases}
        for k in self.args.kernels:
            got, labels = self.compile_and_run(d, path, cases, k, cut, threads)
            for c in cases:
                problems[c.seed] += ["%s: %s" % (k, p) for p in check_kernels(c, labels, k)]
                names = c.outputs + ([c.cut_tensor] if c.cut else [])
                for t in names:
                    if c.lsb.get(t) and got[t].shape == want[t].shape:
                        st = self.lsb_stats.setdefault(k, [0, 0])
                        st[0] += want[t].size
                        st[1] += int((got[t] != want[t]).sum())
                    err = compare(got[t], want[t], c.lsb.get(t))
                    if err is not None:
                        problems[c.seed].append("%s: output %s: %s" % (k, t[len(c.pre):], err))
        return problems

    def write_case(self, c):
        d = os.path.join(self.work, "fail", "seed%d" % c.seed)
        os.makedirs(d, exist_ok=True)
        onnx.save(make_model([c], c.opset, "seed%d" % c.seed, check=False), os.path.join(d, "model.onnx"))
        for i, (name, data) in enumerate(c.inputs):
            save_pb(data, os.path.join(d, "input_%d.pb" % i))
        return d

    def report(self, c, problems):
        d = self.write_case(c)
        print("FAIL seed %d (pattern %s, opset %d%s)" % (c.seed, c.name, c.opset,
              ", cut after %s" % c.cut_tensor[len(c.pre):] if c.cut else ""))
        for p in problems:
            print("    " + p)
        print("    model and inputs: %s; replay: %s --replay %d" % (d, sys.argv[0], c.seed))
        self.failures.append(c.seed)

    def run_alone(self, c, threads):
        d = os.path.join(self.work, "alone", "seed%d" % c.seed)
        shutil.rmtree(d, ignore_errors=True)
        try:
            probs = self.run_model(d, [c], c.opset, threads)[c.seed]
        except Failure as e:
            probs = [str(e)]
        if not self.args.keep and not probs:
            shutil.rmtree(d, ignore_errors=True)
        return probs

    def run_batch(self, idx, cases, threads):
        d = os.path.join(self.work, "batch%d" % idx)
        shutil.rmtree(d, ignore_errors=True)
        try:
            problems = self.run_model(d, cases, cases[0].opset, threads)
        except Failure as e:
            if len(cases) == 1:
                self.report(cases[0], [str(e)])
                return
            print("batch %d (%d cases): %s; running its cases one by one" % (idx, len(cases), e))
            problems = None
        for c in cases:
            probs = problems[c.seed] if problems is not None else self.run_alone(c, threads)
            if probs and problems is not None and len(cases) > 1:
                alone = self.run_alone(c, threads)
                if alone:
                    probs = alone
                else:
                    probs = probs + ["(passes when compiled alone)"]
            if probs:
                self.report(c, probs)
        if not self.args.keep:
            shutil.rmtree(d, ignore_errors=True)


def compare(got, want, lsb=None):
    """None when got matches want by the zoo's rule (int8 results: within lsb, one step of
    their quantization), else what differs."""
    if got.shape != want.shape:
        return "shape %s, reference %s" % (list(got.shape), list(want.shape))
    if got.dtype != want.dtype:
        return "dtype %s, reference %s" % (got.dtype, want.dtype)
    if lsb is not None:
        err = float(np.max(np.abs(got.astype(np.float64) - want.astype(np.float64)))) if got.size else 0.0
        return None if err <= lsb else "max error %.6g, more than 1 LSB (%.6g)" % (err, lsb)
    with np.errstate(invalid="ignore", over="ignore"):
        return compare_values(got.astype(np.float64), want.astype(np.float64))


def compare_values(g, w):
    # Equal values (infinities of one sign, NaN against NaN) agree; the scale is the largest
    # finite reference value, and a non-finite value where the reference differs is an error.
    same = (g == w) | (np.isnan(g) & np.isnan(w))
    if not np.isfinite(np.where(same, 0.0, g - w)).all():
        return "%d values inf or NaN where the reference differs" % int((~same & ~np.isfinite(g - w)).sum())
    finite = np.isfinite(w)
    scale = float(np.max(np.abs(w[finite]))) if finite.any() else 0.0
    err = float(np.max(np.abs(np.where(same, 0.0, g - w)))) if w.size else 0.0
    if err <= TOL * scale or err == 0.0:
        return None
    return "max error %.3g = %.3g of the largest reference value %.3g" % (err, err / max(scale, 1e-30), scale)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--edgecc", required=True, help="the edgecc binary")
    ap.add_argument("--build-dir", required=True, help="the edgecc build folder (libecrt.a, libeck_ref.a)")
    ap.add_argument("--work", default="diff-work", help="work folder (default ./diff-work)")
    ap.add_argument("--seed", type=int, default=1, help="first case seed (default 1)")
    ap.add_argument("--count", type=int, default=100, help="number of cases (default 100)")
    ap.add_argument("--batch", type=int, default=32, help="cases per model (default 32)")
    ap.add_argument("--cut-rate", type=float, default=0.1,
                    help="share of cases followed by a cut between two partitions (default 0.1)")
    ap.add_argument("--replay", help="run these case seeds (comma-separated) alone, keep their folders")
    ap.add_argument("--pattern", help="only cases of these patterns (comma-separated names, see --list): "
                    "--count of them from --seed on")
    ap.add_argument("--regress", action="store_true",
                    help="run the regression cases (seeds %d and up) instead of generated ones" % REGRESS_BASE)
    ap.add_argument("--list", action="store_true", help="list the patterns and exit")
    ap.add_argument("--keep", action="store_true", help="keep the work folders of passing models")
    ap.add_argument("--kernels", default="xnnpack",
                    help="the fast kernel families compared with ref, comma-separated (%s; default xnnpack)"
                    % ", ".join(FAST_KERNELS))
    args = ap.parse_args()
    args.kernels = args.kernels.split(",")
    for k in args.kernels:
        if k not in FAST_KERNELS:
            ap.error("--kernels: no fast kernel family '%s' (families: %s)" % (k, ", ".join(FAST_KERNELS)))
    sys.stdout.reconfigure(line_buffering=True)  # a long run's failures show as they happen
    if args.list:
        for i, p in enumerate(PATTERNS):
            print("%7d %-10s %s" % (i, p.__name__[2:], " ".join(p.__doc__.split())))
        for i, p in enumerate(REGRESSIONS):
            print("%7d %s: %s" % (REGRESS_BASE + i, p.__name__[2:], " ".join(p.__doc__.split())))
        return 0
    if args.count < 1 or args.batch < 1 or not 0 <= args.cut_rate <= 1:
        ap.error("--count and --batch must be at least 1, --cut-rate within 0..1")
    for f in (args.edgecc, os.path.join(args.build_dir, "libecrt.a")):
        if not os.path.exists(f):
            print("diff.py: %s not found (build targets edgecc, ecrt and eck_ref first)" % f, file=sys.stderr)
            return 2
    h = Harness(args)
    t0 = time.time()
    if args.replay:
        try:
            seeds = [int(s) for s in args.replay.split(",")]
        except ValueError:
            ap.error("--replay takes case seeds: --replay 17 or --replay 17,230")
        args.keep = True
        for s in seeds:
            c = build_case(s, args.cut_rate)
            h.n_cases += 1
            h.n_cut += c.cut
            print("seed %d: pattern %s, opset %d%s" % (s, c.name, c.opset, ", cut after " + c.cut_tensor if c.cut else ""))
            probs = h.run_alone(c, 1)
            if probs:
                h.report(c, probs)
            else:
                print("    agrees; folder %s" % os.path.join(h.work, "alone", "seed%d" % s))
    else:
        seeds = range(args.seed, args.seed + args.count)
        if args.pattern:
            names = [p.__name__[2:] for p in PATTERNS]
            want = args.pattern.split(",")
            for w in want:
                if w not in names:
                    ap.error("--pattern: no pattern '%s' (patterns: %s)" % (w, ", ".join(names)))
            idx = [names.index(w) for w in want]
            seeds = [s for s in range(args.seed, args.seed + args.count * len(PATTERNS))
                     if s % len(PATTERNS) in idx][:args.count]
        if args.regress:
            seeds = range(REGRESS_BASE, REGRESS_BASE + len(REGRESSIONS))
        cases = []
        for s in seeds:
            try:
                cases.append(build_case(s, args.cut_rate))
            except Exception as e:  # a generator's mistake: report the seed, run the others
                print("FAIL seed %d: the generator failed: %s: %s" % (s, type(e).__name__, e))
                h.failures.append(s)
        h.n_cases = len(cases) + len(h.failures)
        groups = {}
        idx = 0
        for c in cases:
            if c.cut:
                h.n_cut += 1
                h.run_batch(idx, [c], 1 + idx % 2)
                idx += 1
            else:
                groups.setdefault(c.opset, []).append(c)
        for opset in sorted(groups):
            g = groups[opset]
            for k in range(0, len(g), args.batch):
                h.run_batch(idx, g[k:k + args.batch], 1 + idx % 2)
                idx += 1
    print("%d cases (%d with a cut), %d failed, %.0f s; kernels %s against ref" %
          (h.n_cases, h.n_cut, len(h.failures), time.time() - t0, ",".join(args.kernels)))
    for k, (n_vals, n_off) in sorted(h.lsb_stats.items()):
        print("%s: %d quantized output values compared within 1 LSB, %d one step off the reference (%.3f%%)"
              % (k, n_vals, n_off, 100.0 * n_off / max(n_vals, 1)))
    dnnl = "onednn" in args.kernels or "default" in args.kernels
    if dnnl and args.pattern and "qlinear" in args.pattern.split(","):
        print("oneDNN int8 steps by kind: %s" % ", ".join("%s %d" % (k.lower(), h.dnnl_kinds.get(k, 0))
                                                         for k in ONEDNN_INT8_KINDS))
        missing = [k.lower() for k in ONEDNN_INT8_KINDS if not h.dnnl_kinds.get(k)]
        if missing and not args.replay:
            print("FAIL: no step of %s ran on oneDNN (lowering fell back for them)" % ", ".join(missing))
            return 1
    if "onednn" in args.kernels or "default" in args.kernels:
        print("oneDNN steps by kind: %s" % (", ".join("%s %d" % (k.lower(), h.dnnl_kinds.get(k, 0))
                                                      for k in ONEDNN_KINDS)))
        # Only a generated run covers every kind; --replay and --pattern choose a few cases. The
        # default order keeps Mul on XNNPACK (with onednn too, a run counts both).
        want = [k for k in ONEDNN_KINDS if k != "MUL" or "onednn" in args.kernels]
        missing = [k.lower() for k in want if not h.dnnl_kinds.get(k)]
        if missing and not args.replay and not args.pattern and not args.regress:
            print("FAIL: no step of %s ran on oneDNN (lowering fell back to XNNPACK for them)" % ", ".join(missing))
            return 1
    if h.failures:
        print("failed seeds: " + ",".join(str(s) for s in h.failures))
    return 1 if h.failures else 0


if __name__ == "__main__":
    sys.exit(main())
