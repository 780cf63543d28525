#!/usr/bin/python3
"""calib_cli.py — `edgecc calibrate` on tiny models (made here with python3-onnx) whose answers
are worked out by hand below, the set's layout for several inputs, reproducibility, progress,
and every bad value of its flags and files.

1. Known answers. `one.onnx`: x [1,4] -> Relu -> r; x @ W -> y (MatMul); Gemm(x, W) -> g, with
   W = [[1,-2],[0.5,0],[0,4],[-3,1]], over three samples (below). By hand: x in [-4, 3], so
   scale = 7/255 and zero point round(-128 + 4*255/7) = round(17.71) = 18; r in [0, 3]: 3/255,
   -128; y = x @ W takes (3.5, 9.5), (-7, 6), (-2, 4): [-7, 9.5], 16.5/255, round(-128 +
   7*255/16.5) = round(-19.82) = -20. W's channels are its columns (axis 1, for MatMul and for
   Gemm without transB, one entry naming both nodes): max |w| 3 and 4, scales 3/127 and 4/127.
   `two.onnx`: inputs a [1,100000], b [1,2048]; Neg of each. One sample, a subfolder with
   input_0.pb (a: 99999 values -1 and one 2048) and input_1.pb (b: -1024, -1023, ..., 1023).
   Percentile on a: A = 2048, bin width 1, |-1| is in bin 1 and holds 99999 of 100000 values =
   exactly 99.999%, so t = 2 (bin 1's upper edge) and [lo, hi] = [max(-2, -1), min(2, 2048)] =
   [-1, 2]: 3/255, round(-128 + 85) = -43. On -a: [-2, 1], zero point 42. On b: |b| is in bin
   2|b|, and only the last bin completes 99.999% of 2048 values: t = 1024, [-1024, 1023].
   Entropy on b: one value per bin, so keeping all 2048 bins gives q = p (KL 0) and any
   clipping piles the outliers into the edge bins (KL > 0): t = 1024, [-1024, 1023], scale
   2047/255, zero point round(-128 + 127.56) = 0. Minmax on a: [-1, 2048], zero point
   round(-128 + 0.12) = -128.
2. Byte-identical output across two runs, and across the order files were created in (readdir
   order) with `--calib-max` taking the same first files.
3. Usage errors (exit 2, one line) and file errors (exit 1 naming the file).

usage: calib_cli.py --edgecc PATH --root REPO --work DIR"""
import argparse
import json
import os
import pty
import shutil
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import calib_ref  # noqa: E402

failures = []
passed = 0


def check(ok, what):
    global passed
    if ok:
        passed += 1
    else:
        failures.append(what)
        print("FAIL:", what)


def f32(x):
    return float(np.float32(x))


def write_pb(path, array, name="x"):
    with open(path, "wb") as f:
        f.write(numpy_helper.from_array(np.ascontiguousarray(array), name).SerializeToString())


def run(edgecc, args, timeout=300):
    r = subprocess.run([edgecc] + args, capture_output=True, text=True, timeout=timeout)
    return r.returncode, r.stdout, r.stderr


def calibrate(edgecc, args):
    rc, out, err = run(edgecc, ["calibrate"] + args)
    if rc != 0:
        raise SystemExit("edgecc calibrate %s failed (%d): %s" % (" ".join(args), rc, err))
    return json.loads(out), out


def by_name(j):
    return {a["name"]: a for a in j["activations"]}


def expect_range(method, a, lo, hi, scale, zp, extra=None):
    """The entry's lo, hi, scale (all float32) and zero point are the hand-computed ones."""
    want = {"lo": f32(lo), "hi": f32(hi), "scale": f32(scale)}
    want.update(extra or {})
    for k, v in want.items():
        check(a[k + "_bits"] == calib_ref.bits(f32(v)),
              "%s %s: %s = %r, by hand %r" % (method, a["name"], k, a[k], f32(v)))
    check(a["zero_point"] == zp, "%s %s: zero_point %d, by hand %d" % (method, a["name"], a["zero_point"], zp))


def make_models(work):
    W = np.array([[1, -2], [0.5, 0], [0, 4], [-3, 1]], np.float32)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in
            [("r", [1, 4]), ("y", [1, 2]), ("g", [1, 2])]]
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="relu"),
             helper.make_node("MatMul", ["x", "W"], ["y"], name="mm"),
             helper.make_node("Gemm", ["x", "W"], ["g"], name="gemm")]
    g = helper.make_graph(nodes, "one", [x], outs, [numpy_helper.from_array(W, "W")])
    one = os.path.join(work, "one.onnx")
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), one)
    d1 = os.path.join(work, "one_calib")
    os.makedirs(d1)
    for k, s in enumerate([[1, 2, 3, -0.5], [-1, 0, 0.5, 2], [0, -4, 1, 0]]):
        write_pb(os.path.join(d1, "s%d.pb" % k), np.array([s], np.float32))
    with open(os.path.join(d1, "labels.txt"), "w") as f:
        f.write("not a sample\n")

    ins = [helper.make_tensor_value_info("a", TensorProto.FLOAT, [1, 100000]),
           helper.make_tensor_value_info("b", TensorProto.FLOAT, [1, 2048])]
    outs = [helper.make_tensor_value_info("na", TensorProto.FLOAT, [1, 100000]),
            helper.make_tensor_value_info("nb", TensorProto.FLOAT, [1, 2048])]
    nodes = [helper.make_node("Neg", ["a"], ["na"], name="nega"), helper.make_node("Neg", ["b"], ["nb"], name="negb")]
    two = os.path.join(work, "two.onnx")
    onnx.save(helper.make_model(helper.make_graph(nodes, "two", ins, outs),
                                opset_imports=[helper.make_opsetid("", 13)]), two)
    d2 = os.path.join(work, "two_calib")
    os.makedirs(os.path.join(d2, "s0"))
    a = -np.ones((1, 100000), np.float32)
    a[0, 500] = 2048
    write_pb(os.path.join(d2, "s0", "input_0.pb"), a, "a")
    write_pb(os.path.join(d2, "s0", "input_1.pb"), np.arange(-1024, 1024, dtype=np.float32)[None], "b")
    return one, d1, two, d2


def known_answers(e, one, d1, two, d2):
    j, _ = calibrate(e, [one, "--calib", d1])
    acts = by_name(j)
    check(sorted(acts) == ["g", "r", "x", "y"], "one.onnx: calibrated %s" % sorted(acts))
    expect_range("minmax", acts["x"], -4, 3, 7 / 255, 18, {"min": -4, "max": 3, "threshold": 4})
    expect_range("minmax", acts["r"], 0, 3, 3 / 255, -128)
    expect_range("minmax", acts["y"], -7, 9.5, 16.5 / 255, -20)
    expect_range("minmax", acts["g"], -7, 9.5, 16.5 / 255, -20)
    check([a["count"] for a in j["activations"]] == [6, 12, 12, 6], "one.onnx: counts %s" % [a["count"] for a in j["activations"]])
    check(j["samples"] == 3, "one.onnx: %d samples (labels.txt is no sample)" % j["samples"])
    w = j["weights"]
    check(len(w) == 1 and w[0]["name"] == "W" and w[0]["axis"] == 1 and w[0]["nodes"] == ["mm", "gemm"],
          "one.onnx: weights %s" % [(x["name"], x["axis"], x["nodes"]) for x in w])
    if w:
        check(w[0]["absmax"] == [3, 4] and w[0]["scale_bits"] == [calib_ref.bits(f32(3 / 127)), calib_ref.bits(f32(4 / 127))],
              "one.onnx: W absmax %s scale %s, by hand [3, 4], [3/127, 4/127]" % (w[0]["absmax"], w[0]["scale"]))

    j, _ = calibrate(e, [two, "--calib", d2, "--calib-method", "percentile"])
    acts = by_name(j)
    expect_range("percentile", acts["a"], -1, 2, 3 / 255, -43, {"threshold": 2})
    expect_range("percentile", acts["na"], -2, 1, 3 / 255, 42, {"threshold": 2})
    expect_range("percentile", acts["b"], -1024, 1023, 2047 / 255, 0, {"threshold": 1024})
    j, _ = calibrate(e, [two, "--calib", d2, "--calib-method", "entropy"])
    expect_range("entropy", by_name(j)["b"], -1024, 1023, 2047 / 255, 0, {"threshold": 1024})
    j, _ = calibrate(e, [two, "--calib", d2])
    expect_range("minmax", by_name(j)["a"], -1, 2048, 2049 / 255, -128)
    check(j["calib_sha256"] == calib_ref.set_hash(d2, ["s0/input_0.pb", "s0/input_1.pb"], "minmax", 64),
          "two.onnx: calib_sha256 differs from hashlib's over s0/input_0.pb, s0/input_1.pb")
    # --freeze-input b=FILE: one input left, so the .pb files in a folder are its samples; b and
    # Neg(b) are constants now (folded), not activations.
    d3 = os.path.join(os.path.dirname(d2), "a_only")
    os.makedirs(d3)
    shutil.copy(os.path.join(d2, "s0", "input_0.pb"), os.path.join(d3, "a0.pb"))
    j, _ = calibrate(e, [two, "--calib", d3, "--freeze-input", "b=" + os.path.join(d2, "s0", "input_1.pb")])
    check(sorted(by_name(j)) == ["a", "na"] and j["samples"] == 1,
          "--freeze-input b: calibrated %s over %d samples, want a and na over 1" % (sorted(by_name(j)), j["samples"]))


def reproducible(e, root, work):
    model = os.path.join(root, "examples", "fashion", "fashion.onnx")
    calib = os.path.join(root, "examples", "fashion", "calib")
    for method in ("percentile", "entropy"):
        _, first = calibrate(e, [model, "--calib", calib, "--calib-method", method, "--calib-max", "12"])
        _, second = calibrate(e, [model, "--calib", calib, "--calib-method", method, "--calib-max", "12"])
        check(first == second, "%s: two runs differ" % method)
        # The same 12 files, created in reverse order (readdir then lists them differently on
        # most file systems), among later files that sort after them and must not be taken.
        d = os.path.join(work, "reordered_" + method)
        os.makedirs(d)
        names = sorted(f for f in os.listdir(calib) if f.endswith(".pb"))
        for f in reversed(names[:20]):
            shutil.copy(os.path.join(calib, f), os.path.join(d, f))
        _, third = calibrate(e, [model, "--calib", d, "--calib-method", method, "--calib-max", "12"])
        check(first == third, "%s: the same first 12 files created in another order give another output" % method)
        o = os.path.join(work, method + ".json")
        rc, out, err = run(e, ["calibrate", model, "--calib", calib, "--calib-method", method, "--calib-max", "12", "-o", o])
        with open(o) as f:
            check(rc == 0 and out == "" and f.read() == first, "%s: -o writes what stdout shows" % method)


def progress(e, root):
    model = os.path.join(root, "examples", "fashion", "fashion.onnx")
    calib = os.path.join(root, "examples", "fashion", "calib")
    rc, _, err = run(e, ["calibrate", model, "--calib", calib, "--calib-max", "20"])
    lines = [l for l in err.splitlines() if l.startswith("calibrating:")]
    check(rc == 0 and lines[-1:] == ["calibrating: 20/20 samples"] and len(lines) == 10,
          "progress off a terminal: one line per 10%%, got %r" % lines)
    # On a terminal: one line rewritten in place.
    rc, text = on_terminal([e, "calibrate", model, "--calib", calib, "--calib-max", "5"])
    check(rc == 0 and "\rcalibrating: 3/5 samples" in text and text.count("\n") == 1,
          "progress on a terminal: %r" % text)


def on_terminal(cmd):
    """Runs cmd with stderr on a pseudo-terminal: its exit status and what it wrote there."""
    master, slave = pty.openpty()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    buf = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        buf += chunk
    p.wait()
    os.close(master)
    return p.returncode, buf.decode()


def errors(e, work, one, d1, two, d2):
    def usage(args, what, needle):
        rc, out, err = run(e, ["calibrate"] + args)
        lines = err.strip().splitlines()
        check(rc == 2 and len(lines) == 1 and needle in err and lines[0].startswith("edgecc: error: "),
              "%s: want exit 2 and one line with %r, got %s %r" % (what, needle, rc, err))

    def bad_file(args, what, needle):
        rc, out, err = run(e, ["calibrate"] + args)
        # Progress lines may come before the error; the error is one line, the last.
        lines = [l for l in err.strip().splitlines() if not l.startswith("calibrating:")]
        check(rc == 1 and len(lines) == 1 and needle in lines[0],
              "%s: want exit 1 and one line naming %r, got %s %r" % (what, needle, rc, err))

    usage([one, "--calib", d1, "--calib-method", "kl"], "unknown method", "--calib-method kl")
    usage([one, "--calib", d1, "--calib-max", "0"], "--calib-max 0", "--calib-max 0")
    usage([one, "--calib", d1, "--calib-max", "-3"], "--calib-max -3", "--calib-max -3")
    usage([one, "--calib", d1, "--calib-max", "ten"], "--calib-max ten", "--calib-max ten")
    usage([one, "--calib", d1, "--calib-max"], "--calib-max without value", "--calib-max")
    usage([one], "no --calib", "--calib")
    usage([one, "--calib", os.path.join(work, "nowhere")], "missing DIR", "no such folder")
    usage([one, "--calib", os.path.join(d1, "s0.pb")], "DIR is a file", "not a folder")
    empty = os.path.join(work, "empty")
    os.makedirs(empty)
    with open(os.path.join(empty, "labels.txt"), "w") as f:
        f.write("0\n")
    usage([one, "--calib", empty], "DIR without .pb", "no .pb file")
    usage([two, "--calib", d1], "two inputs, no sample folder", "subfolder holding input_0.pb")
    usage([one, "--calib", d1, "--calib-mode", "x"], "unknown option", "--calib-mode")

    bad = os.path.join(work, "bad_shape")
    os.makedirs(bad)
    shutil.copy(os.path.join(d1, "s0.pb"), os.path.join(bad, "a.pb"))
    write_pb(os.path.join(bad, "b.pb"), np.zeros((1, 5), np.float32))
    bad_file([one, "--calib", bad], "shape", "b.pb: input 'x' is float32 [1,4], the file holds float32 [1,5]")
    bad = os.path.join(work, "bad_dtype")
    os.makedirs(bad)
    write_pb(os.path.join(bad, "a.pb"), np.zeros((1, 4), np.float64))
    bad_file([one, "--calib", bad], "dtype", "a.pb: input 'x' is float32 [1,4], the file holds float64 [1,4]")
    bad = os.path.join(work, "bad_proto")
    os.makedirs(bad)
    with open(os.path.join(bad, "a.pb"), "wb") as f:
        f.write(b"\xff\xff\xff\xff not a tensor")
    bad_file([one, "--calib", bad], "not a TensorProto", "a.pb")
    bad = os.path.join(work, "bad_nan")
    os.makedirs(bad)
    write_pb(os.path.join(bad, "a.pb"), np.array([[1, np.nan, 0, 0]], np.float32))
    bad_file([one, "--calib", bad], "NaN", "a.pb: tensor 'x' holds NaN")
    # After a good sample on a terminal, the error starts a line of its own.
    shutil.copy(os.path.join(d1, "s0.pb"), os.path.join(bad, "0.pb"))
    rc, text = on_terminal([e, "calibrate", one, "--calib", bad])
    check(rc == 1 and "calibrating: 1/2 samples\r\nedgecc: error: " in text,
          "an error after progress on a terminal: %r" % text)
    bad = os.path.join(work, "bad_folder")
    shutil.copytree(d2, bad)
    os.makedirs(os.path.join(bad, "s1"))
    shutil.copy(os.path.join(d2, "s0", "input_0.pb"), os.path.join(bad, "s1", "input_0.pb"))
    bad_file([two, "--calib", bad], "sample folder missing input_1.pb", "s1/input_1.pb: missing")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--edgecc", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    e = args.edgecc
    one, d1, two, d2 = make_models(args.work)
    known_answers(e, one, d1, two, d2)
    reproducible(e, args.root, args.work)
    progress(e, args.root)
    errors(e, args.work, one, d1, two, d2)
    rc, out, _ = run(e, ["calibrate", "--help"])
    check(rc == 0 and out.startswith("usage: edgecc calibrate"), "calibrate --help")
    if failures:
        print("calib_cli: %d failed, %d passed" % (len(failures), passed))
        return 1
    print("calib_cli: %d checks passed" % passed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
