#!/usr/bin/python3
"""test_dist.py — served partitions as separate processes over loopback: outputs through
edgecc-client equal a direct file run bit for bit (tcp, unix, shm), chains of two programs equal
the composed model, corrupted frames get error replies while the server keeps serving, a killed
or stopped next partition fails the request clearly within the timeout and is reconnected after a
restart, and a Poisson load completes with no request lost or duplicated.

usage: test_dist.py TEST --edgecc PATH --client PATH --build-dir DIR --src DIR
Every server listens on an ephemeral port (tcp://127.0.0.1:0) or a private path/name, so tests
run in parallel.
"""
import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from listening import wait_listening  # noqa: E402
from wire import frame, read_reply  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models"))
import zoo_cache  # noqa: E402

A = None
PROCS = []


def run(cmd, ok=True, timeout=120):
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout)
    if ok and p.returncode != 0:
        raise SystemExit("FAILED (%d): %s\n%s%s" % (p.returncode, " ".join(map(str, cmd)), p.stdout, p.stderr))
    return p


def build_program(model, name, tmp):
    """edgecc MODEL --targets host, built against the runtime of the main build."""
    out = os.path.join(tmp, "out_" + name)
    run([A.edgecc, model, "--targets", "host", "--kernels", "ref", "-o", out, "--name", name])
    exe = os.path.join(tmp, "bin_" + name, name + "_p0")
    run([os.path.join(A.src, "tests/codegen/build_generated.sh"), os.path.join(out, "host"), A.build_dir, exe])
    return exe


def serve(exe, endpoint, *extra):
    """Starts a server, waits for its `listening on ENDPOINT` line, returns (process, endpoint)."""
    p = subprocess.Popen([exe, "--listen", endpoint, *extra], stdout=subprocess.PIPE,
                         stderr=open(os.path.join(TMP, "server-%d.log" % len(PROCS)), "w"), text=True)
    PROCS.append(p)
    bound = wait_listening(p, 20)
    if not bound:
        raise SystemExit("FAILED: %s did not start listening on %s" % (exe, endpoint))
    return p, bound


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGCONT)
        p.terminate()
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def save(path, arr, name="x"):
    with open(path, "wb") as f:
        f.write(numpy_helper.from_array(arr, name).SerializeToString())


def load(path):
    return numpy_helper.to_array(onnx.load_tensor(path))


def same(a, b, what):
    if a.dtype != b.dtype or a.shape != b.shape or a.tobytes() != b.tobytes():
        raise SystemExit("FAILED: %s: outputs differ (%s%s vs %s%s, max diff %s)" % (
            what, a.dtype, a.shape, b.dtype, b.shape,
            np.abs(a.astype(np.float64) - b.astype(np.float64)).max() if a.shape == b.shape else "-"))


def client(endpoint, inputs, outputs=(), extra=(), ok=True, timeout=120):
    cmd = [A.client, endpoint, "--input", *inputs]
    if outputs:
        cmd += ["--output", *outputs]
    return run(cmd + list(extra), ok=ok, timeout=timeout)


def endpoint_for(kind, tag):
    if kind == "tcp":
        return "tcp://127.0.0.1:0"
    if kind == "unix":
        return "unix://" + os.path.join(TMP, tag + ".sock")
    return "shm://edgecc-test-%d-%s" % (os.getpid(), tag)


# ---- single program ------------------------------------------------------------------------------

def digits_program():
    return build_program(os.path.join(A.src, "examples/digits/digits.onnx"), "digits", TMP)


def t_serve(kind):
    exe = digits_program()
    samples = os.path.join(A.src, "examples/digits/samples")
    _, ep = serve(exe, endpoint_for(kind, "digits"))
    for i in range(4):
        inp = os.path.join(samples, "input_%d.pb" % i)
        direct, served = os.path.join(TMP, "direct%d.pb" % i), os.path.join(TMP, "served%d.pb" % i)
        run([exe, "--input", inp, "--output", direct])
        client(ep, [inp], [served])
        same(load(served), load(direct), "%s sample %d" % (kind, i))
    p = client(ep, [os.path.join(samples, "input_0.pb")], extra=["--requests", "300", "--rate", "0"])
    if "lost 0" not in p.stdout or "ok 300" not in p.stdout:
        raise SystemExit("FAILED: load over %s:\n%s" % (kind, p.stdout))
    print(p.stdout)


# ---- chains --------------------------------------------------------------------------------------

def chain_models(tmp):
    """Two small models whose composition is a third: a(x) = relu(x @ W1 + b1); b(h) = h @ W2 + b2
    then softmax-free tanh... kept to ops the reference kernels run identically in both builds."""
    rng = np.random.default_rng(7)
    w1 = numpy_helper.from_array(rng.standard_normal((16, 32)).astype(np.float32), "w1")
    b1 = numpy_helper.from_array(rng.standard_normal((32,)).astype(np.float32), "b1")
    w2 = numpy_helper.from_array(rng.standard_normal((32, 8)).astype(np.float32), "w2")
    b2 = numpy_helper.from_array(rng.standard_normal((8,)).astype(np.float32), "b2")
    first = [helper.make_node("MatMul", ["x", "w1"], ["m1"], name="mm1"),
             helper.make_node("Add", ["m1", "b1"], ["a1"], name="add1"),
             helper.make_node("Relu", ["a1"], ["h"], name="relu1")]
    second = [helper.make_node("MatMul", ["h", "w2"], ["m2"], name="mm2"),
              helper.make_node("Add", ["m2", "b2"], ["y"], name="add2"),
              helper.make_node("Sigmoid", ["y"], ["z"], name="sig")]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 16])
    h = helper.make_tensor_value_info("h", TensorProto.FLOAT, [4, 32])
    outs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 8]),
            helper.make_tensor_value_info("z", TensorProto.FLOAT, [4, 8])]
    paths = {}
    for name, nodes, ins, os_, inits in (("a", first, [x], [h], [w1, b1]), ("b", second, [h], outs, [w2, b2]),
                                          ("ab", first + second, [x], outs, [w1, b1, w2, b2])):
        g = helper.make_graph(nodes, name, ins, os_, inits)
        paths[name] = os.path.join(tmp, name + ".onnx")
        onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), paths[name])
    inp = os.path.join(tmp, "x.pb")
    save(inp, rng.standard_normal((4, 16)).astype(np.float32), "x")
    return paths, inp


PLAN = "5eed0123456789ab"


def start_chain(kind, timeout_ms=3000):
    paths, inp = chain_models(TMP)
    exes = {k: build_program(paths[k], k, TMP) for k in ("a", "b", "ab")}
    pb, ep_b = serve(exes["b"], endpoint_for(kind, "b"), "--plan-id", PLAN)
    pa, ep_a = serve(exes["a"], endpoint_for(kind, "a"), "--next", ep_b, "--plan-id", PLAN,
                     "--timeout", str(timeout_ms))
    return exes, inp, (pa, ep_a), (pb, ep_b)


def t_chain(kind):
    exes, inp, (pa, ep_a), (pb, ep_b) = start_chain(kind)
    want = [os.path.join(TMP, "want_y.pb"), os.path.join(TMP, "want_z.pb")]
    got = [os.path.join(TMP, "got_y.pb"), os.path.join(TMP, "got_z.pb")]
    run([exes["ab"], "--input", inp, "--output", *want])
    client(ep_a, [inp], got)
    for g, w in zip(got, want):
        same(load(g), load(w), "chain over %s" % kind)
    # A program of another plan is refused with a clear error.
    p = client(ep_a, [inp], extra=["--plan-id", "1234"], ok=False)
    if p.returncode != 1 or "plan-mismatch" not in p.stderr:
        raise SystemExit("FAILED: wrong plan id not refused:\n%s" % p.stderr)


# ---- programs know their plan ----------------------------------------------------------------------

def t_plan_id():
    """The programs of a split compile carry plan.json's plan_id: a 3-partition digits chain started
    with no --plan-id (as the generated README says) answers like the single program, bit for bit;
    a program of another compile (a 2-partition plan) is refused, and the error names both ids."""
    import json
    digits = os.path.join(A.src, "examples/digits/digits.onnx")
    inp = os.path.join(A.src, "examples/digits/samples/input_0.pb")
    single = digits_program()
    want = os.path.join(TMP, "want.pb")
    run([single, "--input", inp, "--output", want])
    plans, exes = {}, {}
    for tag, targets, n in (("A", "a=host,b=host,c=host", 3), ("B", "a=host,b=host", 2)):
        out = os.path.join(TMP, "out" + tag)
        run([A.edgecc, digits, "--targets", targets, "--partitions", str(n), "--kernels", "ref", "-o", out])
        plan = json.load(open(os.path.join(out, "plan.json")))
        plans[tag] = plan["plan_id"]
        if any("--listen" in l and "--plan-id" in l for l in open(os.path.join(out, "README.md"))):
            raise SystemExit("FAILED: %s/README.md still starts the programs with --plan-id" % out)
        for k, part in enumerate(plan["partitions"]):
            exe = os.path.join(TMP, "bin%s%d" % (tag, k), part["program"])
            subprocess.run([os.path.join(A.src, "tests/codegen/build_generated.sh"), os.path.join(out, part["device"]),
                            A.build_dir, exe], check=True, env=dict(os.environ, PART=str(k)))
            exes[tag, k] = exe
    if plans["A"] == plans["B"]:
        raise SystemExit("FAILED: two different plans have the same plan_id %s" % plans["A"])
    nxt = None
    for k in (2, 1, 0):
        _, nxt = serve(exes["A", k], endpoint_for("tcp", "A%d" % k), *(["--next", nxt] if nxt else []))
    got = os.path.join(TMP, "got.pb")
    client(nxt, [inp], [got])
    same(load(got), load(want), "3 partitions started without --plan-id")
    print("3 partitions of plan %s, started without --plan-id: the single program's output" % plans["A"])
    # Another compile's partition as the next one: refused, both ids named.
    _, ep_b1 = serve(exes["B", 1], endpoint_for("tcp", "B1"))
    _, ep_a0 = serve(exes["A", 0], endpoint_for("tcp", "A0x"), "--next", ep_b1, "--timeout", "5000")
    p = client(ep_a0, [inp], ok=False)
    if p.returncode == 0 or "plan-mismatch" not in p.stderr or plans["A"] not in p.stderr or plans["B"] not in p.stderr:
        raise SystemExit("FAILED: A's p0 before B's p1 not refused naming %s and %s:\n%s" % (plans["A"], plans["B"],
                                                                                          p.stderr))
    print("A.p0 -> B.p1:", p.stderr.strip())
    # A client of plan B sending to A's p0: refused, both ids named.
    p = client(ep_a0, [inp], extra=["--plan-id", plans["B"]], ok=False)
    if p.returncode == 0 or plans["A"] not in p.stderr or plans["B"] not in p.stderr:
        raise SystemExit("FAILED: a request of plan %s to A's p0 not refused naming both ids:\n%s" % (plans["B"],
                                                                                                   p.stderr))
    print("plan B's request -> A.p0:", p.stderr.strip())


# ---- corrupted frames ----------------------------------------------------------------------------

def connect(ep):
    host, port = ep[len("tcp://"):].rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=10)
    return s


def expect_error(s, code, req, what):
    mtype, rid, out, _ = read_reply(s)
    if mtype != 3 or out[0][0] != code or rid != req:
        raise SystemExit("FAILED: %s: expected error %d for request %d, got type %d id %s request %d %s" % (
            what, code, req, mtype, out[0][0] if out else None, rid, out[0][3] if out else b""))
    print("%s -> %s" % (what, out[0][3].decode()))


def expect_ok(s, plan, x, req, want, what):
    s.sendall(frame(plan, req, [(0, 1, list(x.shape), x.tobytes())]))
    mtype, rid, out, _ = read_reply(s)
    if mtype != 2 or rid != req or out[0][3] != want:
        raise SystemExit("FAILED: %s: the next valid request was not answered correctly (type %d)" % (what, mtype))


def t_bad_frames():
    exe = digits_program()
    samples = os.path.join(A.src, "examples/digits/samples")
    proc, ep = serve(exe, "tcp://127.0.0.1:0", "--max-bytes", "1000000")
    x = load(os.path.join(samples, "input_0.pb"))
    run([exe, "--input", os.path.join(samples, "input_0.pb"), "--output", os.path.join(TMP, "d.pb")])
    want = load(os.path.join(TMP, "d.pb")).tobytes()
    s = connect(ep)
    s.sendall(frame(0, 1, [], mtype=4))  # a ping: its reply carries the server's plan id
    mtype, _, _, plan = read_reply(s)
    if mtype != 4:
        raise SystemExit("FAILED: no ping reply")
    expect_ok(s, plan, x, 3, want, "first request")
    good = [(0, 1, list(x.shape), x.tobytes())]
    # Errors after which the stream stays in step: same connection.
    s.sendall(frame(plan, 10, good, pay_crc=0xDEADBEEF))
    expect_error(s, 5, 10, "bad payload CRC")
    expect_ok(s, plan, x, 11, want, "after bad payload CRC")
    s.sendall(frame(plan ^ 1, 12, good))
    expect_error(s, 6, 12, "wrong plan id")
    expect_ok(s, plan, x, 13, want, "after wrong plan id")
    wrong = x.reshape(-1)[: x.size // 2].copy()
    s.sendall(frame(plan, 14, [(0, 1, list(wrong.shape), wrong.tobytes())]))
    expect_error(s, 9, 14, "wrong shape")
    expect_ok(s, plan, x, 15, want, "after wrong shape")
    s.sendall(frame(plan, 16, [(0, 7, list(x.shape), np.zeros(x.shape, np.int64).tobytes())]))
    expect_error(s, 9, 16, "wrong dtype")
    expect_ok(s, plan, x, 17, want, "after wrong dtype")
    s.close()
    # Errors after which the header cannot be trusted: the server replies, closes, and serves others.
    cases = [("bad magic", dict(magic=b"XXXX"), 1),
             ("bad header CRC", dict(hdr_crc=0x12345678), 4),
             ("oversized length", dict(lengths=[1 << 40]), 7)]
    for what, kw, code in cases:
        s = connect(ep)
        f = frame(plan, 20, good, **kw)
        s.sendall(f[:200] if "lengths" in kw else f)
        expect_error(s, code, 20 if code != 1 else 0, what)
        try:
            s.settimeout(5)
            if s.recv(1) != b"":
                raise SystemExit("FAILED: %s: connection not closed" % what)
        except ConnectionResetError:
            pass
        s.close()
        s = connect(ep)
        expect_ok(s, plan, x, 21, want, "after " + what)
        s.close()
    # Truncated frame then silence: the server must not hang on it (other clients still served).
    s = connect(ep)
    s.sendall(frame(plan, 30, good)[:50])
    s2 = connect(ep)
    expect_ok(s2, plan, x, 31, want, "while another connection stalls mid-frame")
    s.close()
    s2.close()
    if proc.poll() is not None:
        raise SystemExit("FAILED: the server died")


# ---- a lost next partition -----------------------------------------------------------------------

def t_next_killed():
    exes, inp, (pa, ep_a), (pb, ep_b) = start_chain("tcp", timeout_ms=1500)
    client(ep_a, [inp])
    # A stopped partition: the request fails with a timeout error within the timeout.
    pb.send_signal(signal.SIGSTOP)
    t0 = time.time()
    p = client(ep_a, [inp], ok=False, timeout=30)
    dt = time.time() - t0
    if p.returncode != 1 or "[timeout]" not in p.stderr or dt > 6:
        raise SystemExit("FAILED: stopped next partition: rc %d after %.1fs: %s" % (p.returncode, dt, p.stderr))
    print("stopped next: %.2fs: %s" % (dt, p.stderr.strip()))
    # Killed with a request in flight: the request fails at once with next-lost.
    slow = subprocess.Popen([A.client, ep_a, "--input", inp], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    time.sleep(0.5)
    pb.kill()
    pb.wait()
    out, err = slow.communicate(timeout=30)
    if slow.returncode != 1 or "[next-lost]" not in err:
        raise SystemExit("FAILED: killed next partition: rc %d: %s" % (slow.returncode, err))
    print("killed next: %s" % err.strip())
    # While it is down: a clear error, quickly.
    p = client(ep_a, [inp], ok=False, timeout=30)
    if p.returncode != 1 or "[next-unavailable]" not in p.stderr:
        raise SystemExit("FAILED: next partition down: %s" % p.stderr)
    print("next down: %s" % p.stderr.strip())
    # Restarted on the same endpoint: the first partition reconnects without a restart.
    serve(exes["b"], ep_b, "--plan-id", PLAN)
    for attempt in range(3):
        p = client(ep_a, [inp], [os.path.join(TMP, "y.pb"), os.path.join(TMP, "z.pb")], ok=False)
        if p.returncode == 0:
            break
    if p.returncode != 0:
        raise SystemExit("FAILED: not reconnected to the restarted partition: %s" % p.stderr)
    if pa.poll() is not None:
        raise SystemExit("FAILED: the first partition died")


def t_load(kind):
    exes, inp, (pa, ep_a), _ = start_chain(kind, timeout_ms=20000)
    # Offered faster than the chain serves, so that most of the 1,000 are in flight at once.
    p = client(ep_a, [inp], extra=["--requests", "1000", "--rate", "200000", "--arrivals", "poisson",
                                   "--timeout", "30000"], ok=False, timeout=120)
    print(p.stdout, p.stderr)
    if p.returncode != 0 or "ok 1000" not in p.stdout or "lost 0" not in p.stdout or \
            "duplicated 0" not in p.stdout or "mismatched 0" not in p.stdout:
        raise SystemExit("FAILED: Poisson load through a chain over %s" % kind)
    in_flight = int(p.stdout.split("max_in_flight ")[1].split()[0])
    if in_flight < 100:
        raise SystemExit("FAILED: only %d requests were in flight at once" % in_flight)


def t_load_modes(kind):
    """CoMPI's arrival modes: a closed-loop burst keeps exactly C requests outstanding (never more,
    and it reaches C); Gamma-burst gaps have the coefficient of variation of the Gamma law, 1/sqrt(K)
    (2 for K 0.25; Poisson's is 1)."""
    exes, inp, (pa, ep_a), _ = start_chain(kind, timeout_ms=20000)
    p = client(ep_a, [inp], extra=["--requests", "300", "--arrivals", "burst", "--concurrency", "4",
                                   "--timeout", "30000"], ok=False, timeout=120)
    print(p.stdout, p.stderr)
    if p.returncode != 0 or "ok 300" not in p.stdout or "arrivals burst  concurrency 4  max_in_flight 4" not in p.stdout:
        raise SystemExit("FAILED: closed-loop burst of 4 over %s" % kind)
    for shape, want in (("0.25", 2.0), ("4", 0.5)):
        p = client(ep_a, [inp], extra=["--requests", "2000", "--rate", "100000", "--arrivals", "gamma",
                                       "--gamma-shape", shape, "--timeout", "30000"], ok=False, timeout=120)
        print(p.stdout, p.stderr)
        cv = float(p.stdout.split("gaps_ms mean ")[1].split()[2])
        mean = float(p.stdout.split("gaps_ms mean ")[1].split()[0])
        if p.returncode != 0 or "ok 2000" not in p.stdout or not 0.8 * want <= cv <= 1.2 * want or \
                not 0.008 <= mean <= 0.012:
            raise SystemExit("FAILED: Gamma arrivals of shape %s: gaps mean %.4f ms (want 0.01), cv %.3f (want %.2f)"
                             % (shape, mean, cv, want))
    p = client(ep_a, [inp], extra=["--requests", "5", "--arrivals", "gamma", "--gamma-shape", "0", "--rate", "1"],
               ok=False)
    if p.returncode != 2 or "--gamma-shape needs" not in p.stderr:
        raise SystemExit("FAILED: --gamma-shape 0: %s" % p.stderr)


# ---- real partitions (edgecc --partitions 3) ----------------------------------------------------

def merged_models(tmp):
    """Three models with one trunk (relu(x @ W1 + b1), the same bytes) and a head each: merged,
    the trunk is computed once and each head only for the requests that name its model."""
    rng = np.random.default_rng(11)
    w1 = numpy_helper.from_array(rng.standard_normal((16, 32)).astype(np.float32), "w1")
    b1 = numpy_helper.from_array(rng.standard_normal((32,)).astype(np.float32), "b1")
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 16])
    paths = {}
    for k, (name, act, width) in enumerate((("ma", "Sigmoid", 8), ("mb", "Tanh", 5), ("mc", "Relu", 3))):
        w2 = numpy_helper.from_array(rng.standard_normal((32, width)).astype(np.float32), "w2")
        nodes = [helper.make_node("MatMul", ["x", "w1"], ["m1"], name="mm1"),
                 helper.make_node("Add", ["m1", "b1"], ["a1"], name="add1"),
                 helper.make_node("Relu", ["a1"], ["h"], name="relu1"),
                 helper.make_node("MatMul", ["h", "w2"], ["m2"], name="mm2"),
                 helper.make_node(act, ["m2"], ["y"], name="act")]
        g = helper.make_graph(nodes, name, [x], [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, width])],
                              [w1, b1, w2])
        paths[name] = os.path.join(tmp, name + ".onnx")
        onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), paths[name])
    inp = os.path.join(tmp, "x.pb")
    save(inp, rng.standard_normal((4, 16)).astype(np.float32), "x")
    return paths, inp


def merged_split():
    """merged_models' three models, each one's separate output, and the merged program cut in two
    partitions over a=host,b=host: (input, {model: output file}, folder, plan.json's partitions)."""
    import json
    paths, inp = merged_models(TMP)
    want = {}
    for name in ("ma", "mb", "mc"):
        want[name] = os.path.join(TMP, "want_%s.pb" % name)
        run([build_program(paths[name], name, TMP), "--input", inp, "--output", want[name]])
    split = os.path.join(TMP, "merged")
    run([A.edgecc, paths["ma"], paths["mb"], paths["mc"], "--targets", "a=host,b=host", "--partitions", "2",
         "--kernels", "ref", "-o", split])
    parts = json.load(open(os.path.join(split, "plan.json")))["partitions"]
    if len(parts) != 2:
        raise SystemExit("FAILED: %d partitions, wanted 2" % len(parts))
    return inp, want, split, parts


def t_merged_chain(kind):
    """A merged program of three models cut in two partitions and chained: requests for several
    model sets (edgecc-client --models) each get exactly the wanted models' outputs, equal to
    the separate programs' bit for bit; unknown names, a set the program lacks and a version-1
    frame are refused with clear errors."""
    import json
    inp, want, split, parts = merged_split()
    nxt = None
    for k in (1, 0):
        pe = host_program(os.path.join(split, parts[k]["device"]), parts[k]["program"], parts[k]["device"])
        _, nxt = serve(pe, endpoint_for(kind, "m%d" % k), *(["--next", nxt] if nxt else []))
    for models in (["ma"], ["mb"], ["mc"], ["mb", "mc"], ["ma", "mc"], ["mc", "ma"], ["ma", "mb", "mc"]):
        order = [m for m in ("ma", "mb", "mc") if m in models]  # outputs come in the program's order
        got = [os.path.join(TMP, "got_%s_%s.pb" % ("".join(models), m)) for m in order]
        client(nxt, [inp], got, extra=["--models", ",".join(models)])
        for g, m in zip(got, order):
            same(load(g), load(want[m]), "model %s of the set %s over %s" % (m, ",".join(models), kind))
        p = client(nxt, [inp], got + [os.path.join(TMP, "extra.pb")], extra=["--models", ",".join(models)], ok=False)
        if p.returncode != 1 or "has no output" not in p.stderr:
            raise SystemExit("FAILED: the reply to %s held more than its outputs:\n%s" % (models, p.stderr))
    got = [os.path.join(TMP, "all_%s.pb" % m) for m in ("ma", "mb", "mc")]
    client(nxt, [inp], got)  # no --models: every model
    for g, m in zip(got, ("ma", "mb", "mc")):
        same(load(g), load(want[m]), "model %s without --models" % m)
    for bad, why in (("ma,zz", "unknown model 'zz'"), ("mb,mb", "repeated model 'mb'")):
        p = client(nxt, [inp], extra=["--models", bad], ok=False)
        if p.returncode != 2 or why not in p.stderr or "ma,mb,mc" not in p.stderr:
            raise SystemExit("FAILED: --models %s: exit %d\n%s" % (bad, p.returncode, p.stderr))
    x = load(inp)
    s = connect(nxt)
    s.sendall(frame(0, 1, [], mtype=4))
    mtype, _, names, plan = read_reply(s)
    if mtype != 4 or names[0][3] != b"ma\nmb\nmc":
        raise SystemExit("FAILED: the ping reply does not name the models: %r" % (names,))
    s.sendall(frame(plan, 2, [(0, 1, list(x.shape), x.tobytes())], models=8))
    expect_error(s, 9, 2, "a model set with a bit past the program's models")
    s.sendall(frame(plan, 3, [(0, 1, list(x.shape), x.tobytes())], version=1))
    mtype, rid, out, _ = read_reply(s)
    text = out[0][3].decode() if out else ""
    if mtype != 3 or out[0][0] != 2 or "version 1" not in text or "version 2" not in text:
        raise SystemExit("FAILED: a version-1 frame: type %d, %r" % (mtype, text))


def t_merged_tree(kind):
    """A partition sending to several next ones (a tree): the merged program of ma, mb, mc cut in
    two (trunk p0, heads p1), p0 on host "a" with `--next ma@B --next mb,mc@C`, p1 served twice
    (hosts "b" and "c"). Every model set (and none) is answered in one reply holding exactly the
    wanted models' outputs, bit for bit the separate programs'; a set is sent only to the branches
    of its models (with c stopped, ma is still answered and mb is next-lost or next-unavailable);
    overlapping, missing, unknown and unnamed branch sets are usage errors (exit 2)."""
    import json
    inp, want, split, parts = merged_split()
    trunk = host_program(os.path.join(split, parts[0]["device"]), parts[0]["program"], parts[0]["device"])
    heads = host_program(os.path.join(split, parts[1]["device"]), parts[1]["program"], parts[1]["device"])
    for bad, why in ((["--next", "ma@tcp://:1", "--next", "ma,mb@tcp://:2"], "answer the same model"),
                     (["--next", "ma@tcp://:1", "--next", "mb@tcp://:2"], "no --next partition answers model(s) mc"),
                     (["--next", "tcp://:1", "--next", "tcp://:2"], "each needs its models"),
                     (["--next", "ma,zz@tcp://:1"], "zz")):
        p = run([trunk, "--listen", "tcp://:0", *bad], ok=False)
        if p.returncode != 2 or why not in p.stderr:
            raise SystemExit("FAILED: %s: exit %d\n%s" % (" ".join(bad), p.returncode, p.stderr))
    pc, ep_c = serve(heads, endpoint_for(kind, "tc"))
    _, ep_b = serve(heads, endpoint_for(kind, "tb"))
    _, root = serve(trunk, endpoint_for(kind, "ta"), "--next", "ma@" + ep_b, "--next", "mb,mc@" + ep_c,
                    "--timeout", "3000")
    sets = (["ma"], ["mb"], ["mc"], ["mb", "mc"], ["ma", "mc"], ["mc", "ma"], ["ma", "mb"], ["ma", "mb", "mc"], None)
    for models in sets:
        order = [m for m in ("ma", "mb", "mc") if models is None or m in models]
        tag = "".join(models) if models else "all"
        got = [os.path.join(TMP, "tree_%s_%s.pb" % (tag, m)) for m in order]
        client(root, [inp], got, extra=["--models", ",".join(models)] if models else [])
        for g, m in zip(got, order):
            same(load(g), load(want[m]), "model %s of the set %s through the tree over %s" % (m, tag, kind))
        p = client(root, [inp], got + [os.path.join(TMP, "extra.pb")],
                   extra=["--models", ",".join(models)] if models else [], ok=False)
        if p.returncode != 1 or "has no output" not in p.stderr:
            raise SystemExit("FAILED: the reply to %s held more than its outputs:\n%s" % (tag, p.stderr))
        print("models %s: one reply, equal to the separate programs" % tag)
    stop(pc)
    client(root, [inp], [os.path.join(TMP, "after_ma.pb")], extra=["--models", "ma"])
    same(load(os.path.join(TMP, "after_ma.pb")), load(want["ma"]), "model ma with branch c stopped")
    p = client(root, [inp], extra=["--models", "mb"], ok=False)
    if p.returncode != 1 or not ("next-lost" in p.stderr or "next-unavailable" in p.stderr):
        raise SystemExit("FAILED: mb with its branch stopped: exit %d\n%s" % (p.returncode, p.stderr))
    print("branch c stopped: ma still answered, mb refused (%s)" % p.stderr.strip().splitlines()[-1])


def board_file(mb):
    """A copy of the host target with ram_mb MB, as boardMB.json."""
    import json
    board = dict(json.loads(run([A.edgecc, "targets", "host"]).stdout), name="board%d" % mb, ram_mb=mb,
                 board="a board with %d MB for programs (merged models tests)" % mb)
    tfile = os.path.join(TMP, "board%d.json" % mb)
    json.dump(board, open(tfile, "w"))
    return tfile


def wide_models():
    """merge_models.py --family wide (three head-only variants, seeded torch): names, paths, the
    input, each separate program's output (itself within 1e-4 of torch's) and their weights' bytes."""
    models = os.path.join(TMP, "models")
    run([sys.executable, os.path.join(A.src, "tests/merge/merge_models.py"), models, "--family", "wide"], timeout=600)
    names = ("a", "b", "c")
    paths = {m: os.path.join(models, m + ".onnx") for m in names}
    inp = os.path.join(models, "a_input_0.pb")
    want, separate_bytes = {}, 0
    for m in names:
        exe = build_program(paths[m], "sep_" + m, TMP)  # a program cannot be named `c`
        separate_bytes += os.path.getsize(os.path.join(TMP, "out_sep_" + m, "host", "sep_%s_p0.bin" % m))
        want[m] = os.path.join(TMP, "want_%s.pb" % m)
        run([exe, "--input", inp, "--output", want[m]])
        torch_out = load(os.path.join(models, m + "_output_0.pb"))
        err = np.abs(load(want[m]) - torch_out).max()
        if err > 1e-4 * np.abs(torch_out).max():
            raise SystemExit("FAILED: model %s alone differs from torch by %g" % (m, err))
    return names, paths, inp, want, separate_bytes


def t_merged_joint_tree(kind):
    """The joint plan's tree carried out: the wide models (as dist_merged_ram_tcp) over three host
    boards x=board21, y=board16, z=board16 with --mix a=0.8,b=0.1,c=0.1: the tree DP keeps the trunk
    and a's head on x and puts b's and c's heads on y, which no chain can run (a's outputs come from
    x); joint.carried_out is "tree", p0 on x returns a/logits itself and sends the trunk's output to
    p1 (parent 0, models b,c), its --next in plan.json's next_args. Served over TCP, every model set
    (and none) gets one reply, each output bit for bit its separate program's. --mix
    a=0.1,b=0.8,c=0.1 moves b's head to x and a's to y: other partitions, other programs."""
    import json
    names, paths, inp, want, _ = wide_models()
    tf = ["--target-file", board_file(16), "--target-file", board_file(21)]
    plans, sources = {}, {}
    for mix, head in (("a=0.8,b=0.1,c=0.1", "a"), ("a=0.1,b=0.8,c=0.1", "b")):
        out = os.path.join(TMP, "tree_" + head)
        run([A.edgecc, *paths.values(), *tf, "--targets", "x=board21,y=board16,z=board16", "--mix", mix,
             "--kernels", "ref", "-o", out], timeout=600)
        plans[mix] = plan = json.load(open(os.path.join(out, "plan.json")))
        joint, parts = plan["joint"], plan["partitions"]
        others = ",".join(m for m in names if m != head)
        if joint["carried_out"] != "tree" or joint["why"]:
            raise SystemExit("FAILED: --mix %s: the tree is not carried out: %s" % (mix, json.dumps(joint)[:600]))
        shape = [(q["device"], q["parent"], q["models"], [o["name"] for o in q["outputs"] if o["name"].endswith("logits")])
                 for q in parts]
        if shape != [("x", None, "a,b,c", [head + "/logits"]), ("y", 0, others, [m + "/logits" for m in names if m != head])]:
            raise SystemExit("FAILED: --mix %s: partitions %r" % (mix, shape))
        if parts[0]["next_args"] != "--next %s@tcp://127.0.0.1:7601" % others or parts[1]["next_args"] != "":
            raise SystemExit("FAILED: --mix %s: next_args %r" % (mix, [q["next_args"] for q in parts]))
        sources[mix] = open(os.path.join(out, "x", parts[0]["program"] + ".c")).read()
        print("--mix %s: tree carried out, x returns %s/logits and sends to y (%s)" % (mix, head, others))
    a8, b8 = plans["a=0.8,b=0.1,c=0.1"], plans["a=0.1,b=0.8,c=0.1"]
    if a8["plan_id"] == b8["plan_id"] or sources["a=0.8,b=0.1,c=0.1"] == sources["a=0.1,b=0.8,c=0.1"]:
        raise SystemExit("FAILED: the two mixes gave the same plan id or the same program for x")
    out = os.path.join(TMP, "tree_a")
    parts = a8["partitions"]
    leaf = host_program(os.path.join(out, "y"), parts[1]["program"], "ty")
    root = host_program(os.path.join(out, "x"), parts[0]["program"], "tx")
    _, ep_y = serve(leaf, endpoint_for(kind, "ty"))
    models, _ = parts[0]["next_args"].split()[1].split("@")
    _, ep_x = serve(root, endpoint_for(kind, "tx"), "--next", models + "@" + ep_y)
    for r in range(0, 8):
        wanted = [m for i, m in enumerate(names) if r >> i & 1] or list(names)
        got = [os.path.join(TMP, "jt_%d_%s.pb" % (r, m)) for m in wanted]
        client(ep_x, [inp], got, extra=["--models", ",".join(wanted)] if r else [])
        for g, m in zip(got, wanted):
            same(load(g), load(want[m]), "model %s of the set %s through the tree over %s" % (m, ",".join(wanted), kind))
        print("models %s: one reply from the tree, equal to the separate programs" % (",".join(wanted) if r else "(all)"))


def t_merged_ram(kind):
    """CoMPI's memory argument: three head-only variants (merge_models.py --family wide, seeded
    torch) whose separate programs' weights exceed the RAM of two 16 MB boards together, merged, fit
    them: the plan over a=board16,b=board16 succeeds within each board's ram_mb, every node of the
    shared trunk is placed once (the joint plan's tree DP's choice, the heads on b, is what the
    partitions carry out), and the chain served over TCP answers every subset of the models,
    each output equal bit for bit to its separate program's (itself within 1e-4 of torch's). The
    merged models on one such board are refused (the limit is in force)."""
    import json
    names, paths, inp, want, separate_bytes = wide_models()
    tfile = board_file(16)
    ram = 16 * 1048576
    if separate_bytes <= 2 * ram:
        raise SystemExit("FAILED: the separate programs' weights (%d bytes) fit two boards (%d): no test" % (
            separate_bytes, 2 * ram))
    p = run([A.edgecc, "plan", *paths.values(), "--target-file", tfile, "--targets", "a=board16",
             "--kernels", "ref"], ok=False)
    if p.returncode != 1 or "but the device has 16.0 MB" not in p.stderr:
        raise SystemExit("FAILED: the merged models on one 16 MB board: exit %d\n%s" % (p.returncode, p.stderr))
    split = os.path.join(TMP, "merged")
    run([A.edgecc, *paths.values(), "--target-file", tfile, "--targets", "a=board16,b=board16", "--kernels", "ref",
         "-o", split], timeout=600)
    plan = json.load(open(os.path.join(split, "plan.json")))
    parts = plan["partitions"]
    if len(parts) != 2:
        raise SystemExit("FAILED: %d partitions, wanted 2 (the merged models fit no one board)" % len(parts))
    merged_bytes = 0
    for q in parts:
        merged_bytes += q["weights_bytes"]
        if q["planned_memory_bytes"] > ram or q["weights_bytes"] + q["arena_bytes"] > ram:
            raise SystemExit("FAILED: p%d on %s needs %d bytes (weights %d, arena %d) of %d" % (
                q["index"], q["device"], q["planned_memory_bytes"], q["weights_bytes"], q["arena_bytes"], ram))
    placed = {}
    for q in parts:
        for c in q["clusters"]:
            for n in c["nodes"]:
                placed.setdefault(n, []).append(q["index"])
    shared = [r for r in plan["merge"]["ranges"] if r["shared"]]
    if len(shared) != 1 or shared[0]["models"] != list(names) or shared[0]["nodes"] < 5:
        raise SystemExit("FAILED: the shared ranges are %r" % (shared,))
    trunk = [n for n in placed if n.startswith("a/") and n not in ("a/fc/Gemm",)]
    twice = [n for n, ks in placed.items() if len(ks) > 1]
    others = [n for n in placed if not n.startswith("a/") and n not in ("b/fc/Gemm", "c/fc/Gemm")]
    if len(trunk) < 5 or twice or others:
        raise SystemExit("FAILED: the trunk is not placed once: trunk %r, placed twice %r, other models' %r" % (
            trunk, twice, others))
    if merged_bytes * 2 > separate_bytes:
        raise SystemExit("FAILED: the merged programs' weights %d bytes, the separate ones' %d" % (
            merged_bytes, separate_bytes))
    # The joint plan (tree DP over the trunk and the heads) is what the partitions carry out.
    joint = plan.get("joint") or {}
    if joint.get("carried_out") != "tree" or joint.get("why") or not all(
            b["device"] == b["device_free"] == "b" for b in joint.get("blocks", []) if b["models"] != "a,b,c"):
        raise SystemExit("FAILED: the joint plan is not carried out as chosen: %s" % json.dumps(joint)[:600])
    print("separate weights %d bytes > 2 x %d; merged %d bytes in 2 partitions (%s), trunk of %d nodes placed once" % (
        separate_bytes, ram, merged_bytes, ", ".join("p%d %d bytes" % (q["index"], q["planned_memory_bytes"])
                                                     for q in parts), len(trunk)))
    nxt = None
    for k in (1, 0):
        pe = host_program(os.path.join(split, parts[k]["device"]), parts[k]["program"], parts[k]["device"])
        _, nxt = serve(pe, endpoint_for(kind, "r%d" % k), *(["--next", nxt] if nxt else []))
    for r in range(1, 8):
        wanted = [m for i, m in enumerate(names) if r >> i & 1]
        got = [os.path.join(TMP, "got_%s_%s.pb" % ("".join(wanted), m)) for m in wanted]
        client(nxt, [inp], got, extra=["--models", ",".join(wanted)])
        for g, m in zip(got, wanted):
            same(load(g), load(want[m]), "model %s of the set %s over %s" % (m, ",".join(wanted), kind))
        print("models %s: equal to the separate programs" % ",".join(wanted))


def host_program(dev_dir, prog, tag):
    """The program PROG (<name>_p<k>) of a host device folder, built by build_generated.sh against
    this build's runtime and kernel libraries: a few seconds, where the folder's own CMakeLists
    rebuilds them per folder (that path has its tests: the codegen and cross labels, the conformance
    runs' --cmake-build tests, the demo of scripts/setup.sh)."""
    exe = os.path.join(TMP, "b-" + tag, prog)
    if not os.path.exists(exe):
        run(["env", "PART=" + prog.rsplit("_p", 1)[1], os.path.join(A.src, "tests/codegen/build_generated.sh"),
             dev_dir, A.build_dir, exe], timeout=1800)
    return exe


def zoo_model(model):
    if model == "digits":
        return os.path.join(A.src, "examples/digits/digits.onnx"), os.path.join(A.src, "examples/digits/samples/input_0.pb")
    # The ctest fixture zoo_export fills the cache; a missing model fails (never a skip).
    m = zoo_cache.require(model, A.zoo_cache)
    return m, os.path.join(A.zoo_cache, model + "_input_0.pb")


def t_partitions(model, kind):
    """`--partitions 3` over a=host,b=host,c=host, the three programs served as separate processes
    and chained with --next: the client's output equals the single program's, bit for bit."""
    import json
    m, inp = zoo_model(model)
    single, split = os.path.join(TMP, "single"), os.path.join(TMP, "split")
    run([A.edgecc, m, "--targets", "host", "-o", single], timeout=900)
    run([A.edgecc, m, "--targets", "a=host,b=host,c=host", "--partitions", "3", "-o", split], timeout=900)
    plan = json.load(open(os.path.join(split, "plan.json")))
    parts = plan["partitions"]
    if len(parts) != 3:
        raise SystemExit("FAILED: %d partitions" % len(parts))
    name = parts[0]["program"].rsplit("_p", 1)[0]
    exe = host_program(os.path.join(single, "host"), name + "_p0", "single")
    want = os.path.join(TMP, "want.pb")
    run([exe, "--input", inp, "--output", want], timeout=900)
    nxt = None
    for k in (2, 1, 0):
        pe = host_program(os.path.join(split, parts[k]["device"]), parts[k]["program"], parts[k]["device"])
        # No --plan-id: the programs carry plan.json's (as the generated README starts them).
        extra = ["--timeout", "60000"] + (["--next", nxt] if nxt else [])
        _, nxt = serve(pe, endpoint_for(kind, "p%d" % k), *extra)
    got = os.path.join(TMP, "got.pb")
    client(nxt, [inp], [got], extra=["--timeout", "120000"], timeout=900)
    same(load(got), load(want), "%s in 3 served partitions over %s" % (model, kind))
    p = client(nxt, [inp], extra=["--requests", "8", "--rate", "0", "--timeout", "120000"], timeout=900)
    print("%s over %s: %s" % (model, kind, p.stdout))


def t_partitions_cross(model):
    """The chain cross-built: `--partitions 3` over a=pi5,b=orin-nano,c=pi5 (reference kernels, so
    the toolchain file alone builds them), each folder built with its toolchain.cmake, its dist/
    copied elsewhere as onto a board, the three programs run under qemu-aarch64 with the board's
    CPU, served over tcp on loopback and fed by edgecc-client: the output equals the host's single
    program within the conformance tolerance (|diff| <= 1e-7 + 1e-3 |expected|)."""
    import json
    import shutil
    qemu, gcc = shutil.which("qemu-aarch64"), shutil.which("aarch64-linux-gnu-gcc")
    if not qemu or not gcc:
        print("FAILED: needs qemu-user and gcc-aarch64-linux-gnu (scripts/packages.txt)")
        sys.exit(1)
    libc = os.path.realpath(run([gcc, "-print-file-name=libc.so.6"]).stdout.strip())
    prefix = os.path.dirname(os.path.dirname(libc))
    m, inp = zoo_model(model)
    single, split = os.path.join(TMP, "single"), os.path.join(TMP, "split")
    run([A.edgecc, m, "--targets", "host", "--kernels", "ref", "-o", single], timeout=900)
    run([A.edgecc, m, "--targets", "a=pi5,b=orin-nano,c=pi5", "--kernels", "ref", "--partitions", "3", "-o", split],
        timeout=900)
    plan = json.load(open(os.path.join(split, "plan.json")))
    parts = plan["partitions"]
    if len(parts) != 3:
        raise SystemExit("FAILED: %d partitions" % len(parts))
    name = parts[0]["program"].rsplit("_p", 1)[0]
    want = os.path.join(TMP, "want.pb")
    run([host_program(os.path.join(single, "host"), name + "_p0", "single"), "--input", inp, "--output", want],
        timeout=900)
    env = dict(os.environ)
    env.pop("LD_LIBRARY_PATH", None)
    nxt = None
    for k in (2, 1, 0):
        dev = parts[k]["device"]
        b = os.path.join(TMP, "b-" + dev)
        if not os.path.isdir(b):
            run(["cmake", "-S", os.path.join(split, dev), "-B", b, "--toolchain",
                 os.path.join(split, dev, "toolchain.cmake")], timeout=600)
            run(["cmake", "--build", b, "-j", "2"], timeout=1800)
        board = os.path.join(TMP, "board-" + dev)
        if not os.path.isdir(board):
            shutil.copytree(os.path.join(b, "dist"), board)
        target = json.loads(run([A.edgecc, "targets", plan["devices"][[d["name"] for d in plan["devices"]].index(dev)]["target"]]).stdout)
        env["QEMU_CPU"] = target["qemu_cpu"]
        # Emulated code runs several seconds per request: queued requests need a long timeout.
        extra = ["--listen", "tcp://127.0.0.1:0", "--timeout", "600000"] + \
            (["--next", nxt] if nxt else [])
        p = subprocess.Popen([qemu, "-L", prefix, os.path.join(board, parts[k]["program"]), *extra],
                             stdout=subprocess.PIPE, stderr=open(os.path.join(TMP, "server-%d.log" % k), "w"),
                             text=True, env=env)
        PROCS.append(p)
        nxt = wait_listening(p, 60)
        if nxt is None:
            raise SystemExit("FAILED: %s under qemu did not start listening" % parts[k]["program"])
        print("p%d on %s (QEMU_CPU=%s): %s" % (k, dev, env["QEMU_CPU"], nxt))
    got = os.path.join(TMP, "got.pb")
    client(nxt, [inp], [got], extra=["--timeout", "120000"], timeout=900)
    run([sys.executable, os.path.join(A.src, "tests/cross/compare_pb.py"), want, got])
    print("%s: 3 aarch64 partitions under qemu over tcp: %s the host's single program" % (
        model, "bit-identical to" if open(want, "rb").read() == open(got, "rb").read() else "within tolerance of"))
    n = 20 if model == "digits" else 4
    p = client(nxt, [inp], extra=["--requests", str(n), "--rate", "0", "--timeout", "600000"], timeout=900)
    if "ok %d" % n not in p.stdout or "lost 0" not in p.stdout:
        raise SystemExit("FAILED: load through the qemu chain:\n%s" % p.stdout)
    print(p.stdout)


TESTS = {
    "merged_chain_tcp": lambda: t_merged_chain("tcp"), "merged_ram_tcp": lambda: t_merged_ram("tcp"),
    "merged_tree_tcp": lambda: t_merged_tree("tcp"),
    "merged_joint_tree_tcp": lambda: t_merged_joint_tree("tcp"),
    "serve_tcp": lambda: t_serve("tcp"), "serve_unix": lambda: t_serve("unix"),
    "serve_shm": lambda: t_serve("shm"),
    "chain_tcp": lambda: t_chain("tcp"), "chain_unix": lambda: t_chain("unix"),
    "chain_shm": lambda: t_chain("shm"),
    "bad_frames": t_bad_frames, "next_killed": t_next_killed, "plan_id": t_plan_id,
    "load_poisson_tcp": lambda: t_load("tcp"), "load_modes_tcp": lambda: t_load_modes("tcp"), "load_poisson_shm": lambda: t_load("shm"),
}
for _m in ("digits", "mobilenet_v2"):
    TESTS["partitions_cross_%s" % _m] = (lambda m: lambda: t_partitions_cross(m))(_m)
for _m in ("digits", "resnet50", "googlenet"):
    for _k in ("tcp", "unix", "shm"):
        TESTS["partitions_%s_%s" % (_m, _k)] = (lambda m, k: lambda: t_partitions(m, k))(_m, _k)


def main():
    global A, TMP
    ap = argparse.ArgumentParser()
    ap.add_argument("test", choices=sorted(TESTS))
    ap.add_argument("--edgecc", required=True)
    ap.add_argument("--client", required=True)
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--src", required=True)
    ap.add_argument("--zoo-cache", default="")
    A = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="ec_dist_") as TMP:
        try:
            TESTS[A.test]()
        finally:
            for p in PROCS:
                stop(p)
            if A.test and os.environ.get("EC_DIST_LOGS"):
                for f in sorted(os.listdir(TMP)):
                    if f.endswith(".log"):
                        sys.stderr.write("---- %s\n%s" % (f, open(os.path.join(TMP, f)).read()))
    print("ok")


if __name__ == "__main__":
    main()
