#!/usr/bin/python3
"""int8_cross.py — the int8 Fashion-MNIST program built for a board gives the host's outputs.

`edgecc examples/fashion/fashion.onnx --calib examples/fashion/calib --calib-max 64` (every
candidate int8, XNNPACK's qc8/qs8 operators) for `--targets host --kernels xnnpack` (x86-64's
default order would take oneDNN's int8 convolutions) and `--targets DEVICE`; each
folder built by its own CMakeLists (the device's toolchain.cmake and the aarch64 sysroot), dist/
copied elsewhere as onto a board, the 8 samples of examples/fashion/samples run on the host and
under qemu-aarch64 with the board's CPU (QEMU_CPU from `edgecc targets DEVICE`, cortex-a76 for
pi5: a wrong -mcpu is a SIGILL here). Every output must be within the conformance tolerance of the
host's (tests/cross/compare_pb.py) with the same class; the script says whether they are
bit-identical (XNNPACK's aarch64 int8 kernels requantize as its x86 ones do, so they should be).

usage: int8_cross.py --edgecc PATH --src DIR --sysroot DIR --work DIR [--device pi5]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
from onnx import numpy_helper

N_SAMPLES = 8


def fail(msg):
    sys.exit("FAILED: " + msg)


def run(cmd, env=None, timeout=1800):
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=env, timeout=timeout)
    if p.returncode != 0:
        fail("%s exited %d:\n%s%s" % (" ".join(map(str, cmd)), p.returncode, p.stdout[-3000:], p.stderr[-3000:]))
    return p


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for a in ("--edgecc", "--src", "--sysroot", "--work"):
        ap.add_argument(a, required=True)
    ap.add_argument("--device", default="pi5")
    args = ap.parse_args()
    qemu, gcc = shutil.which("qemu-aarch64"), shutil.which("aarch64-linux-gnu-gcc")
    if not qemu or not gcc:
        fail("needs qemu-aarch64 (qemu-user) and aarch64-linux-gnu-gcc (scripts/packages.txt)")
    if not os.path.isdir(os.path.join(args.sysroot, "usr")):
        fail("no aarch64 sysroot at %s (the cross.sysroot fixture makes it)" % args.sysroot)
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    env = dict(os.environ, EDGECC_CACHE_DIR=os.path.join(args.work, "cache"))
    env.pop("LD_LIBRARY_PATH", None)
    ex = os.path.join(args.src, "examples", "fashion")
    samples = [os.path.join(ex, "samples", "input_%d.pb" % k) for k in range(N_SAMPLES)]
    libc = os.path.realpath(run([gcc, "-print-file-name=libc.so.6"]).stdout.strip())
    prefix = os.path.dirname(os.path.dirname(libc))
    outs = {}
    for dev in ("host", args.device):
        out = os.path.join(args.work, "out-" + dev)
        # The host with --kernels xnnpack: x86-64's default order runs int8 convolutions on oneDNN,
        # and this test compares XNNPACK's int8 kernels across the two architectures.
        kflags = ["--kernels", "xnnpack"] if dev == "host" else []
        run([args.edgecc, os.path.join(ex, "fashion.onnx"), "--targets", dev, "-o", out,
             "--calib", os.path.join(ex, "calib"), "--calib-max", "64"] + kflags, env=env)
        plan = json.load(open(os.path.join(out, "plan.json")))
        prog = plan["partitions"][0]["program"]
        folder = os.path.join(out, dev)
        src = open(os.path.join(folder, prog + ".c")).read()
        if "ECK_XNN_QCONV" not in src:
            fail("%s: the int8 program runs no XNNPACK int8 convolution" % dev)
        build = os.path.join(args.work, "b-" + dev)
        cfg = ["cmake", "-S", folder, "-B", build]
        if dev != "host":
            cfg += ["--toolchain", os.path.join(folder, "toolchain.cmake"), "-DEC_SYSROOT=" + args.sysroot]
        run(cfg, env=env)
        run(["cmake", "--build", build, "-j", "2"], env=env)
        board = os.path.join(args.work, "board-" + dev)
        shutil.copytree(os.path.join(build, "dist"), board)
        shutil.rmtree(build)
        cmd, denv = [os.path.join(board, prog)], dict(env)
        if dev != "host":
            cpu = json.loads(run([args.edgecc, "targets", dev]).stdout)["qemu_cpu"]
            cmd = [qemu, "-L", prefix] + cmd
            denv["QEMU_CPU"] = cpu
            print("%s: QEMU_CPU=%s" % (dev, cpu))
        outs[dev] = []
        for k, s in enumerate(samples):
            o = os.path.join(args.work, "%s-%d.pb" % (dev, k))
            run(cmd + ["--input", s, "--output", o], env=denv)
            outs[dev].append(o)
    identical = 0
    for k in range(N_SAMPLES):
        h, b = outs["host"][k], outs[args.device][k]
        run([sys.executable, os.path.join(args.src, "tests/cross/compare_pb.py"), h, b])
        hv, bv = (numpy_helper.to_array(onnx.load_tensor(p)) for p in (h, b))
        if int(np.argmax(hv)) != int(np.argmax(bv)):
            fail("sample %d: class %d on %s, %d on the host" % (k, int(np.argmax(bv)), args.device, int(np.argmax(hv))))
        identical += open(h, "rb").read() == open(b, "rb").read()
    print("int8 fashion on %s under qemu: %d samples, %d bit-identical to the host's, all within the conformance "
          "tolerance with the same class" % (args.device, N_SAMPLES, identical))
    shutil.rmtree(args.work, ignore_errors=True)


if __name__ == "__main__":
    main()
