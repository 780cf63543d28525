#!/usr/bin/python3
"""int8_cut.py — quantized cuts on the wire (issue 14): a 2-device split of an int8 program sends
the cut as int8 with its scale and zero point, at least 70% fewer bytes per request than the fp32
program split at the same tensor, and its outputs equal the single int8 program's bit for bit.

For each cut tensor T (a float tensor of the ONNX model):
- fp32: `edgecc MODEL --targets a=host,b=host --split-at T`; int8: the same with `--calib DIR`
  (every candidate int8), and the single int8 program `--targets host --calib DIR`.
- plan.json: the fp32 plan cuts at T as float32; the int8 plan cuts at an int8 tensor carrying
  T's values (the QuantizeLinear of T, or the int8 tensor T is dequantized from) with a scale and
  a zero point, and the generated programs carry them.
- Each split runs as two served processes over TCP with a byte-counting proxy between them (this
  script's, not edgecc's): edgecc-client sends every sample to p0, p0 forwards the cut to p1
  through the proxy, the reply comes back. Bytes per request = everything the proxy saw in both
  directions, divided by the requests.
- The int8 chain's outputs equal the single int8 program's file runs, bit for bit.
- The request frames p0 sent (read from the proxy's bytes as docs/wire-format.md lays them out)
  carry the cut as int8 with plan.json's scale and zero point, and the receiving partition refuses
  the cut sent without them (bad-inputs naming the quantization).

usage: int8_cut.py --model fashion|resnet50 --edgecc PATH --client PATH --build-dir DIR --src DIR
                   --work DIR [--zoo-cache DIR]
"""
import argparse
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading

import numpy as np
import onnx
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "distributed"))
from listening import stop_server, wait_listening  # noqa: E402
from wire import frame, read_reply  # noqa: E402

sys.path.insert(0, os.path.join(HERE, "..", "models"))
import zoo_cache  # noqa: E402

MIN_SAVING = 0.70
PROCS = []


def fail(msg):
    for p in PROCS:
        stop_server(p)
    sys.exit("FAILED: " + msg)


def run(cmd, timeout=1800, env=None):
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, env=env)
    if p.returncode != 0:
        fail("%s exited %d:\n%s%s" % (" ".join(map(str, cmd)), p.returncode, p.stdout[-3000:], p.stderr[-3000:]))
    return p


class Proxy:
    """A TCP forwarder to one upstream endpoint that counts every byte it passes each way."""

    def __init__(self, upstream):
        host, port = upstream[len("tcp://"):].rsplit(":", 1)
        self.upstream = (host, int(port))
        self.bytes = {"forward": 0, "back": 0}
        self.sent = bytearray()  # what p0 sent p1, to read the frames' descriptors
        self.lock = threading.Lock()
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(8)
        self.endpoint = "tcp://127.0.0.1:%d" % self.srv.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                a, _ = self.srv.accept()
            except OSError:
                return
            b = socket.create_connection(self.upstream)
            threading.Thread(target=self.pump, args=(a, b, "forward"), daemon=True).start()
            threading.Thread(target=self.pump, args=(b, a, "back"), daemon=True).start()

    def pump(self, src, dst, way):
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            with self.lock:
                self.bytes[way] += len(data)
                if way == "forward":
                    self.sent += data
            dst.sendall(data)

    def total(self):
        with self.lock:
            return self.bytes["forward"] + self.bytes["back"], dict(self.bytes)


def descriptors(stream):
    """The tensor descriptors of every request frame in a byte stream, read as
    docs/wire-format.md lays them out: [(dtype, dims, scale, zero point, byte length)]."""
    out, at = [], 0
    while at + 36 <= len(stream):
        _, _, mtype, _, _, n, _, _ = struct.unpack_from("<4sHHQQIII", stream, at)
        at += 36
        total = 0
        for _ in range(n):
            _, dt, rank = struct.unpack_from("<IBB", stream, at)
            dims = struct.unpack_from("<%dq" % rank, stream, at + 6)
            scale, zp, nbytes = struct.unpack_from("<fiQ", stream, at + 6 + 8 * rank)
            at += 6 + 8 * rank + 16
            total += nbytes
            if mtype == 1:
                out.append((dt, list(dims), scale, zp, nbytes))
        at += total + 4
    return out


def refuses_unscaled(ep, cut):
    """A request to the receiving partition carrying the cut without its scale and zero point
    (as any float tensor travels) must be refused as bad-inputs (9) naming the quantization."""
    host, port = ep[len("tcp://"):].rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=60)
    s.sendall(frame(0, 1, [], mtype=4))  # a ping: its reply carries the plan id
    _, _, _, plan = read_reply(s)
    data = bytes(int(np.prod(cut["shape"])))
    s.sendall(frame(plan, 7, [(0, 3, cut["shape"], data)]))  # frame() writes scale 0, zero point 0
    mtype, rid, out, _ = read_reply(s)
    s.close()
    text = out[0][3].decode(errors="replace") if out else ""
    if mtype != 3 or not out or out[0][0] != 9 or "quantization" not in text:
        fail("the receiving partition accepted the int8 cut without its scale (reply type %d: %s)" % (mtype, text))
    return text


def host_program(args, dev_dir, prog, tag):
    exe = os.path.join(args.work, "bin-" + tag, prog)
    env = dict(os.environ, PART=prog.rsplit("_p", 1)[1])
    run([os.path.join(args.src, "tests/codegen/build_generated.sh"), dev_dir, args.build_dir, exe], env=env)
    return exe


def serve(exe, log, *extra):
    p = subprocess.Popen([exe, "--listen", "tcp://127.0.0.1:0", "--timeout", "600000", *extra],
                         stdout=subprocess.PIPE, stderr=open(log, "w"), text=True)
    PROCS.append(p)
    ep = wait_listening(p, 60)
    if not ep:
        fail("%s did not start listening (see %s)" % (exe, log))
    return p, ep


def chain(args, out, tag, inputs):
    """Serves the two partitions of OUT with a counting proxy between them, sends every input
    once through edgecc-client; returns (outputs, bytes per request, bytes by direction)."""
    plan = json.load(open(os.path.join(out, "plan.json")))
    parts = plan["partitions"]
    if len(parts) != 2:
        fail("%s: %d partitions, not 2" % (tag, len(parts)))
    exes = [host_program(args, os.path.join(out, q["device"]), q["program"], "%s-%d" % (tag, k))
            for k, q in enumerate(parts)]
    p1, ep1 = serve(exes[1], os.path.join(args.work, tag + "-p1.log"))
    proxy = Proxy(ep1)
    p0, ep0 = serve(exes[0], os.path.join(args.work, tag + "-p0.log"), "--next", proxy.endpoint)
    outs = []
    for k, inp in enumerate(inputs):
        got = os.path.join(args.work, "%s-out-%d.pb" % (tag, k))
        run([args.client, ep0, "--input", inp, "--output", got, "--timeout", "600000"], timeout=1800)
        outs.append(load(got))
    refusal = refuses_unscaled(ep1, cut_of(out)) if cut_of(out)["dtype"] == "int8" else None
    stop_server(p0)
    stop_server(p1)
    total, ways = proxy.total()
    return outs, total / len(inputs), ways, descriptors(bytes(proxy.sent)), refusal


def load(path):
    return numpy_helper.to_array(onnx.load_tensor(path))


def same(a, b):
    """Bit for bit (the client names its outputs output_K, the driver by the graph)."""
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def cut_of(out):
    q = json.load(open(os.path.join(out, "plan.json")))["partitions"][0]["outputs"]
    if len(q) != 1:
        fail("%s: partition 0 sends %d tensors, not 1" % (out, len(q)))
    return q[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for a in ("--model", "--edgecc", "--client", "--build-dir", "--src", "--work"):
        ap.add_argument(a, required=True)
    ap.add_argument("--zoo-cache")
    args = ap.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    os.environ.setdefault("EDGECC_CACHE_DIR", os.path.join(args.work, "cache"))
    if args.model == "fashion":
        model = os.path.join(args.src, "examples/fashion/fashion.onnx")
        calib, calib_max = os.path.join(args.src, "examples/fashion/calib"), "64"
        samples = os.path.join(args.src, "examples/fashion/samples")
        inputs = [os.path.join(samples, "input_%d.pb" % k) for k in range(8)]
        # After the downsampling block (its only reader quantizes it) and after block 2's
        # residual Add (dequantized from the int8 the next convolution reads).
        cuts = ["/block2/Relu_output_0", "/Relu_output_0"]
    else:
        # The ctest fixture zoo_export fills the cache; a missing model fails (never a skip).
        model = zoo_cache.require(args.model, args.zoo_cache)
        calib, calib_max = os.path.join(args.work, "calib"), "4"
        os.makedirs(calib)
        x = numpy_helper.to_array(onnx.load_tensor(os.path.join(args.zoo_cache, args.model + "_input_0.pb")))
        rng = np.random.default_rng(14)
        for k in range(4):
            with open(os.path.join(calib, "input_%d.pb" % k), "wb") as f:
                f.write(numpy_helper.from_array(rng.standard_normal(x.shape).astype(np.float32), "input")
                        .SerializeToString())
        inputs = [os.path.join(args.zoo_cache, args.model + "_input_0.pb"), os.path.join(calib, "input_0.pb")]
        cuts = ["/layer1/layer1.2/relu_2/Relu_output_0"]  # read by layer2's conv1 and downsampling conv
    q = ["--calib", calib, "--calib-max", calib_max]
    single = os.path.join(args.work, "single-int8")
    run([args.edgecc, model, "--targets", "host", "-o", single, *q])
    name = json.load(open(os.path.join(single, "plan.json")))["partitions"][0]["program"]
    exe = host_program(args, os.path.join(single, "host"), name, "single")
    want = []
    for k, inp in enumerate(inputs):
        o = os.path.join(args.work, "want-%d.pb" % k)
        run([exe, "--input", inp, "--output", o])
        want.append(load(o))
    for c, cut in enumerate(cuts):
        f32, i8 = os.path.join(args.work, "fp32-%d" % c), os.path.join(args.work, "int8-%d" % c)
        run([args.edgecc, model, "--targets", "a=host,b=host", "--split-at", cut, "-o", f32])
        run([args.edgecc, model, "--targets", "a=host,b=host", "--split-at", cut, "-o", i8, *q])
        cf, ci = cut_of(f32), cut_of(i8)
        if cf["name"] != cut or cf["dtype"] != "float32":
            fail("fp32 plan cuts at %s (%s), not %s as float32" % (cf["name"], cf["dtype"], cut))
        if ci["dtype"] != "int8" or "scale" not in ci or ci["shape"] != cf["shape"]:
            fail("int8 plan cut at %s: %s, want int8 of shape %s with a scale and zero point" % (cut, ci, cf["shape"]))
        for k in (0, 1):
            src = open(os.path.join(i8, "ab"[k], "main_p%d.c" % k)).read()
            if ci["name"] + '", ECK_INT8' not in src or ", 0, 0}" in src.split(ci["name"])[1].split("\n")[0]:
                fail("main_p%d.c of the int8 split does not carry the cut's scale and zero point" % k)
        got_f, bytes_f, ways_f, _, _ = chain(args, f32, "fp32-%d" % c, inputs)
        got_i, bytes_i, ways_i, descs, refusal = chain(args, i8, "int8-%d" % c, inputs)
        want_desc = (3, ci["shape"], float(np.float32(ci["scale"])), ci["zero_point"], int(np.prod(ci["shape"])))
        if len(descs) != len(inputs) or any(d != want_desc for d in descs):
            fail("cut %s: the frames p0 sent carry %s, want %d of %s (int8, plan.json's scale and zero point)"
                 % (cut, descs[:2], len(inputs), want_desc))
        print("cut %s: %d requests on the wire as int8 with scale %g, zero point %d; without them: %s"
              % (cut, len(descs), want_desc[2], want_desc[3], refusal))
        for k in range(len(inputs)):
            if not same(got_i[k], want[k]):
                fail("cut %s, input %d: the int8 chain's output differs from the single int8 program's "
                     "(largest difference %g)" % (cut, k, float(np.abs(got_i[k] - want[k]).max())))
        saving = 1 - bytes_i / bytes_f
        print("%s cut at %s: fp32 %s %s, %.0f bytes per request on the wire (%s); int8 %s scale %g zero point %d, "
              "%.0f bytes per request (%s): %.1f%% fewer; %d outputs equal to the single int8 program's"
              % (args.model, cut, cf["name"], cf["shape"], bytes_f, ways_f, ci["name"], ci["scale"],
                 ci["zero_point"], bytes_i, ways_i, 100 * saving, len(inputs)))
        if saving < MIN_SAVING:
            fail("cut %s: the int8 split sends %.1f%% fewer bytes than the fp32 one, under %.0f%%"
                 % (cut, 100 * saving, 100 * MIN_SAVING))
    shutil.rmtree(args.work, ignore_errors=True)


if __name__ == "__main__":
    main()
