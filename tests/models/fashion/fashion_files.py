#!/usr/bin/python3
"""The committed Fashion-MNIST example's files against Debian's data set (no edgecc involved).

Checks what the later quantization step will rely on: calib/ holds exactly input_000.pb ..
input_499.pb, each the training image calib/indices.txt names, normalised as fashion.json says
(float32(pixel) / 255, bit for bit), calib/labels.txt the training labels of those images in file
order, 50 per class; samples/input_K.pb are the first test images and samples/labels.txt their
labels; fashion.onnx has opset 13 and the input and output fashion.json describes; the data files
are the ones the model was trained on (SHA-256). A missing file is a failure, never a skip.
"""

import argparse
import gzip
import hashlib
import json
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper

DATA = "/usr/share/datasets/fashion-mnist"


def fail(msg):
    sys.exit("FAILED: " + msg)


def read_idx(path):
    if not os.path.exists(path):
        fail("%s missing (apt-get install dataset-fashion-mnist, listed in scripts/packages.txt)" % path)
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_input(path):
    t = onnx.load_tensor(path)
    if t.name != "input" or t.data_type != onnx.TensorProto.FLOAT or list(t.dims) != [1, 1, 28, 28]:
        fail("%s: tensor %r, type %d, dims %s; expected 'input' float32 [1,1,28,28]"
             % (path, t.name, t.data_type, list(t.dims)))
    return numpy_helper.to_array(t)


def normalised(pixels):
    return (pixels.astype(np.float32) / np.float32(255.0))[None, None]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", required=True, help="the repository root")
    args = ap.parse_args()
    ex = os.path.join(args.src, "examples", "fashion")
    with open(os.path.join(ex, "fashion.json")) as f:
        info = json.load(f)

    for name, digest in info["data_sha256"].items():
        path = os.path.join(DATA, name)
        if not os.path.exists(path):
            fail("%s missing (apt-get install dataset-fashion-mnist)" % path)
        with open(path, "rb") as f:
            if hashlib.sha256(f.read()).hexdigest() != digest:
                fail("%s is not the file the model was trained on (SHA-256 differs)" % path)
    train_x = read_idx(os.path.join(DATA, "train-images-idx3-ubyte.gz"))
    train_y = read_idx(os.path.join(DATA, "train-labels-idx1-ubyte.gz"))
    test_x = read_idx(os.path.join(DATA, "t10k-images-idx3-ubyte.gz"))
    test_y = read_idx(os.path.join(DATA, "t10k-labels-idx1-ubyte.gz"))

    model = onnx.load(os.path.join(ex, "fashion.onnx"))
    opsets = {o.domain: o.version for o in model.opset_import}
    if opsets.get("", opsets.get("ai.onnx")) != 13:
        fail("fashion.onnx: opset %s, expected 13" % opsets)
    for value, want in ((model.graph.input[0], info["input"]), (model.graph.output[0], info["output"])):
        dims = [d.dim_value for d in value.type.tensor_type.shape.dim]
        if value.name != want["name"] or dims != want["shape"] or \
                value.type.tensor_type.elem_type != onnx.TensorProto.FLOAT:
            fail("fashion.onnx: %s %s is not %s" % (value.name, dims, want))

    calib = os.path.join(ex, "calib")
    count = info["calibration"]["count"]
    pbs = sorted(n for n in os.listdir(calib) if n.endswith(".pb"))
    if pbs != ["input_%03d.pb" % k for k in range(count)]:
        fail("calib/ should hold exactly input_000.pb .. input_%03d.pb" % (count - 1))
    with open(os.path.join(calib, "indices.txt")) as f:
        indices = [int(line) for line in f]
    with open(os.path.join(calib, "labels.txt")) as f:
        labels = [int(line) for line in f]
    if len(indices) != count or len(labels) != count or len(set(indices)) != count:
        fail("calib: %d indices (%d distinct), %d labels for %d files"
             % (len(indices), len(set(indices)), len(labels), count))
    for k, (i, label) in enumerate(zip(indices, labels)):
        if not 0 <= i < len(train_x):
            fail("calib/indices.txt line %d: %d is not a training image" % (k + 1, i))
        if label != train_y[i]:
            fail("calib/labels.txt line %d: %d, the training label of image %d is %d" % (k + 1, label, i, train_y[i]))
        if not np.array_equal(load_input(os.path.join(calib, pbs[k])), normalised(train_x[i])):
            fail("calib/%s is not training image %d normalised as fashion.json says" % (pbs[k], i))
    per_class = np.bincount(labels, minlength=10)
    if per_class.min() != per_class.max():
        fail("calib: labels per class %s" % per_class.tolist())

    with open(os.path.join(ex, "samples", "labels.txt")) as f:
        sample_lines = [line.split() for line in f]
    for k, (name, label) in enumerate(sample_lines):
        if name != "input_%d.pb" % k or int(label) != test_y[k]:
            fail("samples/labels.txt line %d: %s %s; test image %d has label %d" % (k + 1, name, label, k, test_y[k]))
        if not np.array_equal(load_input(os.path.join(ex, "samples", name)), normalised(test_x[k])):
            fail("samples/%s is not test image %d normalised as fashion.json says" % (name, k))
    print("fashion example: %d calibration images (%d per class) and %d samples match the data set"
          % (count, per_class[0], len(sample_lines)))


if __name__ == "__main__":
    main()
