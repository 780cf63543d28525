#!/usr/bin/python3
"""Write the digits model's calibration set: the first 300 images of train.py's training split.

calib/input_000.pb ... input_299.pb (TensorProto `input`, [1,1,8,8], pixels / 16 as train.py
scales them) and calib/labels.txt (one class per line, in that order). Training images only:
accuracy is measured on the test split, never on calibration data. Deterministic (the split is
train.py's seeded one), so a rerun rewrites the same bytes.
Run with Debian's interpreter: /usr/bin/python3 examples/digits/make_calib.py
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)
from example_files import write_pb  # noqa: E402
from train import load_split  # noqa: E402

COUNT = 300


def main():
    x_train, _, y_train, _ = load_split()
    out = os.path.join(HERE, "calib")
    os.makedirs(out, exist_ok=True)
    for k in range(COUNT):
        write_pb(os.path.join(out, "input_%03d.pb" % k), x_train[k:k + 1], "input")
    with open(os.path.join(out, "labels.txt"), "w") as f:
        f.writelines("%d\n" % y for y in y_train[:COUNT])
    print("digits: wrote %d calibration images to %s" % (COUNT, out))


if __name__ == "__main__":
    main()
