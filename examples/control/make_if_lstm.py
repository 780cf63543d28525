#!/usr/bin/python3
"""make_if_lstm.py — writes if_lstm.onnx, a streaming model whose whole network sits inside an If
on an int64 scalar (a sample-rate switch, as streaming audio models are exported), each branch a
small CNN + LSTM with the recurrent state as graph inputs and outputs (issue 17's second "must
show"; tests/codegen/if_lstm.py runs it 20 steps against edgecc eval and ONNX Runtime).

  frame [1,1,T,F] -> scaled (Mul, Add: outside the If, on the fast kernels)
  If rate == 16000:  Conv 3x3 -> Relu    -> MaxPool 1x2 -> [T,1,C*F/2] -> LSTM -> Gemm
  else:              Conv 3x5 -> Sigmoid -> AvgPool 1x2 -> [T,1,C*F/2] -> LSTM -> Gemm
  -> logits [1,K] -> Softmax (outside)       h, c [1,1,H] in, h_out, c_out [1,1,H] out

The wideband branch reads its weights from the enclosing graph (captured initializers), the
narrowband branch from initializers of its own. Seeded weights; the file is byte-identical run to
run. steps(n) gives the seeded inputs of an n-step stream (both branches taken).

usage: /usr/bin/python3 examples/control/make_if_lstm.py [OUT.onnx]   (default: beside this script)"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
F32, I64 = TensorProto.FLOAT, TensorProto.INT64
T, FB, C, H, K = 6, 12, 4, 10, 5  # time frames, frequency bins, conv channels, LSTM hidden, classes
RATES = (16000, 8000)             # the then branch's rate, and one that takes the else branch


def vi(name, dt, shape):
    return helper.make_tensor_value_info(name, dt, shape)


def init(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


def branch_weights(rng, kh, kw):
    """Conv, LSTM (ONNX gate order i, o, f, c) and Gemm weights of one branch."""
    n_in = C * (FB // 2)
    return {
        "conv_w": (rng.standard_normal((C, 1, kh, kw)) * 0.5).astype(np.float32),
        "conv_b": (rng.standard_normal(C) * 0.1).astype(np.float32),
        "lstm_w": (rng.standard_normal((1, 4 * H, n_in)) * 0.3).astype(np.float32),
        "lstm_r": (rng.standard_normal((1, 4 * H, H)) * 0.3).astype(np.float32),
        "lstm_b": (rng.standard_normal((1, 8 * H)) * 0.1).astype(np.float32),
        "fc_w": (rng.standard_normal((K, H)) * 0.5).astype(np.float32),
        "fc_b": (rng.standard_normal(K) * 0.1).astype(np.float32),
    }


def branch(tag, w, kh, kw, act, pool, own_weights):
    """One branch: CNN, the LSTM over the T frames from the outer state, a Gemm on the last h."""
    p = tag + "_"
    names = {k: p + k for k in w}
    nodes = [
        helper.make_node("Conv", ["xs", names["conv_w"], names["conv_b"]], [p + "conv"], name=p + "conv",
                         kernel_shape=[kh, kw], pads=[kh // 2, kw // 2, kh // 2, kw // 2]),
        helper.make_node(act, [p + "conv"], [p + "act"], name=p + act.lower()),
        helper.make_node(pool, [p + "act"], [p + "pool"], name=p + "pool", kernel_shape=[1, 2], strides=[1, 2]),
        helper.make_node("Transpose", [p + "pool"], [p + "tnc"], name=p + "to_time", perm=[2, 0, 1, 3]),
        helper.make_node("Reshape", [p + "tnc", "seq_shape"], [p + "seq"], name=p + "to_seq"),
        helper.make_node("LSTM", [p + "seq", names["lstm_w"], names["lstm_r"], names["lstm_b"], "", "h", "c"],
                         [p + "y", p + "h_out", p + "c_out"], name=p + "lstm", hidden_size=H),
        helper.make_node("Reshape", [p + "h_out", "row_shape"], [p + "h_row"], name=p + "h_row"),
        helper.make_node("Gemm", [p + "h_row", names["fc_w"], names["fc_b"]], [p + "logits"], name=p + "fc",
                         transB=1),
    ]
    inits = [init(names[k], v) for k, v in w.items()] if own_weights else []
    g = helper.make_graph(nodes, tag, [], [vi(p + "logits", F32, [1, K]), vi(p + "h_out", F32, [1, 1, H]),
                                           vi(p + "c_out", F32, [1, 1, H])], initializer=inits)
    return g, ([] if own_weights else [init(names[k], v) for k, v in w.items()])


def model():
    rng = np.random.default_rng(1717)
    wb, nb = branch_weights(rng, 3, 3), branch_weights(rng, 3, 5)
    then_g, outer_w = branch("wb", wb, 3, 3, "Relu", "MaxPool", own_weights=False)
    else_g, _ = branch("nb", nb, 3, 5, "Sigmoid", "AveragePool", own_weights=True)
    nodes = [
        helper.make_node("Mul", ["frame", "gain"], ["xg"], name="gain"),
        helper.make_node("Add", ["xg", "offset"], ["xs"], name="offset"),
        helper.make_node("Equal", ["rate", "wideband"], ["is_wide"], name="is_wide"),
        helper.make_node("If", ["is_wide"], ["logits", "h_out", "c_out"], name="by_rate",
                         then_branch=then_g, else_branch=else_g),
        helper.make_node("Softmax", ["logits"], ["probs"], name="probs", axis=1),
    ]
    inits = [init("gain", np.float32(0.8)), init("offset", np.float32(-0.1)),
             init("wideband", np.int64(RATES[0])), init("seq_shape", np.array([T, 1, C * (FB // 2)], np.int64)),
             init("row_shape", np.array([1, H], np.int64))] + outer_w
    g = helper.make_graph(nodes, "if_lstm",
                          [vi("frame", F32, [1, 1, T, FB]), vi("rate", I64, []), vi("h", F32, [1, 1, H]),
                           vi("c", F32, [1, 1, H])],
                          [vi("probs", F32, [1, K]), vi("h_out", F32, [1, 1, H]), vi("c_out", F32, [1, 1, H])],
                          initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="make_if_lstm.py")
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


# Graph inputs: the ones fed each step, and the state ones with the outputs that carry them.
STEP_INPUTS = ("frame", "rate")
STATE = (("h", "h_out"), ("c", "c_out"))


def steps(n, seed=17):
    """n steps of (frame, rate): rates switch branches in runs of 1 to 3 steps, both taken."""
    rng = np.random.default_rng(seed)
    out, k = [], 0
    while len(out) < n:
        for _ in range(1 + k % 3):
            out.append((rng.standard_normal((1, 1, T, FB)).astype(np.float32), np.array(RATES[k % 2], np.int64)))
        k += 1
    return out[:n]


def initial_state(seed=18):
    """The state before the first step: not zeros, so the first step reads it too."""
    rng = np.random.default_rng(seed)
    return tuple((rng.standard_normal((1, 1, H)) * 0.5).astype(np.float32) for _ in STATE)


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "if_lstm.onnx")
    onnx.save(model(), path)
    print("make_if_lstm.py: wrote %s" % path)


if __name__ == "__main__":
    main()
