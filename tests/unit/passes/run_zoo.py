#!/usr/bin/python3
"""Runs pass_check on one zoo model, exporting it first if the cache does not hold it.

Usage: /usr/bin/python3 tests/unit/passes/run_zoo.py --pass-check PATH --cache DIR [--bn] MODEL
       [pass_check options...]
Without --bn: the export of tests/models/export_zoo.py (torch already folded its BatchNorms).
With --bn: the same model exported with its BatchNormalizations kept (make_models.py --zoo),
so that bn-fold has work. Exports go through a temporary folder and a rename, so concurrent
tests sharing the cache never read a half-written file. Exit 77 (skip) if the export fails.
"""

import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def export(model, cache, bn):
    stem = model + ("_bn" if bn else "")
    path = os.path.join(cache, stem + ".onnx")
    if os.path.exists(path):
        return stem
    os.makedirs(cache, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".export-%s-" % stem, dir=cache)
    try:
        if bn:
            cmd = [sys.executable, os.path.join(HERE, "make_models.py"), "--zoo", model, tmp]
        else:
            cmd = [sys.executable, os.path.join(HERE, "..", "..", "models", "export_zoo.py"), model, tmp]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        for suffix in ("_input_0.pb", "_output_0.pb", ".onnx"):  # the model last: it marks completion
            src = os.path.join(tmp, stem + suffix)
            if os.path.exists(src):
                os.replace(src, os.path.join(cache, stem + suffix))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return stem


def main():
    pc = cache = None
    bn = False
    rest = []
    args = iter(sys.argv[1:])
    for a in args:
        if a == "--pass-check":
            pc = next(args, None)
        elif a == "--cache":
            cache = next(args, None)
        elif a == "--bn":
            bn = True
        else:
            rest.append(a)
    if not pc or not cache or not rest:
        sys.exit(__doc__)
    model, extra = rest[0], rest[1:]
    try:
        stem = export(model, cache, bn)
    except (subprocess.CalledProcessError, OSError) as e:
        print("cannot export %s: %s" % (model, e))
        return 77
    cmd = [pc, os.path.join(cache, stem + ".onnx"), "--input", os.path.join(cache, stem + "_input_0.pb")]
    return subprocess.run(cmd + extra).returncode


if __name__ == "__main__":
    sys.exit(main())
