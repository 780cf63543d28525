#!/usr/bin/python3
"""idle_threads.py — a served clustered program's threads use no CPU between requests (issue 13:
no worker spins after a run).

usage: idle_threads.py --edgecc E --client C --build-dir DIR --src DIR --work DIR

Writes a small CNN with four independent branches (python3-onnx, seeded weights), compiles it with
`--parallel inter --threads 2` (plan.json must show 2 clusters, else the test fails: it would not
exercise cluster threads), builds it against the main build's runtime, and serves it with
--threads 3: the caller's cluster, one cluster worker and, since x86-64's default order runs the
convolutions on oneDNN, the OpenMP workers of the teams the plan gives its oneDNN steps (the
stem and the head on all 3 threads; the shared kernel pool gets no worker of its own then). Two requests through edgecc-client, each answered with the file run's output bit for
bit; after each, 0.3 s for the bounded spins to end, then every thread's CPU time is read twice,
1 s apart, from /proc/PID/task/*/schedstat (nanoseconds on the CPU; stat's user and system ticks
are each rounded down, so a thread that did not run can gain a tick): no thread may gain 20 ms (a
thread spinning through that second gains hundreds, and tens even with a small share of a loaded
core; the serving threads' 100 ms timed waits cost microseconds). The process must have at least
3 threads, or the check would prove nothing.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "distributed"))
from listening import stop_server, wait_listening  # noqa: E402


def run(argv):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=600)
    if p.returncode != 0:
        raise SystemExit("FAILED: %s\nexit %d\n%s%s" % (" ".join(argv), p.returncode, p.stdout[-2000:], p.stderr[-3000:]))
    return p


def branchy_model(path):
    """stem conv, four branches of two 3x3 convs each, concat, 1x1 conv: Inception's shape."""
    rng = np.random.default_rng(13)
    inits, nodes = [], []

    def conv(name, x, cin, cout, k):
        w = (rng.standard_normal((cout, cin, k, k)) / np.sqrt(cin * k * k)).astype(np.float32)
        b = (rng.standard_normal(cout) * 0.1).astype(np.float32)
        inits.extend([numpy_helper.from_array(w, name + "_w"), numpy_helper.from_array(b, name + "_b")])
        nodes.append(helper.make_node("Conv", [x, name + "_w", name + "_b"], [name + "_y"], name=name,
                                      pads=[k // 2] * 4))
        nodes.append(helper.make_node("Relu", [name + "_y"], [name + "_r"], name=name + "_relu"))
        return name + "_r"

    stem = conv("stem", "x", 16, 48, 3)
    outs = [conv("b%d_2" % i, conv("b%d_1" % i, stem, 48, 48, 3), 48, 48, 3) for i in range(4)]
    nodes.append(helper.make_node("Concat", outs, ["cat"], name="cat", axis=1))
    head = conv("head", "cat", 192, 32, 1)
    g = helper.make_graph(nodes, "branchy", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16, 40, 40])],
                          [helper.make_tensor_value_info(head, TensorProto.FLOAT, [1, 32, 40, 40])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(m)
    onnx.save(m, path)
    x = rng.standard_normal((1, 16, 40, 40)).astype(np.float32)
    return numpy_helper.from_array(x, "x").SerializeToString()


def fresh_model(work):
    """An empty work folder holding the branchy model and its input: (model path, input path)."""
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    model, inp = os.path.join(work, "branchy.onnx"), os.path.join(work, "input.pb")
    with open(inp, "wb") as f:
        f.write(branchy_model(model))
    return model, inp


def cpu_ns(pid):
    """Per thread id: nanoseconds it has spent on a CPU (the first field of its schedstat)."""
    ns = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                ns[int(tid)] = int(f.read().split()[0])
        except FileNotFoundError:
            continue
    return ns


def main():
    ap = argparse.ArgumentParser()
    for f in ("--edgecc", "--client", "--build-dir", "--src", "--work"):
        ap.add_argument(f, required=True)
    a = ap.parse_args()
    model, inp = fresh_model(a.work)
    out = os.path.join(a.work, "out")
    run([a.edgecc, model, "--targets", "host", "--threads", "2", "--parallel", "inter", "-o", out, "--name", "idle"])
    with open(os.path.join(out, "plan.json")) as f:
        n_clusters = len(json.load(f)["partitions"][0]["clusters"])
    if n_clusters != 2:
        raise SystemExit("FAILED: --parallel inter --threads 2 made %d cluster(s) of the branchy model; the "
                         "test needs 2" % n_clusters)
    exe = os.path.join(a.work, "bin", "idle_p0")
    run([os.path.join(a.src, "tests/codegen/build_generated.sh"), os.path.join(out, "host"), a.build_dir, exe])
    direct = os.path.join(a.work, "direct.pb")
    run([exe, "--input", inp, "--output", direct, "--threads", "3"])
    want = numpy_helper.to_array(onnx.load_tensor(direct)).tobytes()

    sock = "unix://" + os.path.join(a.work, "idle.sock")
    srv = subprocess.Popen([exe, "--listen", sock, "--threads", "3"], stdout=subprocess.PIPE,
                           stderr=open(os.path.join(a.work, "server.log"), "w"), text=True)
    try:
        ep = wait_listening(srv, 30)
        if not ep:
            raise SystemExit("FAILED: the program did not start listening")
        for request in (1, 2):
            got = os.path.join(a.work, "served-%d.pb" % request)
            run([a.client, ep, "--input", inp, "--output", got])
            if numpy_helper.to_array(onnx.load_tensor(got)).tobytes() != want:
                raise SystemExit("FAILED: request %d: the served output differs from the file run" % request)
            time.sleep(0.3)
            before = cpu_ns(srv.pid)
            time.sleep(1.0)
            after = cpu_ns(srv.pid)
            if len(before) < 3:
                raise SystemExit("FAILED: the server has %d threads; clusters and the pool should make at least 3"
                                 % len(before))
            used = {t: (after[t] - before[t]) / 1e6 for t in before if t in after}
            busy = {t: "%.1f ms" % ms for t, ms in used.items() if ms >= 20}
            if busy:
                raise SystemExit("FAILED: after request %d, idle for 1 s, threads used CPU (per thread id): %s"
                                 % (request, busy))
            print("request %d: %d threads, CPU ms over 1 s idle: %s" % (
                request, len(before), " ".join("%.3f" % ms for ms in sorted(used.values()))))
    finally:
        stop_server(srv)
    print("idle_threads: %d clusters at 3 threads, served twice, no thread used CPU while idle" % n_clusters)
    shutil.rmtree(a.work, ignore_errors=True)


if __name__ == "__main__":
    main()
