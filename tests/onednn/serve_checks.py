#!/usr/bin/python3
"""serve_checks.py — what a generated --kernels onednn program holds and does while it serves,
read from /proc of the running server (docs/fast-kernels.md, "oneDNN").

  weights  one copy of the weights: a model of large fully connected layers (64 MiB of weights,
           every one read by oneDNN alone) must hold at most weights + arena + 32 MiB of
           anonymous memory once init is done (the driver releases the file's copy of what init
           reordered into oneDNN's memory; before, both copies stayed: about twice the weights).
           A file-mode run after the release must still equal numpy's result.
  peak     one copy at the peak too: a server of six 16 MiB fully connected layers, on oneDNN and
           on XNNPACK (--kernels xnnpack), holds at most weights + 32 MiB of anonymous memory after
           init, and its peak during init (VmHWM) is at most the largest weight + 24 MiB above its
           RSS after init: init releases each weight's pages once the create that copies it is
           done (<prog>_init_release). Before, the peak held the file and the copies: twice the
           weights. (Not wait4's ru_maxrss: Linux carries the forking Python's peak across exec.)
  threads  no worker beyond --threads and none spinning after a run: libgomp started with
           the short spin count of eck_dnnl.h (ECK_DNNL_SPINCOUNT, as OMP_DISPLAY_ENV=verbose shows);
           after one request at
           --threads 2, the threads of the server use no CPU (< 3 ms summed over 400 ms idle,
           from /proc/PID/task/*/schedstat); the server at 2 threads has at most 2 threads more
           than at 1 (one XNNPACK worker, one OpenMP worker). The probe proves itself: the same
           server started with OMP_WAIT_POLICY=active must be seen burning CPU (> 30 ms: a spinning worker
           got about 100 ms of the 400 on this shared machine at a load of 20).

usage: serve_checks.py weights|peak|threads --edgecc BUILD/edgecc --build-dir BUILD [--work DIR]
Exit status 0 pass, 1 fail."""
import argparse
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BUILD_HOOK = os.path.join(REPO, "tests", "codegen", "build_generated.sh")
MIB = 1 << 20


def fail(msg):
    print("FAILED: " + msg)
    sys.exit(1)


def save_input(path, name, x):
    with open(path, "wb") as f:
        f.write(numpy_helper.from_array(x, name).SerializeToString())


def compile_and_build(args, model, work, kernels="onednn"):
    out = os.path.join(work, "out_" + kernels)
    shutil.rmtree(out, ignore_errors=True)
    r = subprocess.run([args.edgecc, model, "--targets", "host", "--kernels", kernels, "-o", out],
                       capture_output=True, text=True)
    if r.returncode:
        fail("edgecc: " + r.stderr.strip())
    exe = os.path.join(work, "prog_" + kernels)
    r = subprocess.run(["sh", BUILD_HOOK, os.path.join(out, "host"), args.build_dir, exe],
                       capture_output=True, text=True)
    if r.returncode:
        fail("build: " + r.stderr.strip()[-2000:])
    return out, exe


class Server:
    """A generated program serving on a Unix socket, until stopped."""

    def __init__(self, exe, work, threads, env=None):
        self.sock = os.path.join(work, "s%d.sock" % os.getpid())
        if os.path.exists(self.sock):
            os.unlink(self.sock)
        self.endpoint = "unix://" + self.sock
        e = dict(os.environ)
        e.pop("OMP_WAIT_POLICY", None)
        e.update(env or {})
        self.p = subprocess.Popen([exe, "--listen", self.endpoint, "--threads", str(threads)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=e)
        for _ in range(600):
            if os.path.exists(self.sock) or self.p.poll() is not None:
                break
            time.sleep(0.05)
        if not os.path.exists(self.sock):
            self.stop()
            fail("the server did not start listening: " + self.p.stderr.read().decode()[-500:])

    def status(self, key):
        with open("/proc/%d/status" % self.p.pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
        fail("no %s in /proc/%d/status" % (key, self.p.pid))

    def tasks(self):
        return glob.glob("/proc/%d/task/*" % self.p.pid)

    def cpu_ns(self):
        """CPU time of every thread of the server so far (schedstat: ns on a CPU)."""
        total = 0
        for t in self.tasks():
            try:
                with open(os.path.join(t, "schedstat")) as f:
                    total += int(f.read().split()[0])
            except OSError:
                pass  # a thread that just ended
        return total

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        if os.path.exists(self.sock):
            os.unlink(self.sock)


def check_weights(args, work):
    rng = np.random.default_rng(16)
    k = 4096
    w = (rng.standard_normal([k, k]) / np.sqrt(k)).astype(np.float32)
    b = (rng.standard_normal([k]) * 0.1).astype(np.float32)
    nodes = [helper.make_node("Gemm", ["x", "w", "b"], ["y"], name="fc", transB=1)]
    g = helper.make_graph(nodes, "fc", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, k])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, k])],
                          [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
    model = os.path.join(work, "fc.onnx")
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), model)
    out, exe = compile_and_build(args, model, work)
    header = open(os.path.join(out, "host", "fc_p0.h")).read()
    if "FC_P0_WEIGHTS_KEEP_BYTES" not in header:
        fail("fc_p0.h does not say which bytes of the weights init copied (FC_P0_WEIGHTS_KEEP_BYTES)")
    weights = w.nbytes + b.nbytes
    # A run after the release: the weights oneDNN uses are its own copy, the rest still read.
    x = rng.standard_normal([1, k]).astype(np.float32)
    save_input(os.path.join(work, "x.pb"), "x", x)
    r = subprocess.run([exe, "--input", os.path.join(work, "x.pb"), "--output", os.path.join(work, "y.pb"),
                        "--threads", "1"], capture_output=True, text=True)
    if r.returncode:
        fail("run: " + r.stderr.strip())
    y = numpy_helper.to_array(onnx.load_tensor(os.path.join(work, "y.pb")))
    want = x.astype(np.float64) @ w.T.astype(np.float64) + b
    err = float(np.max(np.abs(y - want)) / np.max(np.abs(want)))
    print("output against numpy: %.2e of the largest value" % err)
    if err > 1e-4:
        fail("the output differs from numpy's by %.2e of its largest value" % err)
    s = Server(exe, work, 1)
    try:
        anon = s.status("RssAnon")
    finally:
        s.stop()
    bound = weights + 32 * MIB
    print("serving: %.1f MiB anonymous memory, weights %.1f MiB, bound %.1f MiB" %
          (anon / MIB, weights / MIB, bound / MIB))
    if anon > bound:
        fail("the server holds %.1f MiB of anonymous memory for %.1f MiB of weights: two copies?" %
             (anon / MIB, weights / MIB))


def check_peak(args, work):
    rng = np.random.default_rng(18)
    k, layers = 2048, 6
    ws = [numpy_helper.from_array((rng.standard_normal([k, k]) / np.sqrt(k)).astype(np.float32), "w%d" % i)
          for i in range(layers)]
    bs = [numpy_helper.from_array((rng.standard_normal([k]) * 0.1).astype(np.float32), "b%d" % i)
          for i in range(layers)]
    nodes, t = [], "x"
    for i in range(layers):
        nodes.append(helper.make_node("Gemm", [t, "w%d" % i, "b%d" % i], ["y%d" % i], name="fc%d" % i, transB=1))
        t = "y%d" % i
    g = helper.make_graph(nodes, "fcs", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, k])],
                          [helper.make_tensor_value_info(t, TensorProto.FLOAT, [1, k])], ws + bs)
    model = os.path.join(work, "fcs.onnx")
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), model)
    weights = sum(len(w.raw_data) for w in ws + bs)
    largest = k * k * 4
    # The largest weight is resident twice for a moment (its create copies it, then its pages go).
    bound = largest + 24 * MIB
    for kernels in ("onednn", "xnnpack"):
        out, exe = compile_and_build(args, model, work, kernels)
        header = open(os.path.join(out, "host", "fcs_p0.h")).read()
        if "fcs_p0_init_release" not in header:
            fail("%s: fcs_p0.h has no fcs_p0_init_release: init cannot give back what it copied" % kernels)
        # A server is past init once it listens: VmHWM (this program's own peak since its exec)
        # against VmRSS then, which holds one copy (the weights check bounds it).
        srv = Server(exe, work, 1)
        try:
            hwm, rss, anon = srv.status("VmHWM"), srv.status("VmRSS"), srv.status("RssAnon")
        finally:
            srv.stop()
        print("%s: peak RSS %.1f MiB, %.1f MiB after init (%.1f anonymous); weights %.1f MiB; peak over "
              "after-init %.1f MiB, bound %.1f MiB" % (kernels, hwm / MIB, rss / MIB, anon / MIB, weights / MIB,
                                                      (hwm - rss) / MIB, bound / MIB))
        if anon > weights + 32 * MIB:
            fail("%s: %.1f MiB of anonymous memory after init for %.1f MiB of weights: two copies?" %
                 (kernels, anon / MIB, weights / MIB))
        if hwm - rss > bound:
            fail("%s: the peak during init was %.1f MiB above the memory after it (%.1f MiB of weights): the "
                 "file's copy and the libraries' copies were resident together" %
                 (kernels, (hwm - rss) / MIB, weights / MIB))


def check_threads(args, work):
    rng = np.random.default_rng(17)
    c, hw = 64, 56
    ws = [numpy_helper.from_array((rng.standard_normal([c, c, 3, 3]) * 0.05).astype(np.float32), "w%d" % i)
          for i in range(3)]
    nodes, t = [], "x"
    for i in range(3):
        nodes.append(helper.make_node("Conv", [t, "w%d" % i], ["t%d" % i], name="conv%d" % i, pads=[1, 1, 1, 1]))
        t = "t%d" % i
    g = helper.make_graph(nodes, "convs", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, hw, hw])],
                          [helper.make_tensor_value_info(t, TensorProto.FLOAT, [1, c, hw, hw])], ws)
    model = os.path.join(work, "convs.onnx")
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), model)
    _, exe = compile_and_build(args, model, work)
    inp = os.path.join(work, "x.pb")
    save_input(inp, "x", rng.standard_normal([1, c, hw, hw]).astype(np.float32))
    client = os.path.join(os.path.dirname(os.path.abspath(args.edgecc)), "edgecc-client")

    def after_request(threads, env=None):
        """(threads of the server after one request, its CPU ns over 400 ms after it)."""
        s = Server(exe, work, threads, env)
        try:
            r = subprocess.run([client, s.endpoint, "--input", inp], capture_output=True, text=True)
            if r.returncode:
                fail("edgecc-client: " + (r.stderr or r.stdout).strip())
            time.sleep(0.05)  # the reply is out: the run is over
            c0 = s.cpu_ns()
            time.sleep(0.4)
            return len(s.tasks()), s.cpu_ns() - c0
        finally:
            s.stop()

    # libgomp reads its spin count before main: the program must re-execute itself with the
    # short one of eck_dnnl.h, which libgomp then shows (the last of its displays).
    want = re.search(r'#define ECK_DNNL_SPINCOUNT "(\d+)"',
                     open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "kernels", "onednn", "eck_dnnl.h")).read()).group(1)
    e = dict(os.environ, OMP_DISPLAY_ENV="verbose")
    e.pop("OMP_WAIT_POLICY", None)
    r = subprocess.run([exe, "--input", inp, "--threads", "2"], capture_output=True, text=True, env=e)
    spins = [line.split("=")[1].strip().strip("'") for line in r.stderr.splitlines() if "GOMP_SPINCOUNT" in line]
    print("libgomp's spin counts as the program started: %s" % ", ".join(spins))
    if r.returncode or not spins or spins[-1] != want:
        fail("OpenMP runs the steps with spin count %s, not %s: the short spin count did not reach libgomp"
             % (spins[-1] if spins else "(none shown)", want))
    n1, _ = after_request(1)
    n2, idle = after_request(2)
    _, spin = after_request(2, {"OMP_WAIT_POLICY": "active"})
    print("threads of the server after a request: %d at --threads 1, %d at --threads 2" % (n1, n2))
    print("CPU over 400 ms after a request at --threads 2: %.2f ms (OMP_WAIT_POLICY=active: %.1f ms)" %
          (idle / 1e6, spin / 1e6))
    if spin < 30e6:
        fail("with OMP_WAIT_POLICY=active the probe saw only %.1f ms of CPU: it cannot see spinning" % (spin / 1e6))
    if n2 - n1 > 2:
        fail("--threads 2 runs %d threads more than --threads 1 (at most one XNNPACK and one OpenMP worker)" %
             (n2 - n1))
    if idle > 3e6:
        fail("the server used %.2f ms of CPU in 400 ms after its run: workers spin" % (idle / 1e6))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("check", choices=["weights", "peak", "threads"])
    ap.add_argument("--edgecc", required=True)
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--work", default=None)
    args = ap.parse_args()
    work = os.path.abspath(args.work or "serve-checks-" + args.check)
    os.makedirs(work, exist_ok=True)
    {"weights": check_weights, "peak": check_peak, "threads": check_threads}[args.check](args, work)
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
