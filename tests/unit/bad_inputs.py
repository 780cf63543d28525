#!/usr/bin/python3
"""bad_inputs.py — malformed models (made at test time by tests/fixtures/bad_models.py) must each
end with one `edgecc: error: FILE: [node ...: ]WHAT` line and exit status 1; the deep-nesting
file too; the positive fixtures (local functions, external data) must load and evaluate right.

usage: bad_inputs.py --edgecc PATH --work DIR"""
import argparse
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))

import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import numpy_helper  # noqa: E402

import bad_models  # noqa: E402
import edgecc_run  # noqa: E402


def write_pb(path, arr, name):
    with open(path, "wb") as f:
        f.write(numpy_helper.from_array(arr, name).SerializeToString())


def eval_model(edgecc, model, x, work, tag):
    xin = os.path.join(work, tag + "_in.pb")
    yout = os.path.join(work, tag + "_out.pb")
    write_pb(xin, x, "x")
    if os.path.exists(yout):
        os.remove(yout)
    r = edgecc_run.run(edgecc, ["eval", model, "--input", xin, "--output", yout])
    if r.rc != 0 or not os.path.exists(yout):
        return None, r
    return numpy_helper.to_array(onnx.load_tensor(yout)), r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--edgecc", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    a.edgecc = os.path.abspath(a.edgecc)
    work = os.path.abspath(a.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    failures, passed = [], 0

    for c in bad_models.bad_cases(work):
        r = edgecc_run.run(a.edgecc, [c.cmd, c.path] + list(c.args))
        probs = edgecc_run.check_error(r, file=c.path, where=c.where, what=c.what)
        if probs:
            failures.append("%s: %s" % (c.name, "; ".join(probs)))
        else:
            passed += 1

    # Deep nesting, made by the committed generator.
    deep = os.path.join(work, "deep_nesting.onnx")
    gen = os.path.join(HERE, "..", "fixtures", "make_deep_nesting.py")
    import subprocess
    subprocess.run([sys.executable, gen, deep, "300000"], check=True)
    r = edgecc_run.run(a.edgecc, ["inspect", deep], timeout=30)
    probs = edgecc_run.check_error(r, file=deep, where="", what=r"nest")
    (failures.append("deep nesting: " + "; ".join(probs)) if probs else None)
    passed += not probs

    # Positive: local functions are inlined and evaluate right.
    path, x, want = bad_models.function_model(work)
    got, r = eval_model(a.edgecc, path, x, work, "fn")
    if got is None:
        failures.append("local function model: expected eval to succeed, got %s" % r.describe())
    elif got.shape != want.shape or not np.array_equal(got, want):
        failures.append("local function model: expected %r, got %r" % (want.tolist(), got.tolist()))
    else:
        passed += 1

    # Positive: external data loads and gives the same result as the plain model.
    plain, ext, x = bad_models.external_models(work)
    want, r1 = eval_model(a.edgecc, plain, x, work, "plain")
    got, r2 = eval_model(a.edgecc, ext, x, work, "ext")
    if want is None:
        failures.append("plain model: expected eval to succeed, got %s" % r1.describe())
    elif got is None:
        failures.append("external-data model: expected eval to succeed, got %s" % r2.describe())
    elif got.shape != want.shape or not np.array_equal(got, want):
        failures.append("external-data model: expected %r (plain model), got %r" %
                        (want.tolist(), got.tolist()))
    else:
        passed += 1
    # ...also when run from another folder (the location is relative to the model, not the cwd).
    r = edgecc_run.run(a.edgecc, ["inspect", ext], cwd="/")
    if r.rc != 0:
        failures.append("external-data model from cwd=/: expected exit 0, got %s" % r.describe())
    else:
        passed += 1

    for f in failures:
        print("FAIL:", f)
    print("bad_inputs: %d passed, %d failed" % (passed, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
