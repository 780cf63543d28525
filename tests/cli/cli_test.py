#!/usr/bin/python3
"""cli_test.py — edgecc's command line: help and version exit 0, usage errors exit 2 with one
message, and `inspect` / `eval` on the bundled digits example (which must load: a failure to load
it fails the test).

usage: cli_test.py --edgecc PATH --root REPO --work DIR"""
import argparse
import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "unit"))

import edgecc_run  # noqa: E402

failures, passed = [], 0


def expect(name, ok, expected, got):
    global passed
    if ok:
        passed += 1
    else:
        failures.append("%s: expected %s, got %s" % (name, expected, got))


def expect_exit(edgecc, args, rc, stdout_has=None, stderr_re=None, **kw):
    name = "edgecc " + " ".join(args)
    r = edgecc_run.run(edgecc, args, **kw)
    bad = edgecc_run.abnormal(r)
    if bad:
        expect(name, False, "exit %d" % rc, "%s; %s" % (bad, r.describe()))
        return r
    expect(name + " (exit status)", r.rc == rc, "exit %d" % rc, r.describe())
    if stdout_has:
        expect(name + " (stdout)", stdout_has in r.out, "stdout containing %r" % stdout_has,
               repr(r.out[:300]))
    if stderr_re is not None:
        import re
        lines = [l for l in r.err.split("\n") if l.strip()]
        ok = len(lines) == 1 and lines[0].startswith("edgecc: error: ") and re.search(stderr_re, lines[0])
        expect(name + " (stderr)", bool(ok), "one line 'edgecc: error: ...' matching %r" % stderr_re,
               repr(r.err[:300]))
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--edgecc", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    e = os.path.abspath(a.edgecc)
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)

    expect_exit(e, ["--help"], 0, stdout_has="usage: edgecc")
    expect_exit(e, ["-h"], 0, stdout_has="usage: edgecc")
    expect_exit(e, ["inspect", "--help"], 0, stdout_has="usage: edgecc inspect")
    expect_exit(e, ["eval", "--help"], 0, stdout_has="usage: edgecc eval")
    r = expect_exit(e, ["--version"], 0, stdout_has="edgecc ")
    import re
    expect("edgecc --version (format)", re.match(r"^edgecc \d+\.\d+\.\d+", r.out or ""),
           "'edgecc X.Y.Z'", repr(r.out))
    expect_exit(e, [], 2)
    expect_exit(e, ["frobnicate", "x.onnx"], 2, stderr_re=r"frobnicate|unknown")
    expect_exit(e, ["--no-such-option"], 2, stderr_re=r"unknown option '--no-such-option'")
    expect_exit(e, ["inspect", "--no-such-option", "m.onnx"], 2, stderr_re=r"unknown option")
    expect_exit(e, ["inspect"], 2, stderr_re=r"no model")
    expect_exit(e, ["inspect", "a.onnx", "b.onnx"], 2, stderr_re=r".")
    expect_exit(e, ["inspect", "m.onnx", "--dim"], 2, stderr_re=r"--dim")
    expect_exit(e, ["inspect", "m.onnx", "--dim", "N=-3"], 2, stderr_re=r"--dim")
    expect_exit(e, ["inspect", "m.onnx", "--freeze-input", "novalue"], 2, stderr_re=r"--freeze-input")
    expect_exit(e, ["eval", "m.onnx", "--input"], 2, stderr_re=r"--input")
    missing = os.path.join(a.work, "missing.onnx")
    expect_exit(e, ["inspect", missing], 1, stderr_re=re.escape(missing) + r": cannot open")
    expect_exit(e, ["inspect", a.work], 1, stderr_re=r"not a regular file|cannot")

    digits = os.path.join(a.root, "examples", "digits", "digits.onnx")
    r = edgecc_run.run(e, ["inspect", digits, "--json"])
    # The bundled example must load: every check below fails when it does not (no skip).
    expect("inspect digits --json (exit)", r.rc == 0, "exit 0", r.describe())
    try:
        j = json.loads(r.out)
    except ValueError as ex:
        j = None
        expect("inspect digits --json (JSON)", False, "valid JSON", "%s: %r" % (ex, r.out[:200]))
    if j is not None:
        import onnx
        m = onnx.load(digits)
        want_params = sum(int(__import__("numpy").prod(t.dims)) for t in m.graph.initializer)
        ins = [(i["name"], i["dtype"], i["shape"]) for i in j.get("inputs", [])]
        outs = [(o["name"], o["dtype"], o["shape"]) for o in j.get("outputs", [])]
        expect("digits inputs", ins == [("input", "float32", [1, 1, 8, 8])],
               "[input float32 [1,1,8,8]]", ins)
        expect("digits outputs", outs == [("logits", "float32", [1, 10])],
               "[logits float32 [1,10]]", outs)
        expect("digits params", j.get("params") == want_params, want_params, j.get("params"))
        expect("digits unsupported ops", j.get("unsupported_ops") == {}, "{}",
               j.get("unsupported_ops"))
    r = expect_exit(e, ["inspect", digits], 0, stdout_has="[1,1,8,8]")
    # --kernels: an unknown library, and oneDNN on a board whose description does not list it.
    out = os.path.join(a.work, "kernels_out")
    expect_exit(e, [digits, "--targets", "host", "--kernels", "cuda", "-o", out], 2,
                stderr_re=r"--kernels cuda: unknown kernel library \(available: ref, xnnpack, onednn\)")
    expect_exit(e, [digits, "--targets", "pi5", "--kernels", "onednn", "-o", out], 2,
                stderr_re=r"device 'pi5' \(target pi5\) has no oneDNN in its description")
    # eval: the samples' true labels are the argmax for most of them (98% test accuracy).
    samples = os.path.join(a.root, "examples", "digits", "samples")
    labels = {}
    with open(os.path.join(samples, "labels.txt")) as f:
        for line in f:
            if line.strip():
                k, v = line.split()
                labels[k] = int(v)
    import numpy as np
    from onnx import numpy_helper
    right = 0
    for k, want in sorted(labels.items()):
        out = os.path.join(a.work, "out_" + k)
        r = edgecc_run.run(e, ["eval", digits, "--input", os.path.join(samples, k), "--output", out])
        if r.rc != 0:
            expect("eval digits " + k, False, "exit 0", r.describe())
            continue
        got = int(np.argmax(numpy_helper.to_array(onnx.load_tensor(out))))
        right += got == want
    expect("eval digits: samples classified right", right >= len(labels) - 1,
           "at least %d of %d" % (len(labels) - 1, len(labels)), right)

    for f in failures:
        print("FAIL:", f)
    print("cli: %d passed, %d failed" % (passed, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
