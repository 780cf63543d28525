#!/usr/bin/python3
"""cross_conformance.py — named ONNX node tests compiled for an aarch64 device and for the host,
built against runtime and kernel libraries compiled ONCE per target, run (the device's under
qemu-aarch64 with the board's CPU, from a dist/-like folder), outputs compared.

Usage: /usr/bin/python3 tests/cross/cross_conformance.py --edgecc EDGECC --device pi5 \
           --tests tests/cross/conformance_tests.txt --work DIR [-j 2] [--keep]

Per test: inputs that feed shape operands are frozen from test_data_set_0 (as the conformance
runner does); `edgecc MODEL --targets DEVICE` and `--targets host` write C; the union of the
runtime/ and kernels/ files the generated folders carry is compiled once per target into
libec.a (-std=c99 and the target's cflags); each program is its two generated files linked with
libec.a and -lm only (so `--kernels ref` needs nothing but libc and libm: readelf checks that).
Outputs: device vs host and host vs the test's expected, both by the conformance rule
|got - exp| <= 1e-7 + 1e-3 |exp| (exact for integers). Passing tests' folders are deleted.
"""

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import time

import numpy as np
import onnx
from onnx import numpy_helper

DATA = "/usr/share/libonnx-testdata/data/node"
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_dir(name):
    """A node test's folder: a name of Debian's suite, or a path in the repository laid out as one
    (examples/control/test_control)."""
    return os.path.join(REPO, name) if "/" in name else os.path.join(DATA, name)
RTOL, ATOL = 1e-3, 1e-7


def run(cmd, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    if p.returncode != 0:
        raise RuntimeError("failed (%d): %s\n%s%s" % (p.returncode, " ".join(cmd), p.stdout, p.stderr))
    return p.stdout


def close(got, exp):
    if got.dtype != exp.dtype or got.shape != exp.shape:
        return "dtype/shape %s%s vs %s%s" % (got.dtype, got.shape, exp.dtype, exp.shape)
    if got.dtype.kind in "fc":
        g, e = got.astype(np.complex128 if got.dtype.kind == "c" else np.float64), exp.astype(
            np.complex128 if exp.dtype.kind == "c" else np.float64)
        nan = np.isnan(g) & np.isnan(e)
        bad = ~nan & ~(np.abs(g - e) <= ATOL + RTOL * np.abs(e))
        if bad.any():
            return "max |diff| %g" % np.nanmax(np.abs(g - e))
        return None
    return None if np.array_equal(got, exp) else "integers differ"


def only_libc_libm(exe, readelf):
    out = run([readelf, "-d", "--wide", exe])
    needed = re.findall(r"\(NEEDED\)[^\[]*\[([^\]]+)\]", out)
    extra = [n for n in needed if n not in ("libc.so.6", "libm.so.6")]
    if extra:
        raise RuntimeError("%s needs more than libc and libm: %s" % (exe, extra))


class Target:
    def __init__(self, name, desc, cc, runner, env, readelf):
        self.name, self.desc, self.cc, self.runner, self.env, self.readelf = name, desc, cc, runner, env, readelf
        self.cflags = desc["cflags"]
        self.lib = None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--edgecc", required=True)
    ap.add_argument("--device", default="pi5")
    ap.add_argument("--tests", required=True, help="file: one node test name per line")
    ap.add_argument("--work", required=True)
    ap.add_argument("-j", "--jobs", type=int, default=2)
    ap.add_argument("--keep", action="store_true", help="keep the folders of passing tests")
    a = ap.parse_args()
    t0 = time.time()
    names = [l.split("#")[0].strip() for l in open(a.tests)]
    names = [n for n in names if n]

    def wdir(name):  # a test's work folder (a repository path's slashes made flat)
        return os.path.join(a.work, name.replace("/", "_"))
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)

    desc = json.loads(run([a.edgecc, "targets", a.device]))
    host_desc = json.loads(run([a.edgecc, "targets", "host"]))
    triple = desc["triple"]
    libc = os.path.realpath(run(["%s-gcc" % triple, "-print-file-name=libc.so.6"]).strip())
    prefix = os.path.dirname(os.path.dirname(libc))
    env = dict(os.environ, QEMU_CPU=desc.get("qemu_cpu", ""))
    env.pop("LD_LIBRARY_PATH", None)
    targets = [Target("host", host_desc, "cc", [], None, "readelf"),
               Target(a.device, desc, "%s-gcc" % triple, ["qemu-%s" % triple.split("-")[0], "-L", prefix], env,
                      "%s-readelf" % triple)]

    # 1. C for each test and target.
    def generate(name):
        cname = "t%03d" % names.index(name)  # C names are capped at 40 characters
        tdir = test_dir(name)
        model = onnx.load(os.path.join(tdir, "model.onnx"), load_external_data=False)
        inits = {i.name for i in model.graph.initializer}
        gin = [i.name for i in model.graph.input if i.name not in inits]
        shape_in = run([a.edgecc, "inspect", os.path.join(tdir, "model.onnx"), "--shape-inputs"]).split()
        ds = os.path.join(tdir, "test_data_set_0")
        freeze, ins = [], []
        for k, n in enumerate(gin):
            f = os.path.join(ds, "input_%d.pb" % k)
            if n in shape_in:
                freeze += ["--freeze-input", "%s=%s" % (n, f)]
            else:
                ins.append(f)
        outs = sorted(f for f in os.listdir(ds) if f.startswith("output_"))
        for t in targets:
            run([a.edgecc, os.path.join(tdir, "model.onnx"), "--targets", t.name, "--kernels", "ref", "--name", cname, "-o",
                 os.path.join(wdir(name), t.name)] + freeze)
        return name, cname, ins, [os.path.join(ds, o) for o in outs]

    with concurrent.futures.ThreadPoolExecutor(a.jobs) as pool:
        cases = list(pool.map(generate, names))
    t_gen = time.time()

    # 2. One library per target from the union of the copied runtime and kernel sources.
    union = os.path.join(a.work, "union")
    for name in names:
        for t in targets:
            src = os.path.join(wdir(name), t.name, t.name)
            for sub in ("runtime", "kernels"):
                if os.path.isdir(os.path.join(src, sub)):
                    shutil.copytree(os.path.join(src, sub), os.path.join(union, sub), dirs_exist_ok=True)
    csrcs = sorted(os.path.join(r, f) for r, _, fs in os.walk(union) for f in fs if f.endswith(".c"))
    incs = sorted({os.path.dirname(os.path.join(r, f)) for r, _, fs in os.walk(union) for f in fs if f.endswith(".h")})
    for t in targets:
        obj_dir = os.path.join(a.work, "obj-" + t.name)
        os.makedirs(obj_dir)

        def compile_one(c, t=t, obj_dir=obj_dir):
            o = os.path.join(obj_dir, os.path.relpath(c, union).replace("/", "_") + ".o")
            run([t.cc, "-std=c99", "-DNDEBUG"] + t.cflags + ["-I" + i for i in incs] + ["-c", c, "-o", o])
            return o

        with concurrent.futures.ThreadPoolExecutor(a.jobs) as pool:
            objs = list(pool.map(compile_one, csrcs))
        t.lib = os.path.join(a.work, "libec-%s.a" % t.name)
        run(["%s-ar" % triple if t.name != "host" else "ar", "rcs", t.lib] + objs)
    t_lib = time.time()
    print("generated %d tests x 2 targets in %.1f s; libraries (%d sources) in %.1f s" %
          (len(names), t_gen - t0, len(csrcs), t_lib - t_gen))

    # 3. Build, run, compare.
    def check(case):
        name, cname, ins, outs = case
        got = {}
        for t in targets:
            src = os.path.join(wdir(name), t.name, t.name)
            dist = os.path.join(wdir(name), "dist-" + t.name)
            os.makedirs(dist)
            prog = "%s_p0" % cname
            exe = os.path.join(dist, prog)
            run([t.cc, "-std=c99", "-DNDEBUG"] + t.cflags + ["-I" + src] + ["-I" + i for i in incs] +
                [os.path.join(src, "main_p0.c"), os.path.join(src, prog + ".c"), t.lib, "-lm", "-o", exe])
            only_libc_libm(exe, t.readelf)
            shutil.copy(os.path.join(src, prog + ".bin"), dist)
            res = [os.path.join(wdir(name), "%s_out_%d.pb" % (t.name, k)) for k in range(len(outs))]
            run(t.runner + [exe] + (["--input"] + ins if ins else []) + ["--output"] + res, env=t.env)
            got[t.name] = [numpy_helper.to_array(onnx.load_tensor(r)) for r in res]
        for k, o in enumerate(outs):
            exp = numpy_helper.to_array(onnx.load_tensor(o))
            why = close(got["host"][k], exp)
            if why:
                return name, "host vs expected, output %d: %s" % (k, why)
            why = close(got[a.device][k], got["host"][k])
            if why:
                return name, "%s vs host, output %d: %s" % (a.device, k, why)
        if not a.keep:
            shutil.rmtree(wdir(name))
        return name, None

    failed = []
    with concurrent.futures.ThreadPoolExecutor(a.jobs) as pool:
        futs = [pool.submit(check, c) for c in cases]
        for f in futs:
            try:
                name, why = f.result()
            except RuntimeError as e:
                name, why = "?", str(e)
            if why:
                failed.append((name, why))
    t_end = time.time()
    print("%d/%d tests: %s (QEMU_CPU=%s, cflags %s) outputs match the host within the conformance tolerance; "
          "build+run %.1f s, total %.1f s" % (len(names) - len(failed), len(names), a.device, desc.get("qemu_cpu"),
                                             " ".join(desc["cflags"]), t_end - t_lib, t_end - t0))
    for name, why in failed:
        print("FAIL %s: %s" % (name, why))
    if not failed and not a.keep:
        shutil.rmtree(a.work)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
