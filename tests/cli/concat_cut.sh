#!/bin/sh
# concat_cut.sh — a cut right after a channel Concat with the fast kernels: lowering makes the
# Concat in place (its producers write into its channels), but a cut tensor lives in the send and
# receive buffers, not in the arena, so the plan must make that Concat copy again. A small model
# (two convolutions concatenated, then a third) split at the Concat's output, chained through
# files, must give the single program's bits (tests/plan/chain.sh).
# usage: concat_cut.sh EDGECC PYTHON SRC WORK
set -eu
edgecc=$1 python=$2 src=$3 work=$4
rm -rf "$work"
mkdir -p "$work/cache"
"$python" - "$work/cache" <<'PY'
import os, sys
import numpy as np
from onnx import TensorProto, helper, numpy_helper, save
d = sys.argv[1]
rng = np.random.default_rng(7)
w = lambda o, i, k: numpy_helper.from_array(rng.standard_normal((o, i, k, k)).astype(np.float32) * 0.2, "w%d%d%d" % (o, i, k))
inits = [w(8, 3, 3), w(4, 3, 1), w(6, 12, 3)]
nodes = [helper.make_node("Conv", ["x", "w833"], ["a0"], pads=[1, 1, 1, 1]),
         helper.make_node("Relu", ["a0"], ["a"]),
         helper.make_node("Conv", ["x", "w431"], ["b"]),
         helper.make_node("Concat", ["a", "b"], ["cat"], axis=1),
         helper.make_node("Conv", ["cat", "w6123"], ["y"], pads=[1, 1, 1, 1])]
g = helper.make_graph(nodes, "concatcut", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 10, 10])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 6, 10, 10])], inits)
save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), os.path.join(d, "concatcut.onnx"))
x = numpy_helper.from_array(rng.standard_normal((1, 3, 10, 10)).astype(np.float32), "x")
open(os.path.join(d, "concatcut_input_0.pb"), "wb").write(x.SerializeToString())
PY
# The Concat really is in place when nothing is cut (else this test would prove nothing).
"$edgecc" "$work/cache/concatcut.onnx" --targets host --kernels xnnpack -o "$work/whole" >/dev/null
grep -q "in place" "$work/whole/host/concatcut_p0.c" || { echo "FAIL: the Concat is not in place uncut"; exit 1; }
sh "$src/tests/plan/chain.sh" "$edgecc" "$python" "$work/cache" concatcut "$work/chain" \
  --targets a=host,b=host --kernels xnnpack --split-at cat
rm -rf "$work"
