#!/usr/bin/python3
"""A model compiled int8 under `--accuracy-budget 1`: test-set accuracy, int8 share, weight bytes.

Compiles examples/fashion (or examples/digits) with
    edgecc MODEL --targets host --calib CALIB --calib-max N --calib-labels CALIB/labels.txt
                 --accuracy-budget 1 -o OUT
builds the generated folder and checks, against figures edgecc did not compute:
  - accuracy over the whole held-out test set (Fashion-MNIST: the 10,000 images of Debian's
    dataset-fashion-mnist through tests/models/fashion/fashion_eval.c; digits: the 360 images of
    train.py's seeded split, one run of the generated program each) within 1 percentage point
    of torch's fp32 accuracy (fashion.json; the digits README's line, written by train.py);
  - at least 80% of the model's Conv/Gemm/MatMul multiply-adds in nodes that run int8
    (multiply-adds counted by tests/models/count_macs.py from the ONNX file; the int8 nodes are
    the ones plan.json's "quant" marks 8 bits and the generated C runs as QLinearConv /
    QLinearMatMul);
  - the weights file at least 65% smaller than the model's float initializers (ONNX bytes);
  - a second compile, with the sensitivity cache filled by the first, writes byte-identical files.
A missing data set, model or calibration set is a failure, never a skip.
"""

import argparse
import filecmp
import gzip
import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import onnx
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "models"))
import count_macs  # noqa: E402

FASHION_DATA = "/usr/share/datasets/fashion-mnist"
BUDGET_PP = 1.0
MIN_INT8_MAC_SHARE = 0.80
MIN_WEIGHT_SAVING = 0.65


def fail(msg):
    sys.exit("FAILED: " + msg)


def run(cmd, env=None):
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    if res.returncode != 0:
        fail("%s exited %d:\n%s" % (" ".join(cmd), res.returncode, res.stdout[-4000:]))
    return res.stdout


def need(path, what):
    if not os.path.exists(path):
        fail("%s missing (%s)" % (path, what))


def node_macs(model_path):
    """{node name: multiply-adds} of the Conv/Gemm/MatMul nodes, and their total."""
    model = onnx.shape_inference.infer_shapes(onnx.load(model_path), data_prop=True)
    shapes = count_macs.known_shapes(model.graph)
    macs = {n.name: count_macs.node_macs(n, shapes) for n in model.graph.node}
    return macs, sum(macs.values())


def float_weight_bytes(model_path):
    return sum(numpy_helper.to_array(t).nbytes for t in onnx.load(model_path).graph.initializer
               if t.data_type == onnx.TensorProto.FLOAT)


def fashion_accuracy(src, gen, work):
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        need(os.path.join(FASHION_DATA, name), "apt-get install dataset-fashion-mnist, in scripts/packages.txt")
    build = os.path.join(work, "build")
    run(["cmake", "-S", os.path.join(src, "tests", "models", "fashion"), "-B", build, "-G", "Ninja",
         "-DCMAKE_BUILD_TYPE=Release", "-DEC_GEN=" + gen])
    run(["cmake", "--build", build])
    raw = []
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        raw.append(os.path.join(work, name[:-3]))
        with gzip.open(os.path.join(FASHION_DATA, name), "rb") as f, open(raw[-1], "wb") as g:
            shutil.copyfileobj(f, g)
    line = run([os.path.join(build, "fashion_eval"), os.path.join(gen, "fashion_p0.bin"), raw[0], raw[1],
                os.path.join(work, "logits.f32")]).split()
    if len(line) != 4 or line[0] != "correct" or line[2] != "total":
        fail("fashion_eval printed %r" % " ".join(line))
    with open(os.path.join(src, "examples", "fashion", "fashion.json")) as f:
        ref = json.load(f)["test_accuracy"]
    return int(line[1]), int(line[3]), ref["correct"], ref["total"]


def digits_accuracy(src, gen, work):
    sys.path.insert(0, os.path.join(src, "examples", "digits"))
    from train import load_split  # the seeded split train.py measured torch's accuracy on
    _, x_test, _, y_test = load_split()
    build = os.path.join(work, "build")
    run(["cmake", "-S", gen, "-B", build, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release"])
    run(["cmake", "--build", build])
    prog = os.path.join(build, "digits_p0")
    correct = 0
    for k in range(len(x_test)):
        inp, out = os.path.join(work, "in.pb"), os.path.join(work, "out.pb")
        with open(inp, "wb") as f:
            f.write(numpy_helper.from_array(np.ascontiguousarray(x_test[k:k + 1]), "input").SerializeToString())
        run([prog, "--input", inp, "--output", out])
        correct += int(np.argmax(numpy_helper.to_array(onnx.load_tensor(out)))) == int(y_test[k])
    with open(os.path.join(src, "examples", "digits", "README.md")) as f:
        m = re.search(r"Test accuracy: \*\*[0-9.]+%\*\* \(([0-9]+) of ([0-9]+) test images\)", f.read())
    if not m:
        fail("examples/digits/README.md has no 'Test accuracy' line (train.py writes it)")
    return correct, len(x_test), int(m.group(1)), int(m.group(2))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--edgecc", required=True)
    ap.add_argument("--src", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--model", choices=["fashion", "digits"], required=True)
    ap.add_argument("--calib-max", type=int, required=True)
    args = ap.parse_args()

    example = os.path.join(args.src, "examples", args.model)
    model = os.path.join(example, args.model + ".onnx")
    calib = os.path.join(example, "calib")
    for p in (model, os.path.join(calib, "labels.txt")):
        need(p, "the example's files")
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    env = dict(os.environ, EDGECC_CACHE_DIR=os.path.join(args.work, "cache"))
    outs = [os.path.join(args.work, "out%d" % k) for k in (1, 2)]
    for out in outs:
        log = run([args.edgecc, model, "--targets", "host", "-o", out, "--calib", calib, "--calib-max",
                   str(args.calib_max), "--calib-labels", os.path.join(calib, "labels.txt"),
                   "--accuracy-budget", str(BUDGET_PP)], env=env)
        print("\n".join(l for l in log.splitlines() if l.startswith("edgecc: int8:")))
    # The second compile read the cache the first wrote: same files, byte for byte.
    cmp = filecmp.dircmp(outs[0], outs[1])
    if cmp.diff_files or cmp.left_only or cmp.right_only:
        fail("the compile with the sensitivity cache differs: %s" % (cmp.diff_files + cmp.left_only + cmp.right_only))
    if "sensitivity from the cache" not in log:
        fail("the second compile did not read the sensitivity cache:\n" + log)
    gen = os.path.join(outs[0], "host")
    with open(os.path.join(outs[0], "plan.json")) as f:
        plan = json.load(f)
    quant = plan["quant"]

    macs, total = node_macs(model)
    with open(os.path.join(gen, args.model + "_p0.c")) as f:
        code = f.read()
    int8_nodes = [n["name"] for n in quant["nodes"] if n["bits"] == 8]
    for name in int8_nodes:
        if not re.search(r"node '%s' \(QLinear(Conv|MatMul)\)" % re.escape(name), code):
            fail("node %s is int8 in plan.json but the generated code does not run it as QLinearConv/MatMul" % name)
    share = sum(macs[n] for n in int8_nodes) / total
    wbytes = sum(p["weights_bytes"] for p in plan["partitions"])
    fbytes = float_weight_bytes(model)
    saving = 1.0 - wbytes / fbytes

    acc = fashion_accuracy if args.model == "fashion" else digits_accuracy
    correct, n, ref_correct, ref_total = acc(args.src, gen, args.work)
    if n != ref_total:
        fail("ran %d test images, torch's accuracy is over %d" % (n, ref_total))
    got_pp, ref_pp = 100.0 * correct / n, 100.0 * ref_correct / ref_total
    print("%s: test accuracy int8 %.2f%% (%d/%d), torch fp32 %.2f%%; int8 nodes %d of %d, %.1f%% of %d "
          "multiply-adds; weights %d bytes against %d float bytes (%.1f%% smaller)"
          % (args.model, got_pp, correct, n, ref_pp, len(int8_nodes), len(quant["nodes"]), 100 * share, total,
             wbytes, fbytes, 100 * saving))
    if ref_pp - got_pp > BUDGET_PP + 1e-9:
        fail("int8 accuracy %.2f%% is more than %.1f pp below fp32's %.2f%%" % (got_pp, BUDGET_PP, ref_pp))
    if share < MIN_INT8_MAC_SHARE:
        fail("only %.1f%% of the multiply-adds run int8 (at least %.0f%%)" % (100 * share, 100 * MIN_INT8_MAC_SHARE))
    if saving < MIN_WEIGHT_SAVING:
        fail("weights only %.1f%% smaller (at least %.0f%%)" % (100 * saving, 100 * MIN_WEIGHT_SAVING))
    shutil.rmtree(args.work, ignore_errors=True)


if __name__ == "__main__":
    main()
