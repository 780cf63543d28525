#!/usr/bin/python3
"""test_run.py — checks the conformance harness itself: ONNX's comparison rule, the status of each
way an edgecc call can end, and the expected-list round trip. Uses a fake edgecc, no real model.

Usage: /usr/bin/python3 tests/conformance/test_run.py   (exit 0 when every check holds)
"""

import os
import shutil
import stat
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402

FAILED = []


def check(cond, what):
    if not cond:
        FAILED.append(what)
        print("FAIL: " + what)


def t(a, dtype=None):
    return numpy_helper.from_array(np.asarray(a, dtype=dtype))


def test_compare():
    f = np.float32
    check(run.compare_values(t([1.0, 2.0], f), t([1.0009, 2.0], f), "tensor") is None, "within rtol passes")
    check(run.compare_values(t([1.0, 2.0], f), t([1.0011, 2.0], f), "tensor") is not None, "past rtol fails")
    check(run.compare_values(t([0.0], f), t([5e-8], f), "tensor") is None, "within atol passes")
    check(run.compare_values(t([0.0], f), t([2e-7], f), "tensor") is not None, "past atol fails")
    check(run.compare_values(t([np.nan], f), t([np.nan], f), "tensor") is None, "NaN equals NaN")
    check(run.compare_values(t([1.0], f), t([np.nan], f), "tensor") is not None, "number vs NaN fails")
    check(run.compare_values(t([np.inf], f), t([-np.inf], f), "tensor") is not None, "inf vs -inf fails")
    check(run.compare_values(t([1, 2], np.int64), t([1, 2], np.int32), "tensor") is not None, "dtype must match")
    check(run.compare_values(t([[1, 2]], f), t([1, 2], f), "tensor") is not None, "shape must match")
    check(run.compare_values(t([1000000001], np.int64), t([1000000000], np.int64), "tensor") is not None,
          "integers compare exactly")
    check(run.compare_values(t([True]), t([True]), "tensor") is None, "bool equal passes")
    msg = run.compare_values(t([1.0, 3.0], f), t([1.0, 2.0], f), "tensor")
    check(msg is not None and "max abs error 1" in msg, "failure names the max abs error: %s" % msg)


FAKE = r'''#!/usr/bin/python3
import os, sys, time, json
mode = open(os.environ["FAKE_MODE"]).read().strip()
if mode == "segv":
    os.kill(os.getpid(), 11)
if mode == "exit1_silent":
    sys.exit(1)
if mode == "exit3":
    sys.stderr.write("edgecc: error: internal error\n"); sys.exit(3)
if mode == "diag":
    sys.stderr.write("edgecc: error: %s: node 'n' (Foo): unknown op 'Foo'\n" % sys.argv[2]); sys.exit(1)
if mode == "hang":
    time.sleep(30)
if "--shape-inputs" in sys.argv:
    sys.exit(0)
shape = [2, 3] if mode == "ok" else [3, 2]
print(json.dumps({"outputs": [{"name": "y", "dtype": "float32", "shape": shape}]}))
'''


def test_statuses():
    tmp = tempfile.mkdtemp(prefix="conformance_selftest_")
    try:
        suite = os.path.join(tmp, "data", "node", "test_fake")
        ds = os.path.join(suite, "test_data_set_0")
        os.makedirs(ds)
        node = helper.make_node("Relu", ["x"], ["y"])
        g = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", 1, [2, 3])],
                              [helper.make_tensor_value_info("y", 1, [2, 3])])
        onnx.save(helper.make_model(g), os.path.join(suite, "model.onnx"))
        with open(os.path.join(ds, "input_0.pb"), "wb") as f:
            f.write(t(np.ones((2, 3), np.float32)).SerializeToString())
        with open(os.path.join(ds, "output_0.pb"), "wb") as f:
            f.write(t(np.ones((2, 3), np.float32)).SerializeToString())
        fake = os.path.join(tmp, "edgecc")
        with open(fake, "w") as f:
            f.write(FAKE)
        os.chmod(fake, os.stat(fake).st_mode | stat.S_IEXEC)
        mode_file = os.path.join(tmp, "mode")
        expected = os.path.join(tmp, "expected.txt")
        want = {"ok": "pass", "wrong_shape": "fail", "diag": "unsupported", "segv": "crash",
                "exit1_silent": "crash", "exit3": "crash", "hang": "timeout"}
        for mode, status in want.items():
            with open(mode_file, "w") as f:
                f.write(mode)
            with open(expected, "w") as f:
                f.write("node/test_fake %s\n" % status)
            p = subprocess.run([sys.executable, run.__file__, "--edgecc", fake, "--mode", "shapes",
                                "--data", os.path.join(tmp, "data"), "--suites", "node", "--timeout", "2",
                                "--out", os.path.join(tmp, "out"), "--expected", expected],
                               env=dict(os.environ, FAKE_MODE=mode_file), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
            text = p.stdout.decode()
            report = open(os.path.join(tmp, "out", "report.json")).read()
            check('"status": "%s"' % status in report, "fake edgecc '%s' gives status %s:\n%s" % (mode, status, text))
            # Crashes and timeouts fail the run even when listed; other statuses pass when listed.
            check((p.returncode != 0) == (status in ("crash", "timeout")),
                  "run exit status for listed '%s' is %d" % (status, p.returncode))
        # A status that differs from the list fails the run, and --update rewrites the list.
        with open(mode_file, "w") as f:
            f.write("ok")
        with open(expected, "w") as f:
            f.write("node/test_fake unsupported  # excused: shown to be wrong\n")
        argv = [sys.executable, run.__file__, "--edgecc", fake, "--mode", "shapes", "--data",
                os.path.join(tmp, "data"), "--suites", "node", "--out", os.path.join(tmp, "out"),
                "--expected", expected]
        env = dict(os.environ, FAKE_MODE=mode_file)
        p = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        check(p.returncode == 1 and b"changed status" in p.stdout, "an improvement fails the run")
        subprocess.run(argv + ["--update"], env=env, stdout=subprocess.PIPE)
        lines = [l for l in open(expected) if not l.startswith("#")]
        check(lines == ["node/test_fake pass\n"], "--update writes the new status: %r" % lines)
        p = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        check(p.returncode == 0, "after --update the run passes")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    test_compare()
    test_statuses()
    print("%d check(s) failed" % len(FAILED) if FAILED else "all checks pass")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
