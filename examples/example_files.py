"""Files every example's training script writes: TensorProto samples with torch's outputs, and
the accuracy line of its README. Imported by examples/*/train.py (Debian's /usr/bin/python3)."""

import os
import re

import numpy as np
from onnx import numpy_helper


def write_pb(path, array, name):
    """One array as an ONNX TensorProto file."""
    with open(path, "wb") as f:
        f.write(numpy_helper.from_array(np.ascontiguousarray(array), name).SerializeToString())


def write_samples(run, x, labels, outdir, count, input_name="input", output_name="logits"):
    """samples/input_K.pb (x[K:K+1]), output_K.pb (run(x[K:K+1]), the reference outputs compiled
    code must match) and labels.txt (`input_K.pb LABEL` per line), for K < count. x is a numpy
    array; run maps a numpy batch to a numpy array."""
    os.makedirs(outdir, exist_ok=True)
    lines = []
    for k in range(count):
        xk = x[k:k + 1]
        write_pb(os.path.join(outdir, "input_%d.pb" % k), xk, input_name)
        write_pb(os.path.join(outdir, "output_%d.pb" % k), run(xk), output_name)
        lines.append("input_%d.pb %d\n" % (k, int(labels[k])))
    with open(os.path.join(outdir, "labels.txt"), "w") as f:
        f.writelines(lines)


def record_accuracy(readme, correct, total):
    """Rewrite the 'Test accuracy:' line of a README, if the README is there."""
    if not os.path.exists(readme):
        return
    with open(readme) as f:
        text = f.read()
    line = "Test accuracy: **%.2f%%** (%d of %d test images)." % (100.0 * correct / total, correct, total)
    text = re.sub(r"^Test accuracy:.*$", line, text, count=1, flags=re.M)
    with open(readme, "w") as f:
        f.write(text)
