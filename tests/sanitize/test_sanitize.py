#!/usr/bin/python3
"""test_sanitize.py — generated programs under AddressSanitizer, UndefinedBehaviorSanitizer and
LeakSanitizer: the device folder built by its own CMakeLists.txt with
CMAKE_C_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all", outputs still compared
with torch, and any sanitizer report (a memory error, undefined behaviour, a leak at exit) fails.

usage: test_sanitize.py program MODEL --kernels ref|xnnpack  COMMON
       test_sanitize.py chain MODEL --parts N --transport unix|tcp  COMMON
       test_sanitize.py init-errors --xnn-fail LIB  COMMON
COMMON: --edgecc PATH --client PATH --src DIR --cache DIR --work DIR

program: the zoo model (exported into the zoo cache by tests/models/export_zoo.py, as the zoo
  tests do) compiled for host; its program run on the torch input (max |got - torch| <= 1e-4 of
  max |torch|); then reinit.c (tests/sanitize/) on the same partition: init -> run -> release
  twice in one process and two contexts at once give identical outputs, and release leaves no
  worker thread; LeakSanitizer checks each process at exit.
chain: the model split into N partitions over a=host,b=host[,c=host], each folder built with the
  sanitizers, served as separate processes over unix sockets or tcp and chained with --next;
  edgecc-client's output is compared with torch; then SIGTERM: every server exits 0 with no
  report (the driver releases the partition after serving).
init-errors: the digits example (fast kernels) with tests/sanitize/xnn_fail.c preloaded, making
  xnn_initialize, a create or a setup call fail: the program prints one line naming the step, the
  call and its xnn_status, exits 1, and leaks nothing of what init had made before the failure.
The work folder is removed when the test passes. Exit 0 pass, 1 fail.
"""

import argparse
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys

import numpy as np
import onnx
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "models"))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "distributed"))
from listening import wait_listening  # noqa: E402
from zoo_inspect import export  # noqa: E402

SAN_FLAGS = "-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
# Reports make the process exit non-zero; the text is checked too, so that no report passes.
SAN_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:halt_on_error=1:exitcode=23",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
    "LSAN_OPTIONS": "exitcode=23",
}
REPORT = re.compile(r"Sanitizer|runtime error:")
A = None
PROCS = []


def fail(msg):
    raise SystemExit("FAILED: " + msg)


def run(argv, ok=True, env=None, timeout=900):
    p = subprocess.run([str(a) for a in argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       env=env, timeout=timeout)
    if ok and p.returncode != 0:
        fail("%s\nexit %d\n%s%s" % (" ".join(map(str, argv)), p.returncode, p.stdout[-3000:], p.stderr[-6000:]))
    return p


def san_env(extra=None):
    env = dict(os.environ, **SAN_ENV)
    env.update(extra or {})
    return env


def clean(p, what):
    """A sanitized process: exit 0 and no report on stderr."""
    if p.returncode != 0 or REPORT.search(p.stderr):
        fail("%s: exit %d under the sanitizers\n%s" % (what, p.returncode, p.stderr[-8000:]))


def build_sanitized(dev, b):
    """The device folder's own CMake build with the sanitizer flags (compile and link)."""
    run(["cmake", "-S", dev, "-B", b, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
         "-DCMAKE_C_FLAGS=" + SAN_FLAGS])
    run(["cmake", "--build", b, "-j", "2"], timeout=1800)


def build_reinit(dev, b, prog, k):
    """reinit.c linked with main_p<k>.c (its driver call renamed) and the partition and runtime
    objects of the sanitized build, with the libraries that build found."""
    objs = glob.glob(os.path.join(b, "**", prog + ".c.o"), recursive=True)
    runtime = glob.glob(os.path.join(b, "**", "lib*_runtime.a"), recursive=True)
    if len(objs) != 1 or len(runtime) != 1:
        fail("cannot find %s.c.o and the runtime library in %s" % (prog, b))
    libs = []
    with open(os.path.join(b, "CMakeCache.txt")) as f:
        for line in f:
            m = re.match(r"EC_LIB\d+:FILEPATH=(.+)$", line.strip())
            if m:
                libs.append(m.group(1))
    exe = os.path.join(b, "reinit")
    run(["cc", "-std=c99", "-O1", "-g"] + SAN_FLAGS.split() +
        ["-Decrt_driver_main=reinit_main", "-Decrt_driver_main_plan=reinit_main_plan",
         "-I", dev, "-I", os.path.join(dev, "runtime"), "-I", os.path.join(dev, "kernels", "ref"),
         os.path.join(dev, "main_p%d.c" % k), os.path.join(HERE, "reinit.c"), objs[0], runtime[0]] +
        libs + ["-pthread", "-lm", "-lrt", "-o", exe])
    return exe


def load(path):
    return numpy_helper.to_array(onnx.load_tensor(path))


def near_torch(got_pb, model, what):
    got = load(got_pb)
    exp = load(os.path.join(A.cache, model + "_output_0.pb"))
    if got.shape != exp.shape:
        fail("%s: output shape %s, torch %s" % (what, got.shape, exp.shape))
    scale = float(np.abs(exp).max())
    err = float(np.abs(got.astype(np.float64) - exp).max())
    if not err <= 1e-4 * scale:
        fail("%s: max error %.3g is more than 1e-4 of the largest output %.3g" % (what, err, scale))
    return err, scale


# ---- one program ------------------------------------------------------------------------------

def t_program(model, kernels):
    onnx_path = export(model, A.cache)
    inp = os.path.join(A.cache, model + "_input_0.pb")
    out = os.path.join(A.work, "out")
    run([A.edgecc, onnx_path, "--targets", "host", "--kernels", kernels, "-o", out, "--name", "model"])
    dev, b = os.path.join(out, "host"), os.path.join(A.work, "build")
    build_sanitized(dev, b)
    got = os.path.join(A.work, "got.pb")
    p = run([os.path.join(b, "model_p0"), "--input", inp, "--output", got, "--bench", "2"], ok=False, env=san_env())
    clean(p, "model_p0 --input --bench 2")
    err, scale = near_torch(got, model, "model_p0")
    exe = build_reinit(dev, b, "model_p0", 0)
    again = os.path.join(A.work, "reinit.pb")
    p = run([exe, os.path.join(dev, "model_p0.bin"), again, inp], ok=False, env=san_env())
    clean(p, "reinit (init, run, release twice; two contexts)")
    near_torch(again, model, "reinit")
    print("%s --kernels %s under ASan/UBSan/LSan: max error %.2e of %.3g, no report; %s"
          % (model, kernels, err, scale, p.stdout.strip()))


# ---- a served chain ---------------------------------------------------------------------------

def serve(exe, endpoint, log, *extra):
    p = subprocess.Popen([exe, "--listen", endpoint, *extra], stdout=subprocess.PIPE,
                         stderr=open(log, "w"), text=True, env=san_env())
    PROCS.append(p)
    bound = wait_listening(p, 60)
    if not bound:
        fail("%s did not start listening on %s\n%s" % (exe, endpoint, open(log).read()[-6000:]))
    return p, bound


def t_chain(model, parts, transport):
    onnx_path = export(model, A.cache)
    inp = os.path.join(A.cache, model + "_input_0.pb")
    split = os.path.join(A.work, "split")
    devices = ",".join("%s=host" % "abc"[i] for i in range(parts))
    run([A.edgecc, onnx_path, "--targets", devices, "--partitions", str(parts), "-o", split, "--name", "model"])
    plan = json.load(open(os.path.join(split, "plan.json")))
    if len(plan["partitions"]) != parts:
        fail("%d partitions, asked for %d" % (len(plan["partitions"]), parts))
    nxt, servers = None, []
    for k in reversed(range(parts)):
        part = plan["partitions"][k]
        b = os.path.join(A.work, "b-" + part["device"])
        build_sanitized(os.path.join(split, part["device"]), b)
        ep = "tcp://127.0.0.1:0" if transport == "tcp" else "unix://" + os.path.join(A.work, "p%d.sock" % k)
        log = os.path.join(A.work, "server-p%d.log" % k)
        extra = ["--plan-id", plan["plan_id"], "--timeout", "60000"] + (["--next", nxt] if nxt else [])
        p, nxt = serve(os.path.join(b, part["program"]), ep, log, *extra)
        servers.append((p, log, part["program"]))
    got = os.path.join(A.work, "got.pb")
    run([A.client, nxt, "--input", inp, "--output", got, "--timeout", "120000"])
    err, scale = near_torch(got, model, "%d served partitions" % parts)
    load_out = run([A.client, nxt, "--input", inp, "--requests", "6", "--rate", "0", "--timeout", "120000"]).stdout
    for p, log, prog in reversed(servers):  # the first partition first, as an operator would stop them
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(120)
        except subprocess.TimeoutExpired:
            fail("%s did not stop within 120 s of SIGTERM" % prog)
        p.stderr = open(log).read()
        clean(p, "%s served over %s, stopped by SIGTERM" % (prog, transport))
        if "stopped" not in p.stderr:
            fail("%s did not log that it stopped:\n%s" % (prog, p.stderr[-3000:]))
    print("%s in %d partitions over %s under ASan/UBSan/LSan: max error %.2e of %.3g; %s; every server "
          "exited 0 after SIGTERM with no report" % (model, parts, transport, err, scale, load_out.strip().splitlines()[-1]))


# ---- init errors ------------------------------------------------------------------------------

INIT_CASES = [
    # EC_XNN_FAIL, the line the program must print
    ("xnn_initialize", "digits_p0: error: init: xnn_initialize failed (xnn_status_out_of_memory)"),
    ("xnn_create_convolution2d_nhwc_f32",
     "digits_p0: error: init: node '/conv1/Conv' (Conv): xnn_create_convolution2d_nhwc_f32 failed "
     "(xnn_status_invalid_parameter)"),
    # The second convolution: the first and a pooling operator exist and must be released.
    ("xnn_create_convolution2d_nhwc_f32:2",
     "digits_p0: error: init: node '/conv2/Conv' (Conv): xnn_create_convolution2d_nhwc_f32 failed "
     "(xnn_status_invalid_parameter)"),
    # conv1 reads the caller's input, so it is set up at run time: the first setup at init is conv2's.
    ("xnn_setup_convolution2d_nhwc_f32",
     "digits_p0: error: init: node '/conv2/Conv' (Conv): xnn_setup_convolution2d_nhwc_f32 failed "
     "(xnn_status_unsupported_parameter)"),
]


def t_init_errors():
    src = os.path.join(A.src, "examples", "digits")
    inp = os.path.join(src, "samples", "input_0.pb")
    out = os.path.join(A.work, "out")
    run([A.edgecc, os.path.join(src, "digits.onnx"), "--targets", "host", "--kernels", "xnnpack", "-o", out])
    b = os.path.join(A.work, "build")
    build_sanitized(os.path.join(out, "host"), b)
    exe = os.path.join(b, "digits_p0")
    # The shim is not instrumented: ASan must not insist on coming first in the library list.
    pre = {"LD_PRELOAD": A.xnn_fail,
           "ASAN_OPTIONS": SAN_ENV["ASAN_OPTIONS"] + ":verify_asan_link_order=0"}
    p = run([exe, "--input", inp, "--output", os.path.join(A.work, "ok.pb")], ok=False, env=san_env(pre))
    clean(p, "digits_p0 with the shim preloaded and nothing failing")
    for fails, want in INIT_CASES:
        for mode in (["--input", inp], ["--listen", "unix://" + os.path.join(A.work, "never.sock")]):
            p = run([exe] + mode, ok=False, env=san_env(dict(pre, EC_XNN_FAIL=fails)), timeout=120)
            lines = p.stderr.strip().splitlines()
            if p.returncode != 1 or lines != [want]:
                fail("EC_XNN_FAIL=%s %s: exit %d, stderr:\n%s\nwanted exit 1 and exactly:\n%s"
                     % (fails, mode[0], p.returncode, p.stderr[-6000:], want))
        print("EC_XNN_FAIL=%s: %s" % (fails, want))
    # The weights check keeps its own message.
    bad = os.path.join(A.work, "bad.bin")
    data = bytearray(open(os.path.join(b, "digits_p0.bin"), "rb").read())
    data[-1] ^= 1
    open(bad, "wb").write(data)
    p = run([exe, "--input", inp, "--weights", bad], ok=False, env=san_env())
    want = "digits_p0: error: %s: bad weights (not the weights this program was compiled with, or a damaged file)" % bad
    if p.returncode != 1 or p.stderr.strip().splitlines() != [want]:
        fail("damaged weights: exit %d, stderr:\n%s\nwanted exactly:\n%s" % (p.returncode, p.stderr, want))
    print("damaged weights: %s" % want)


def main():
    global A
    ap = argparse.ArgumentParser()
    ap.add_argument("test", choices=["program", "chain", "init-errors"])
    ap.add_argument("model", nargs="?")
    ap.add_argument("--kernels", choices=["ref", "xnnpack"], default="xnnpack")
    ap.add_argument("--parts", type=int, default=2)
    ap.add_argument("--transport", choices=["unix", "tcp"], default="unix")
    ap.add_argument("--xnn-fail")
    ap.add_argument("--edgecc", required=True)
    ap.add_argument("--client", required=True)
    ap.add_argument("--src", required=True)
    ap.add_argument("--cache", required=True)
    ap.add_argument("--work", required=True)
    A = ap.parse_args()
    if A.test != "init-errors" and not A.model:
        ap.error("%s needs a MODEL" % A.test)
    if A.test == "init-errors" and not A.xnn_fail:
        ap.error("init-errors needs --xnn-fail LIB")
    shutil.rmtree(A.work, ignore_errors=True)
    os.makedirs(A.work)
    try:
        if A.test == "program":
            t_program(A.model, A.kernels)
        elif A.test == "chain":
            t_chain(A.model, A.parts, A.transport)
        else:
            t_init_errors()
    finally:
        for p in PROCS:
            if p.poll() is None:
                p.kill()
                p.wait()
    shutil.rmtree(A.work, ignore_errors=True)


if __name__ == "__main__":
    main()
