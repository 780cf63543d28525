#!/usr/bin/python3
"""The committed Fashion-MNIST example compiled by edgecc: test-set accuracy and logits against torch.

Compiles examples/fashion/fashion.onnx with `edgecc MODEL --targets host [--kernels K] -o OUT`,
builds the folder with its own CMakeLists.txt plus fashion_eval.c (a driver that links the
partition's API), and checks that
  - the compiled program's accuracy over the 10,000 held-out test images of Debian's
    dataset-fashion-mnist equals the fp32 accuracy torch measured (examples/fashion/fashion.json,
    written by train.py) within 0.1 percentage point;
  - the logits on the committed samples (samples/input_K.pb, the first test images) equal torch's
    (samples/output_K.pb) within 1e-4 of the largest value, both from the generated program
    (its .pb reader) and from the driver (its own normalisation of the IDX bytes).
A missing data set or example file is a failure, never a skip.
"""

import argparse
import glob
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
from onnx import numpy_helper

DATA = "/usr/share/datasets/fashion-mnist"
TOLERANCE_PP = 0.1
LOGIT_TOL = 1e-4


def fail(msg):
    sys.exit("FAILED: " + msg)


def run(cmd, **kw):
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    if res.returncode != 0:
        fail("%s exited %d:\n%s" % (" ".join(cmd), res.returncode, res.stdout[-4000:]))
    return res.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--edgecc", required=True)
    ap.add_argument("--src", required=True, help="the repository root")
    ap.add_argument("--work", required=True, help="a scratch folder (emptied first)")
    ap.add_argument("--kernels", choices=["default", "xnnpack", "ref"], default="default")
    args = ap.parse_args()

    example = os.path.join(args.src, "examples", "fashion")
    model = os.path.join(example, "fashion.onnx")
    info_path = os.path.join(example, "fashion.json")
    images_gz = os.path.join(DATA, "t10k-images-idx3-ubyte.gz")
    labels_gz = os.path.join(DATA, "t10k-labels-idx1-ubyte.gz")
    for path in (model, info_path, images_gz, labels_gz):
        if not os.path.exists(path):
            fail("%s missing (the data set: apt-get install dataset-fashion-mnist, listed in scripts/packages.txt)"
                 % path)
    with open(info_path) as f:
        info = json.load(f)
    with open(model, "rb") as f:
        if hashlib.sha256(f.read()).hexdigest() != info["model_sha256"]:
            fail("fashion.json was not written for this fashion.onnx (SHA-256 differs): rerun train.py")
    ref = info["test_accuracy"]
    if ref["total"] != 10000:
        fail("fashion.json's accuracy is over %d images, not the 10,000 test images" % ref["total"])

    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    out = os.path.join(args.work, "out")
    cmd = [args.edgecc, model, "--targets", "host", "-o", out]
    if args.kernels != "default":
        cmd += ["--kernels", args.kernels]
    run(cmd)
    gen = os.path.join(out, "host")
    build = os.path.join(args.work, "build")
    here = os.path.dirname(os.path.abspath(__file__))
    run(["cmake", "-S", here, "-B", build, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release", "-DEC_GEN=" + gen])
    run(["cmake", "--build", build])

    # The driver reads raw IDX files: gunzip the test set into the scratch folder.
    raw = {}
    for name, gz in (("images", images_gz), ("labels", labels_gz)):
        raw[name] = os.path.join(args.work, name + ".idx")
        with gzip.open(gz, "rb") as src, open(raw[name], "wb") as dst:
            shutil.copyfileobj(src, dst)
    logits_path = os.path.join(args.work, "logits.f32")
    line = run([os.path.join(build, "fashion_eval"), os.path.join(gen, "fashion_p0.bin"),
                raw["images"], raw["labels"], logits_path]).strip()
    fields = line.split()
    if len(fields) != 4 or fields[0] != "correct" or fields[2] != "total":
        fail("fashion_eval printed %r" % line)
    correct, total = int(fields[1]), int(fields[3])
    if total != ref["total"]:
        fail("fashion_eval ran %d images, torch %d" % (total, ref["total"]))
    got_pp, ref_pp = 100.0 * correct / total, 100.0 * ref["correct"] / ref["total"]
    print("accuracy over %d test images: compiled (%s kernels) %.2f%% (%d), torch fp32 %.2f%% (%d)"
          % (total, args.kernels, got_pp, correct, ref_pp, ref["correct"]))
    if abs(got_pp - ref_pp) > TOLERANCE_PP + 1e-9:
        fail("compiled accuracy %.2f%% differs from torch's %.2f%% by more than %.1f pp"
             % (got_pp, ref_pp, TOLERANCE_PP))

    driver_logits = np.fromfile(logits_path, dtype="<f4").reshape(total, 1, 10)

    # The committed samples are the first test images: their logits from the generated program
    # itself (through its .pb reader) and from the driver (through its normalisation) against torch's.
    prog = os.path.join(build, "gen", "fashion_p0")
    samples = sorted(glob.glob(os.path.join(example, "samples", "input_*.pb")))
    if not samples:
        fail("no samples/input_*.pb beside fashion.onnx")
    worst = 0.0
    for inp in samples:
        k = os.path.basename(inp)[len("input_"):-len(".pb")]
        got_path = os.path.join(args.work, "got_%s.pb" % k)
        run([prog, "--input", inp, "--output", got_path])
        exp = numpy_helper.to_array(onnx.load_tensor(os.path.join(example, "samples", "output_%s.pb" % k)))
        for who, got in (("program", numpy_helper.to_array(onnx.load_tensor(got_path))),
                         ("driver", driver_logits[int(k)])):
            if got.shape != exp.shape:
                fail("sample %s (%s): shape %s, torch %s" % (k, who, got.shape, exp.shape))
            rel = float(np.abs(got - exp).max()) / float(np.abs(exp).max())
            worst = max(worst, rel)
            if rel > LOGIT_TOL:
                fail("sample %s: the %s's logits differ from torch's by %.3g of the largest value"
                     % (k, who, rel))
    print("%d samples: logits of the program and the driver within %.2g of the largest value of"
          " torch's (tolerance %g)" % (len(samples), worst, LOGIT_TOL))
    shutil.rmtree(args.work, ignore_errors=True)


if __name__ == "__main__":
    main()
