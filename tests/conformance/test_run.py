#!/usr/bin/python3
"""test_run.py — checks the conformance harness itself: ONNX's comparison rule, the status and reason
class of each way an edgecc call can end, the expected-list round trip (a changed class fails a run;
--update refuses to give up a pass without --force, keeps the lines a --filter run skipped), and the
fast run's minimum number of tests per XNNPACK operator kind. Uses a fake edgecc, no real model.

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
if sys.argv[1] == "compile":
    # Generated code as edgecc writes it: plan.json, and a step on XNNPACK's convolution unless
    # the mode says lowering fell back to the reference kernels.
    out = sys.argv[sys.argv.index("-o") + 1]
    os.makedirs(os.path.join(out, "host"))
    with open(os.path.join(out, "plan.json"), "w") as f:
        json.dump({"partitions": [{"arena_verified": True}]}, f)
    step = "/* kernel: reference */\n" if mode == "ref_fallback" else \
        "/* kernel: XNNPACK */\nstatic const eck_xnn_params s0_xp = {\n    .kind = ECK_XNN_CONV,\n    .pad = {0, 0, 0, 0}};\n"
    with open(os.path.join(out, "host", "model_p0.c"), "w") as f:
        f.write(step)
    sys.exit(0)
shape = [2, 3] if mode in ("ok", "ref_fallback") else [3, 2]
print(json.dumps({"outputs": [{"name": "y", "dtype": "float32", "shape": shape}]}))
'''


# The build hook: makes a "program" that copies its input file to its output file (Relu of ones).
HOOK = r'''#!/bin/sh
mkdir -p "$(dirname "$3")"
cat > "$3" <<'PROG'
#!/bin/sh
cp "$2" "$4"
PROG
chmod +x "$3"
'''


def test_classes():
    want = [
        ("pass", "", None, ""),
        ("unsupported", "node 'n' (Loop): unknown op 'Loop'", None, "op Loop"),
        ("unsupported", "graph output 'y' is not declared as a tensor (sequences, maps and optionals are not supported)",
         None, "non-tensor value"),
        ("unsupported", "node 'n' (Foo): attribute 'x' out of range", None, "diagnostic"),
        ("unsupported", "node 'n' (Foo): unknown op 'Foo'", "excused: string tensors", "excused"),
        ("fail", "output 0 (test_data_set_0): 3 of 6 elements differ, max abs error 1", None, "values"),
        ("fail", "output 0 'y': inferred float32[3, 2], expected float32[2, 3]", None, "dtype or shape"),
        ("fail", "output 0 (test_data_set_0): shape [1], expected [2]", None, "dtype or shape"),
        ("fail", "generated code does not build: x.c:1: error: y", None, "build"),
        ("fail", "output 1 was not written", None, "output not written"),
        ("crash", "compile: killed by SIGSEGV", None, "signal"),
        ("crash", "generated program killed by SIGABRT", None, "signal"),
        ("crash", "inspect: exit status 3: edgecc: error: internal error", None, "exit status"),
        ("crash", "inspect: exit status 1 without an 'edgecc: error:' line", None, "no diagnostic"),
        ("crash", "harness: KeyError: 'x'", None, "harness"),
        ("timeout", "eval: no answer within 60 s", None, "time limit"),
    ]
    for status, reason, excused, cls in want:
        got = run.list_class(status, reason, excused)
        check(got == cls, "reason class of %s '%s' is '%s', expected '%s'" % (status, reason, got, cls))
    check(run.read_expected.__doc__ is not None, "read_expected documents the line format")


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
        want = {"ok": "pass", "wrong_shape": "fail: dtype or shape", "diag": "unsupported: op Foo",
                "segv": "crash: signal", "exit1_silent": "crash: no diagnostic", "exit3": "crash: exit status",
                "hang": "timeout: time limit"}
        for mode, line in want.items():
            status = line.split(":")[0]
            with open(mode_file, "w") as f:
                f.write(mode)
            with open(expected, "w") as f:
                f.write("node/test_fake %s\n" % line)
            p = subprocess.run([sys.executable, run.__file__, "--edgecc", fake, "--mode", "shapes",
                                "--data", os.path.join(tmp, "data"), "--suites", "node",
                                # a short limit only where the fake hangs: under load, the fake's
                                # Python start-up alone once took over 2 s
                                "--timeout", "2" if mode == "hang" else "120",
                                "--out", os.path.join(tmp, "out"), "--expected", expected],
                               env=dict(os.environ, FAKE_MODE=mode_file), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
            text = p.stdout.decode()
            report = open(os.path.join(tmp, "out", "report.json")).read()
            check('"status": "%s"' % status in report, "fake edgecc '%s' gives status %s:\n%s" % (mode, status, text))
            # Crashes and timeouts fail the run even when listed; other statuses pass when listed.
            check((p.returncode != 0) == (status in ("crash", "timeout")),
                  "run exit status for listed '%s' is %d:\n%s" % (line, p.returncode, text))
            if status in ("fail", "unsupported"):
                # The same status for another reason class is a change that fails the run.
                with open(expected, "w") as f:
                    f.write("node/test_fake %s: some other class\n" % status)
                p = subprocess.run([sys.executable, run.__file__, "--edgecc", fake, "--mode", "shapes",
                                    "--data", os.path.join(tmp, "data"), "--suites", "node",
                                    "--out", os.path.join(tmp, "out"), "--expected", expected],
                                   env=dict(os.environ, FAKE_MODE=mode_file), stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT)
                check(p.returncode == 1 and b"changed status or reason class" in p.stdout,
                      "a listed '%s: some other class' fails a run that gives '%s'" % (status, line))
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

        # pass -> non-pass: --update refuses and leaves the list alone; --force writes it.
        with open(mode_file, "w") as f:
            f.write("diag")
        before = open(expected).read()
        p = subprocess.run(argv + ["--update"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        check(p.returncode == 1 and b"--update refused" in p.stdout and b"now unsupported: op Foo" in p.stdout,
              "--update refuses a pass that became unsupported:\n%s" % p.stdout.decode())
        check(open(expected).read() == before, "a refused --update leaves the list as it was")
        p = subprocess.run(argv + ["--force"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        check(p.returncode == 2, "--force without --update is a usage error (exit 2), got %d" % p.returncode)
        p = subprocess.run(argv + ["--update", "--force"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        lines = [l for l in open(expected) if not l.startswith("#")]
        check(p.returncode == 0 and len(lines) == 1 and lines[0].startswith("node/test_fake unsupported: op Foo  # "),
              "--update --force writes the lost pass: %r" % lines)

        # --update with --filter keeps the lines of the tests it did not run.
        with open(expected, "w") as f:
            f.write("node/test_fake unsupported: op Foo\nnode/test_other pass\n")
        subprocess.run(argv + ["--update", "--filter", "test_fake"], env=env, stdout=subprocess.PIPE)
        lines = [l.split("  #")[0].strip() for l in open(expected) if not l.startswith("#")]
        check(lines == ["node/test_fake unsupported: op Foo", "node/test_other pass"],
              "--update --filter keeps the other tests' lines: %r" % lines)
        # Without --filter, a listed pass that no longer exists is a lost pass too.
        p = subprocess.run(argv + ["--update"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        check(p.returncode == 1 and b"node/test_other" in p.stdout and b"(missing)" in p.stdout,
              "--update refuses to drop a listed pass that no longer exists:\n%s" % p.stdout.decode())

        # The fast-kernel run counts tests per XNNPACK operator kind from the generated code.
        hook = os.path.join(tmp, "hook.sh")
        with open(hook, "w") as f:
            f.write(HOOK)
        os.chmod(hook, os.stat(hook).st_mode | stat.S_IEXEC)
        with open(expected, "w") as f:
            f.write("node/test_fake pass\n")
        fast = [sys.executable, run.__file__, "--edgecc", fake, "--mode", "compile", "--kernels", "xnnpack",
                "--data", os.path.join(tmp, "data"), "--suites", "node", "--out", os.path.join(tmp, "out"),
                "--expected", expected, "--build-dir", tmp, "--build-hook", hook]
        for mode, minimum, ok in (("ok", "conv=1", True), ("ok", "conv=1,fc=1", False),
                                  ("ref_fallback", "conv=1", False), ("ref_fallback", "conv=0", True)):
            with open(mode_file, "w") as f:
                f.write(mode)
            p = subprocess.run(fast + ["--min-fast-tests", minimum], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
            check((p.returncode == 0) == ok, "fast run, edgecc '%s', --min-fast-tests %s: exit %d, expected %s:\n%s"
                  % (mode, minimum, p.returncode, "0" if ok else "1", p.stdout.decode()))
            if not ok:
                check(b"ran an XNNPACK" in p.stdout, "a kind below its minimum is named:\n%s" % p.stdout.decode())
        # --fast-only builds and runs only tests whose generated code calls a fast kernel: a test on
        # the reference kernels alone leaves the results (no "missing" line for a listed pass), one
        # on XNNPACK stays and is compared as usual; --update keeps the left-out test's line.
        for mode, listed, ok, counted in (("ok", "pass", True, 1), ("ref_fallback", "pass", True, 0),
                                          ("ok", "fail: values", False, 1)):
            with open(mode_file, "w") as f:
                f.write(mode)
            with open(expected, "w") as f:
                f.write("node/test_fake %s\n" % listed)
            p = subprocess.run(fast + ["--fast-only"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            out = p.stdout.decode()
            check((p.returncode == 0) == ok and ("%d tests in" % counted) in out
                  and ("%d more test(s) compiled and left out" % (1 - counted)) in out,
                  "--fast-only, edgecc '%s', listed '%s': exit %d, %d test(s) counted expected:\n%s"
                  % (mode, listed, p.returncode, counted, out))
        with open(mode_file, "w") as f:
            f.write("ref_fallback")
        with open(expected, "w") as f:
            f.write("node/test_fake fail: values\n")
        subprocess.run(fast + ["--fast-only", "--update"], env=env, stdout=subprocess.PIPE)
        lines = [l.strip() for l in open(expected) if not l.startswith("#")]
        check(lines == ["node/test_fake fail: values"], "--fast-only --update keeps a left-out test's line: %r" % lines)
        p = subprocess.run(fast[:fast.index("--kernels")] + fast[fast.index("--kernels") + 2:] + ["--fast-only"],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        check(p.returncode == 2 and p.stderr.count(b"\n") == 1 and b"--fast-only" in p.stderr,
              "--fast-only without fast kernels is a usage error on one line: exit %d, %r" % (p.returncode, p.stderr))
        for bad in ("conv=x", "Conv=1"):
            p = subprocess.run(fast + ["--min-fast-tests", bad], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
            check(p.returncode == 2 and p.stderr.count(b"\n") == 1 and b"--min-fast-tests" in p.stderr,
                  "--min-fast-tests %s is a usage error on one line: exit %d, %r" % (bad, p.returncode, p.stderr))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    test_compare()
    test_classes()
    test_statuses()
    print("%d check(s) failed" % len(FAILED) if FAILED else "all checks pass")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
