#!/usr/bin/python3
"""Models for the graph-pass tests, made at test time (seeded, byte-identical run to run).

Usage: /usr/bin/python3 tests/unit/passes/make_models.py OUTDIR
       /usr/bin/python3 tests/unit/passes/make_models.py --zoo MODEL OUTDIR
Torch exports (opset 13, `training=PRESERVE` on eval-mode models so that torch does not fold
BatchNormalization itself): conv_bn_relu, residual, linear_bn1d, conv1d_bn. Hand-made graphs
(onnx.helper) for the corner cases: identity_outputs, dropout, bn_shared, bn_matmul_gemm,
dead_code, const_fold.
Fusion models (pow-square, layernorm, gelu, matmul-bias, transpose-opt, matmul-transpose): torch exports of the blocks (pow_torch, ln_torch,
gelu_torch, linear_torch, attn_torch) and hand-made variants and near-misses (pow_hand, ln_variants, ln_nomatch,
gelu_variants, gelu_nomatch), each with OUTDIR/NAME_input_0.pb and the output computed outside
edgecc (torch, or numpy in float64) in OUTDIR/NAME_output_<i>.pb.
--zoo exports a zoo model (tests/models/export_zoo.py: same weights, statistics and input) with
its BatchNormalizations kept, as OUTDIR/MODEL_bn.onnx and OUTDIR/MODEL_bn_input_0.pb.
"""

import os
import sys
import warnings

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper


def seeded_bn(model, seed):
    """Non-trivial BatchNorm statistics, so that folding has something to get wrong."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.weight.copy_(torch.rand(m.weight.shape, generator=gen) * 0.5 + 0.75)
                m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.1)
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=gen) * 0.2)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) + 0.5)
    return model.eval()


class Residual(torch.nn.Module):
    """A ResNet basic block with a downsampling shortcut, then a plain one."""

    def __init__(self):
        super().__init__()
        c = torch.nn.Conv2d
        b = torch.nn.BatchNorm2d
        self.c1, self.b1 = c(4, 8, 3, stride=2, padding=1, bias=False), b(8)
        self.c2, self.b2 = c(8, 8, 3, padding=1, bias=False), b(8)
        self.cd, self.bd = c(4, 8, 1, stride=2, bias=False), b(8)
        self.c3, self.b3 = c(8, 8, 3, padding=1, bias=True), b(8)
        self.c4, self.b4 = c(8, 8, 3, padding=1, groups=2, bias=False), b(8)

    def forward(self, x):
        r = torch.relu
        y = r(self.b2(self.c2(r(self.b1(self.c1(x))))) + self.bd(self.cd(x)))
        return r(self.b4(self.c4(r(self.b3(self.c3(y))))) + y)


def torch_models():
    nn = torch.nn
    torch.manual_seed(0)
    yield "conv_bn_relu", seeded_bn(nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 6, 1), nn.BatchNorm2d(6), nn.ReLU()), 1), (1, 3, 10, 10)
    torch.manual_seed(1)
    yield "residual", seeded_bn(Residual(), 2), (1, 4, 12, 12)
    torch.manual_seed(2)
    yield "linear_bn1d", seeded_bn(nn.Sequential(
        nn.Linear(16, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 4), nn.BatchNorm1d(4)), 3), (3, 16)
    torch.manual_seed(3)
    yield "conv1d_bn", seeded_bn(nn.Sequential(
        nn.Conv1d(4, 6, 3), nn.BatchNorm1d(6), nn.Tanh()), 4), (2, 4, 9)


def export_torch(outdir):
    for name, model, shape in torch_models():
        x = torch.randn(*shape, generator=torch.Generator().manual_seed(5))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, x, os.path.join(outdir, name + ".onnx"), opset_version=13,
                              training=torch.onnx.TrainingMode.PRESERVE,
                              input_names=["x"], output_names=["y"])


def const(name, arr):
    return numpy_helper.from_array(np.asarray(arr, dtype=np.float32), name)


def save(outdir, name, nodes, inputs, outputs, inits, opset=13):
    g = helper.make_graph(nodes, name, inputs, outputs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(outdir, name + ".onnx"))


def vi(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def bn_inits(prefix, c, rng):
    return [const(prefix + "_s", rng.uniform(0.5, 1.5, c)), const(prefix + "_b", rng.normal(0, 0.1, c)),
            const(prefix + "_m", rng.normal(0, 0.2, c)), const(prefix + "_v", rng.uniform(0.5, 1.5, c))]


def bn_node(prefix, x, y, eps=1e-5):
    return helper.make_node("BatchNormalization", [x] + [prefix + s for s in ("_s", "_b", "_m", "_v")],
                            [y], name=prefix, epsilon=eps)


def hand_models(outdir):
    rng = np.random.default_rng(7)
    w = const("w", rng.normal(0, 0.3, (4, 3, 3, 3)))

    # Identity chains ending in graph outputs; an Identity of a graph input (kept: it is the
    # output's only producer); an Identity feeding another op and a graph output at once.
    save(outdir, "identity_outputs", [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Identity", ["c"], ["i1"], name="id1"),
        helper.make_node("Identity", ["i1"], ["y"], name="id2"),
        helper.make_node("Relu", ["i1"], ["r"], name="relu"),
        helper.make_node("Identity", ["r"], ["z"], name="id3"),
        helper.make_node("Identity", ["z"], ["z2"], name="id4"),
        helper.make_node("Identity", ["x"], ["xc"], name="id5"),
    ], [vi("x", [1, 3, 6, 6])],
        [vi("y", [1, 4, 6, 6]), vi("z", [1, 4, 6, 6]), vi("z2", [1, 4, 6, 6]), vi("xc", [1, 3, 6, 6])], [w])

    # Dropout at inference: removed unless its mask is used; the opset-7 form too.
    save(outdir, "dropout", [
        helper.make_node("Dropout", ["x"], ["d1"], name="drop1"),
        helper.make_node("Relu", ["d1"], ["r"], name="relu"),
        helper.make_node("Dropout", ["r"], ["d2", "mask"], name="drop2"),
        helper.make_node("Dropout", ["d2"], ["y", "unused_mask"], name="drop3"),
    ], [vi("x", [2, 5])], [vi("y", [2, 5]), helper.make_tensor_value_info("mask", TensorProto.BOOL, [2, 5])], [])
    save(outdir, "dropout_old", [
        helper.make_node("Dropout", ["x"], ["d1"], name="drop1", ratio=0.25),
        helper.make_node("Sigmoid", ["d1"], ["y"], name="sig"),
    ], [vi("x", [3, 4])], [vi("y", [3, 4])], [], opset=7)

    # Two Convs share a weight, each with its own BatchNormalization: both fold into new
    # tensors, the shared one stays intact. A Conv whose output also feeds an Add does not fold;
    # a BatchNormalization of a graph input stays.
    save(outdir, "bn_shared", [
        helper.make_node("Conv", ["x", "w"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        bn_node("bn1", "c1", "b1"),
        helper.make_node("Conv", ["x", "w", "cb"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
        bn_node("bn2", "c2", "b2", eps=1e-3),
        helper.make_node("Conv", ["x", "w"], ["c3"], name="conv3", pads=[1, 1, 1, 1]),
        bn_node("bn3", "c3", "b3"),
        helper.make_node("Add", ["b3", "c3"], ["a3"], name="add3"),
        helper.make_node("Add", ["b1", "b2"], ["s"], name="add"),
        helper.make_node("Add", ["s", "a3"], ["y"], name="add2"),
        bn_node("bn4", "x", "y2"),
    ], [vi("x", [1, 3, 5, 5])], [vi("y", [1, 4, 5, 5]), vi("y2", [1, 3, 5, 5])],
        [w, const("cb", rng.normal(0, 0.1, 4))] + bn_inits("bn1", 4, rng) + bn_inits("bn2", 4, rng)
        + bn_inits("bn3", 4, rng) + bn_inits("bn4", 3, rng))

    # MatMul with a constant weight becomes a Gemm; Gemm without transB, with alpha and beta and
    # a per-row C; Gemm with transB and no C. The last BatchNormalization writes a graph output.
    save(outdir, "bn_matmul_gemm", [
        helper.make_node("MatMul", ["x", "wm"], ["m"], name="matmul"),
        bn_node("bn1", "m", "b1"),
        helper.make_node("Gemm", ["b1", "wg", "cg"], ["g"], name="gemm", alpha=0.5, beta=2.0),
        bn_node("bn2", "g", "b2"),
        helper.make_node("Relu", ["b2"], ["r"], name="relu"),
        helper.make_node("Gemm", ["r", "wt"], ["g2"], name="gemm_t", alpha=1.5, transB=1),
        bn_node("bn3", "g2", "y"),
    ], [vi("x", [3, 6])], [vi("y", [3, 5])],
        [const("wm", rng.normal(0, 0.4, (6, 7))), const("wg", rng.normal(0, 0.4, (7, 4))),
         const("cg", rng.normal(0, 0.4, (3, 4))), const("wt", rng.normal(0, 0.4, (5, 4)))]
        + bn_inits("bn1", 7, rng) + bn_inits("bn2", 4, rng) + bn_inits("bn3", 5, rng))

    # Dead code: a branch no output reads, and a node with two outputs of which one is read.
    save(outdir, "dead_code", [
        helper.make_node("Relu", ["x"], ["r"], name="relu"),
        helper.make_node("Exp", ["r"], ["dead1"], name="exp_dead"),
        helper.make_node("Conv", ["dead1", "w"], ["dead2"], name="conv_dead"),
        helper.make_node("Split", ["r"], ["s1", "s2"], name="split", axis=1),
        helper.make_node("Neg", ["s2"], ["dead3"], name="neg_dead"),
        helper.make_node("Sigmoid", ["s1"], ["y"], name="sig"),
    ], [vi("x", [1, 4, 3, 3])], [vi("y", [1, 2, 3, 3])], [const("w", rng.normal(0, 0.3, (2, 4, 1, 1)))])

    # Constant folding: float work on initializers (a Transpose of a weight, a Mul making a bias,
    # a Neg that is a graph output) is folded, or with --no-pass const-fold left to run; the
    # shape subgraph (Shape, Gather, Unsqueeze, a float Mul cast to int64, Concat into a Reshape)
    # is folded either way, since static shapes need it.
    i64 = lambda name, arr: numpy_helper.from_array(np.asarray(arr, dtype=np.int64), name)
    save(outdir, "const_fold", [
        helper.make_node("Transpose", ["w0"], ["wt"], name="transpose_w", perm=[1, 0, 2, 3]),
        helper.make_node("Mul", ["s1", "s2"], ["sb"], name="mul_bias"),
        helper.make_node("Conv", ["x", "wt", "sb"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Shape", ["c"], ["sh"], name="shape"),
        helper.make_node("Gather", ["sh", "i0"], ["n"], name="gather", axis=0),
        helper.make_node("Unsqueeze", ["n", "ax0"], ["nu"], name="unsqueeze"),
        helper.make_node("Mul", ["fa", "fb"], ["fm"], name="mul_shape"),
        helper.make_node("Cast", ["fm"], ["mi"], name="cast", to=TensorProto.INT64),
        helper.make_node("Concat", ["nu", "mi"], ["shp"], name="concat", axis=0),
        helper.make_node("Reshape", ["c", "shp"], ["y"], name="reshape"),
        helper.make_node("Neg", ["s1"], ["k"], name="neg_const"),
    ], [vi("x", [1, 3, 6, 6])], [vi("y", [1, 144]), vi("k", [4])],
        [const("w0", rng.normal(0, 0.3, (3, 4, 3, 3))), const("s1", rng.normal(0, 1, 4)),
         const("s2", rng.normal(0, 1, 4)), i64("i0", 0), i64("ax0", [0]), const("fa", [2.0]),
         const("fb", [-0.5])])


def export_zoo_bn(name, outdir):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "models"))
    import export_zoo
    torch.set_num_threads(1)
    model, side = export_zoo.build(name)
    x = torch.randn(1, 3, side, side, generator=torch.Generator().manual_seed(export_zoo.SEED_INPUT))
    os.makedirs(outdir, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, x, os.path.join(outdir, name + "_bn.onnx"), opset_version=13,
                          training=torch.onnx.TrainingMode.PRESERVE,
                          input_names=["input"], output_names=["output"])
    with open(os.path.join(outdir, name + "_bn_input_0.pb"), "wb") as f:
        f.write(numpy_helper.from_array(x.numpy(), "input").SerializeToString())


def save_pb(path, arr, name):
    with open(path, "wb") as f:
        f.write(numpy_helper.from_array(np.asarray(arr), name).SerializeToString())


def save_io(outdir, name, xs, outs):
    """NAME_input_<i>.pb (xs: one array, or a list of (array, graph input name)) and
    NAME_output_<i>.pb."""
    for i, (x, xn) in enumerate(xs if isinstance(xs, list) else [(xs, "x")]):
        save_pb(os.path.join(outdir, "%s_input_%d.pb" % (name, i)), x, xn)
    for i, y in enumerate(outs):
        save_pb(os.path.join(outdir, "%s_output_%d.pb" % (name, i)), y, "y%d" % i)


class PowBlock(torch.nn.Module):
    def forward(self, x):
        return x ** 2 + (x.abs() + 0.25) ** 0.5 + x ** 3


class LnBlock(torch.nn.Module):
    """A Linear, a LayerNorm with drawn affine parameters, one without affine parameters."""

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(16, 32)
        self.ln1 = torch.nn.LayerNorm(32, eps=1e-6)
        self.ln2 = torch.nn.LayerNorm(32, elementwise_affine=False)
        gen = torch.Generator().manual_seed(21)
        with torch.no_grad():
            self.ln1.weight.copy_(torch.rand(32, generator=gen) * 0.5 + 0.75)
            self.ln1.bias.copy_(torch.randn(32, generator=gen) * 0.1)

    def forward(self, x):
        return self.ln2(self.ln1(self.lin(x)) * 3.0)


class GeluBlock(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.l1, self.l2 = torch.nn.Linear(16, 24), torch.nn.Linear(24, 8)

    def forward(self, x):
        return torch.nn.functional.gelu(self.l2(torch.nn.functional.gelu(self.l1(x))), approximate="tanh")


class LinearBlock(torch.nn.Module):
    """nn.Linear of inputs of rank 3 and 4 (MatMul and Add as PyTorch exports them), one without a
    bias (a MatMul alone)."""

    def __init__(self):
        super().__init__()
        self.l1, self.l2, self.l3 = torch.nn.Linear(8, 12), torch.nn.Linear(12, 6, bias=False), torch.nn.Linear(6, 5)

    def forward(self, x):
        y = self.l2(torch.relu(self.l1(x)))
        return self.l3(y.reshape(2, 3, 1, 6))


class AttnBlock(torch.nn.Module):
    """Attention as swin_t writes it (qkv split by a 5-D permute, q scaled, q·kᵀ, the heads merged
    by a transpose), then torch.nn.MultiheadAttention sequence-first as vit_b_32 uses it (heads
    folded into the batch, Q divided after its split): the passes transpose-opt and
    matmul-transpose fold their Transposes into StridedMatMuls."""

    def __init__(self):
        super().__init__()
        self.qkv, self.proj = torch.nn.Linear(16, 48), torch.nn.Linear(16, 16)
        self.mha = torch.nn.MultiheadAttention(16, 4)

    def forward(self, x):
        b, s, e = x.shape
        qkv = self.qkv(x).reshape(b, s, 3, 4, e // 4).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * 0.5, qkv[1], qkv[2]
        y = ((q @ k.transpose(-2, -1)).softmax(-1) @ v).transpose(1, 2).reshape(b, s, e)
        z = self.proj(y).transpose(0, 1)
        z, _ = self.mha(z, z, z, need_weights=False)
        return z.transpose(0, 1)


def fusion_torch(outdir):
    for name, model, shape in (("pow_torch", PowBlock(), (2, 7)), ("ln_torch", LnBlock(), (2, 5, 16)),
                               ("gelu_torch", GeluBlock(), (3, 16)), ("linear_torch", LinearBlock(), (2, 3, 8)),
                               ("attn_torch", AttnBlock(), (2, 5, 16))):
        torch.manual_seed(31)
        model = type(model)().eval() if name != "pow_torch" else model.eval()
        x = torch.randn(*shape, generator=torch.Generator().manual_seed(32)) * 2
        with torch.no_grad():
            y = model(x)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, x, os.path.join(outdir, name + ".onnx"), opset_version=13,
                              input_names=["x"], output_names=["y"])
        save_io(outdir, name, x.numpy(), [y.numpy()])


def fusion_hand(outdir):
    rng = np.random.default_rng(41)
    x = rng.normal(0, 1.5, (3, 6)).astype(np.float32)
    f = lambda name, v: const(name, v)
    i64 = lambda name, v: numpy_helper.from_array(np.asarray(v, dtype=np.int64), name)

    # Pow: float and int64 exponents of 2 and 0.5 fuse; an exponent of 3, one a float ulp off 2,
    # one that raises the rank, and an integer base stay Pow.
    save(outdir, "pow_hand", [
        helper.make_node("Pow", ["x", "two"], ["p1"], name="pow_f2"),
        helper.make_node("Pow", ["x", "two_i"], ["p2"], name="pow_i2"),
        helper.make_node("Abs", ["x"], ["ax"], name="abs"),
        helper.make_node("Pow", ["ax", "half"], ["p3"], name="pow_half"),
        helper.make_node("Pow", ["x", "three"], ["p4"], name="pow_3"),
        helper.make_node("Pow", ["ax", "two_off"], ["p5"], name="pow_off"),
        helper.make_node("Sum", ["p1", "p2", "p3", "p4", "p5"], ["y"], name="sum"),
        helper.make_node("ReduceSum", ["x", "ax0"], ["r"], name="rsum", keepdims=0),
        helper.make_node("Pow", ["r", "two_rank"], ["y2"], name="pow_rank"),
        helper.make_node("Cast", ["x"], ["xi"], name="cast", to=TensorProto.INT32),
        helper.make_node("Pow", ["xi", "two_i32"], ["y3"], name="pow_int_base"),
    ], [vi("x", [3, 6])], [vi("y", [3, 6]), vi("y2", [1, 6]),
                           helper.make_tensor_value_info("y3", TensorProto.INT32, [3, 6])],
        [f("two", 2.0), i64("two_i", 2), f("half", [0.5]), f("three", 3.0),
         f("two_off", np.nextafter(np.float32(2), np.float32(3))), f("two_rank", [[2.0]]),
         numpy_helper.from_array(np.asarray(2, dtype=np.int32), "two_i32"), i64("ax0", [0])])
    xd = x.astype(np.float64)
    off = float(np.nextafter(np.float32(2), np.float32(3)))
    y = xd ** 2 * 2 + np.abs(xd) ** 0.5 + xd ** 3 + np.abs(xd) ** off
    r = xd.sum(axis=0, keepdims=True) ** 2
    xi = x.astype(np.int32)
    save_io(outdir, "pow_hand", x, [y.astype(np.float32), r.astype(np.float32), xi * xi])


def ln_nodes(p, x, y, eps="eps", axes=(-1,), square="pow", div="div", gamma=None, beta=None,
             swap=False):
    """A decomposed LayerNorm named p..., from x to y, in one of the forms exporters write."""
    n = [helper.make_node("ReduceMean", [x], [p + "m"], name=p + "mean", axes=list(axes)),
         helper.make_node("Sub", [x, p + "m"], [p + "d"], name=p + "sub")]
    if square == "pow":
        n.append(helper.make_node("Pow", [p + "d", "two"], [p + "sq"], name=p + "pow"))
    else:
        n.append(helper.make_node("Mul", [p + "d", p + "d"], [p + "sq"], name=p + "square"))
    n += [helper.make_node("ReduceMean", [p + "sq"], [p + "v"], name=p + "var", axes=list(axes)),
          helper.make_node("Add", [eps, p + "v"] if swap else [p + "v", eps], [p + "ve"], name=p + "add_eps"),
          helper.make_node("Sqrt", [p + "ve"], [p + "s"], name=p + "sqrt")]
    tail = [t for t in (gamma, beta) if t]
    out = y if not tail else p + "n"
    if div == "div":
        n.append(helper.make_node("Div", [p + "d", p + "s"], [out], name=p + "div"))
    else:
        n += [helper.make_node("Reciprocal", [p + "s"], [p + "r"], name=p + "recip"),
              helper.make_node("Mul", [p + "r", p + "d"] if swap else [p + "d", p + "r"], [out], name=p + "mul_r")]
    if gamma:
        gout = y if not beta else p + "g"
        n.append(helper.make_node("Mul", [gamma, out] if swap else [out, gamma], [gout], name=p + "gamma"))
        out = gout
    if beta:
        n.append(helper.make_node("Add", [beta, out] if swap else [out, beta], [y], name=p + "beta"))
    return n


def ln_ref(x, axes=(-1,), eps=1e-5, gamma=None, beta=None):
    x = x.astype(np.float64)
    m = x.mean(axis=axes, keepdims=True)
    y = (x - m) / np.sqrt(((x - m) ** 2).mean(axis=axes, keepdims=True) + eps)
    if gamma is not None:
        y = y * gamma
    if beta is not None:
        y = y + beta
    return y.astype(np.float32)


def ln_hand(outdir):
    rng = np.random.default_rng(43)
    x = rng.normal(0.5, 2.0, (2, 3, 8)).astype(np.float32)
    g8, b8 = rng.uniform(0.5, 1.5, 8).astype(np.float32), rng.normal(0, 0.3, 8).astype(np.float32)
    g24 = rng.uniform(0.5, 1.5, (3, 8)).astype(np.float32)
    inits = [const("two", 2.0), const("eps", 1e-5), const("eps3", [1e-3]), const("g8", g8), const("b8", b8),
             const("g24", g24)]
    # Variants that fuse: Mul d*d and Mul by Reciprocal with the operands swapped, gamma only;
    # no affine parameters; two trailing axes with a [3, 8] gamma and a beta; eps as [1] first.
    save(outdir, "ln_variants",
         ln_nodes("a_", "x", "ya", square="mul", div="recip", gamma="g8", swap=True)
         + ln_nodes("b_", "x", "yb")
         + ln_nodes("c_", "x", "yc", eps="eps3", axes=(-2, -1), gamma="g24", beta="b8", swap=True),
         [vi("x", [2, 3, 8])], [vi("ya", [2, 3, 8]), vi("yb", [2, 3, 8]), vi("yc", [2, 3, 8])], inits)
    save_io(outdir, "ln_variants", x, [ln_ref(x, gamma=g8), ln_ref(x),
                                       ln_ref(x, axes=(-2, -1), eps=1e-3, gamma=g24, beta=b8)])
    # Near-misses that must not fuse: d also read outside the block (a graph output); the mean
    # over axis 1, not the last; eps a graph input; the two means over different axes; a gamma
    # that is an activation. Each keeps its ReduceMeans (2 x 5).
    nodes = ln_nodes("s_", "x", "ys", gamma="g8", beta="b8")
    nodes.append(helper.make_node("Neg", ["s_d"], ["yd"], name="s_leak"))
    nodes += ln_nodes("w_", "x", "yw", axes=(1,))
    nodes += ln_nodes("e_", "x", "ye", eps="eps_in")
    axes_nodes = ln_nodes("v_", "x", "yv")
    axes_nodes[3] = helper.make_node("ReduceMean", ["v_sq"], ["v_v"], name="v_var", axes=[-2, -1])
    nodes += axes_nodes
    nodes += ln_nodes("r_", "x", "yr", gamma="x")
    save(outdir, "ln_nomatch", nodes, [vi("x", [2, 3, 8]), vi("eps_in", [])],
         [vi(n, [2, 3, 8]) for n in ("ys", "yd", "yw", "ye", "yv", "yr")], inits)
    e_in = np.float32(1e-2)
    xd = x.astype(np.float64)
    dv = xd - xd.mean(axis=-1, keepdims=True)
    yv = dv / np.sqrt((dv ** 2).mean(axis=(-2, -1), keepdims=True) + 1e-5)
    outs = [ln_ref(x, gamma=g8, beta=b8), -dv, ln_ref(x, axes=(1,)), ln_ref(x, eps=float(e_in)), yv, ln_ref(x, gamma=x)]
    save_io(outdir, "ln_nomatch", [(x, "x"), (e_in, "eps_in")], [np.asarray(y, np.float32) for y in outs])


def gelu_ref(x, tanh=False):
    import math
    x = x.astype(np.float64)
    if tanh:
        return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    return 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


def gelu_hand(outdir):
    import math
    rng = np.random.default_rng(47)
    x = rng.normal(0, 2.0, (4, 9)).astype(np.float32)
    mk = helper.make_node
    # float32 constants as exporters round them; r2i is 1/sqrt(2), b is sqrt(2/pi)
    inits = [const("r2", math.sqrt(2)), const("r2i", [1 / math.sqrt(2)]), const("one", 1.0),
             const("half", 0.5), const("k", 0.044715), const("b", math.sqrt(2 / math.pi)), const("three", 3.0),
             const("r2_off", 1.4142), const("half_off", 0.5001)]
    # Erf variants: Mul by 1/sqrt(2), 1 + erf, (x 0.5) a; Div, (a 0.5) x; Div, x (a 0.5).
    # Tanh variants: Pow(x, 3), (a x) 0.5; (x x) x, inner Mul by b first, (x 0.5) a.
    save(outdir, "gelu_variants", [
        mk("Mul", ["r2i", "x"], ["a_d"], name="a_scale"), mk("Erf", ["a_d"], ["a_e"], name="a_erf"),
        mk("Add", ["one", "a_e"], ["a_a"], name="a_add"), mk("Mul", ["x", "half"], ["a_h"], name="a_half"),
        mk("Mul", ["a_h", "a_a"], ["ya"], name="a_mul"),
        mk("Div", ["x", "r2"], ["b_d"], name="b_div"), mk("Erf", ["b_d"], ["b_e"], name="b_erf"),
        mk("Add", ["b_e", "one"], ["b_a"], name="b_add"), mk("Mul", ["b_a", "half"], ["b_m"], name="b_mul1"),
        mk("Mul", ["b_m", "x"], ["yb"], name="b_mul2"),
        mk("Div", ["x", "r2"], ["c_d"], name="c_div"), mk("Erf", ["c_d"], ["c_e"], name="c_erf"),
        mk("Add", ["c_e", "one"], ["c_a"], name="c_add"), mk("Mul", ["half", "c_a"], ["c_m"], name="c_mul1"),
        mk("Mul", ["x", "c_m"], ["yc"], name="c_mul2"),
        mk("Pow", ["x", "three"], ["t_c"], name="t_pow"), mk("Mul", ["t_c", "k"], ["t_k"], name="t_kappa"),
        mk("Add", ["t_k", "x"], ["t_s"], name="t_add"), mk("Mul", ["t_s", "b"], ["t_i"], name="t_beta"),
        mk("Tanh", ["t_i"], ["t_t"], name="t_tanh"), mk("Add", ["t_t", "one"], ["t_a"], name="t_add1"),
        mk("Mul", ["t_a", "x"], ["t_m"], name="t_mul1"), mk("Mul", ["t_m", "half"], ["yt"], name="t_mul2"),
        mk("Mul", ["x", "x"], ["u_sq"], name="u_sq"), mk("Mul", ["u_sq", "x"], ["u_c"], name="u_cube"),
        mk("Mul", ["k", "u_c"], ["u_k"], name="u_kappa"), mk("Add", ["x", "u_k"], ["u_s"], name="u_add"),
        mk("Mul", ["b", "u_s"], ["u_i"], name="u_beta"), mk("Tanh", ["u_i"], ["u_t"], name="u_tanh"),
        mk("Add", ["one", "u_t"], ["u_a"], name="u_add1"), mk("Mul", ["half", "x"], ["u_h"], name="u_half"),
        mk("Mul", ["u_a", "u_h"], ["yu"], name="u_mul"),
    ], [vi("x", [4, 9])], [vi(n, [4, 9]) for n in ("ya", "yb", "yc", "yt", "yu")], inits)
    e, t = gelu_ref(x).astype(np.float32), gelu_ref(x, tanh=True).astype(np.float32)
    save_io(outdir, "gelu_variants", x, [e, e, e, t, t])
    # Near-misses: the Erf's output also a graph output; sqrt(2) written as 1.4142 (1.5e-5 off);
    # 0.5 as 0.5001; the 1 a graph input (not a constant). None fuses: 4 Erfs stay.
    def torch_erf(p, y, r2="r2", one="one", half="half", erf_out=None):
        """PyTorch's form: Div, Erf, Add, Mul x, Mul 0.5 (from x to y, nodes named p...)."""
        e = erf_out or p + "e"
        return [mk("Div", ["x", r2], [p + "d"], name=p + "div"), mk("Erf", [p + "d"], [e], name=p + "erf"),
                mk("Add", [e, one], [p + "a"], name=p + "add"), mk("Mul", ["x", p + "a"], [p + "m"], name=p + "mul1"),
                mk("Mul", [p + "m", half], [y], name=p + "mul2")]
    save(outdir, "gelu_nomatch", torch_erf("s_", "ys", erf_out="ys_e") + torch_erf("o_", "yo", r2="r2_off")
         + torch_erf("h_", "yh", half="half_off") + torch_erf("i_", "yi", one="one_in"),
         [vi("x", [4, 9]), vi("one_in", [])], [vi(n, [4, 9]) for n in ("ys_e", "ys", "yo", "yh", "yi")], inits)
    xd = x.astype(np.float64)
    erf = np.vectorize(math.erf)
    outs = [erf(xd / math.sqrt(2)), e, xd * (1 + erf(xd / float(np.float32(1.4142)))) * 0.5,
            xd * (1 + erf(xd / math.sqrt(2))) * float(np.float32(0.5001)), e]
    save_io(outdir, "gelu_nomatch", [(x, "x"), (np.float32(1.0), "one_in")], [np.asarray(y, np.float32) for y in outs])


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--zoo":
        export_zoo_bn(sys.argv[2], sys.argv[3])
        return
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    export_torch(outdir)
    hand_models(outdir)
    fusion_torch(outdir)
    fusion_hand(outdir)
    ln_hand(outdir)
    gelu_hand(outdir)


if __name__ == "__main__":
    main()
