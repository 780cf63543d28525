#!/bin/sh
# cut_layout.sh — a tensor crossing a cut travels in ONNX's layout. With the fast kernels the
# tensor at the cut is NHWC inside the partition; the partition's output file (and wire frame)
# must hold it as NCHW, as its shape says. A conv-relu-conv model is split after the Relu; the
# first program's --output must equal `edgecc eval` of the model cut there (within 1e-5), and the
# second program fed that file must equal `edgecc eval` of the whole model.
# usage: cut_layout.sh EDGECC PYTHON SRC WORK
set -eu
edgecc=$1 python=$2 src=$3 work=$4
rm -rf "$work"
mkdir -p "$work"
cd "$work"
"$python" - <<'PY'
import numpy as np
from onnx import TensorProto, helper, numpy_helper, save
rng = np.random.default_rng(3)
w1 = numpy_helper.from_array(rng.standard_normal((8, 3, 3, 3)).astype(np.float32) * 0.2, "w1")
w2 = numpy_helper.from_array(rng.standard_normal((6, 8, 3, 3)).astype(np.float32) * 0.2, "w2")
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 6, 7])
for name, outs, n in (("whole", [("y", [1, 6, 6, 7])], 3), ("head", [("r", [1, 8, 6, 7])], 2)):
    nodes = [helper.make_node("Conv", ["x", "w1"], ["a"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["a"], ["r"]),
             helper.make_node("Conv", ["r", "w2"], ["y"], pads=[1, 1, 1, 1])][:n]
    g = helper.make_graph(nodes, name, [x], [helper.make_tensor_value_info(o, TensorProto.FLOAT, s) for o, s in outs],
                          [w1, w2] if n == 3 else [w1])
    save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), name + ".onnx")
open("x.pb", "wb").write(numpy_helper.from_array(rng.standard_normal((1, 3, 6, 7)).astype(np.float32), "x").SerializeToString())
PY
"$edgecc" whole.onnx --targets a=host,b=host --kernels xnnpack --split-at r -o out >/dev/null
grep -q "NHWC -> NCHW" out/a/whole_p0.c || { echo "FAIL: p0 converts nothing back to NCHW (is r still NHWC inside?)"; exit 1; }
for d in a b; do
  cmake -S "out/$d" -B "b-$d" >/dev/null && cmake --build "b-$d" >/dev/null
done
b-a/whole_p0 --input x.pb --output cut.pb >/dev/null
b-b/whole_p1 --input cut.pb --output y.pb >/dev/null
"$edgecc" eval head.onnx --input x.pb --output want_r.pb
"$edgecc" eval whole.onnx --input x.pb --output want_y.pb
"$python" "$src/tests/fast/compare.py" cut.pb want_r.pb 1e-5
"$python" "$src/tests/fast/compare.py" y.pb want_y.pb 1e-5
echo "the cut tensor leaves p0 in NCHW and p1 reads it back"
cd / && rm -rf "$work"
