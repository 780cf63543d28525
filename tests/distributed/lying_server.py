#!/usr/bin/python3
"""lying_server.py — a fake partition server that speaks the wire format (docs/wire-format.md,
through wire.py) and lies in one way per run, with edgecc-client's load mode run against it: the
client's counters must show each lie and its exit status must be 1 (0 for the honest server).

usage: lying_server.py BEHAVIOUR --client PATH
BEHAVIOUR: honest, drop, duplicate, forge, corrupt, stale_single (see BEHAVIOURS below).
The server answers pings with its plan id, then each request with the request's own input as the
response, except where it lies. It listens on an ephemeral loopback port in a thread of this
script; the client runs as a process with a short --timeout.
"""
import argparse
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wire import frame, read_reply  # noqa: E402

PLAN = 0x5EC0DE
N = 20  # requests in the load


def reply(req, tensors, mtype=2, **kw):
    return frame(PLAN, req, [(0, dt, dims, data) for _, dt, dims, data in tensors], mtype=mtype, **kw)


def error(req, code, text):
    return frame(PLAN, req, [(code, 2, [len(text)], text)], mtype=3)


# Each behaviour: request id, its input tensors -> the bytes sent back. `final` is the last id of
# the load; ids above it are the extra request the client makes for --output.
def honest(req, t):
    return reply(req, t)


def drop(req, t):
    return b"" if req in (3, 11) else reply(req, t)


def duplicate(req, t):
    # Request 5 answered twice in a row; the last request's answer too, so that the duplicate
    # arrives after the load has all its answers.
    return reply(req, t) * 2 if req in (5, N) else reply(req, t)


def forge(req, t):
    out = reply(req, t)
    if req == 4:
        out += reply(N + 1000, t)                        # an id never sent
        out += reply(0, t)                               # id 0: no request has it
        out += reply((1 << 63) + 2, t)                   # beyond any count, negative as a long
        out += error(N + 7, 10, b"fake: [run-failed] a lie")
        out += frame(PLAN, 4, [], mtype=4)               # a ping the client never sent
    return out


def corrupt(req, t):
    if req == 6:  # a payload that does not match its CRC
        return reply(req, t, pay_crc=0xDEADBEEF)
    if req == 8:  # a valid reply whose outputs differ from the others'
        _, dt, dims, data = t[0]
        return reply(req, [(0, dt, dims, bytes(b ^ 0x40 for b in data))])
    return reply(req, t)


def stale_single(req, t):
    # The load is answered honestly. The extra request made for --output gets first a late copy
    # of request 1's answer with other outputs, then its own answer.
    if req > N:
        _, dt, dims, data = t[0]
        return reply(1, [(0, dt, dims, b"\0" * len(data))]) + reply(req, t)
    return reply(req, t)


# behaviour: (server, extra client arguments, expected counters or None, expected exit status)
BEHAVIOURS = {
    "honest": (honest, [], dict(ok=N, errors=0, lost=0, duplicated=0, unknown=0, mismatched=0), 0),
    "drop": (drop, [], dict(ok=N - 2, errors=0, lost=2, duplicated=0, unknown=0, mismatched=0), 1),
    "duplicate": (duplicate, [], dict(ok=N, errors=0, lost=0, duplicated=2, unknown=0, mismatched=0), 1),
    "forge": (forge, [], dict(ok=N, errors=0, lost=0, duplicated=0, unknown=5, mismatched=0), 1),
    "corrupt": (corrupt, [], dict(ok=N - 1, errors=0, lost=0, duplicated=0, unknown=0, mismatched=2), 1),
    "stale_single": (stale_single, ["--output", "OUT"], dict(ok=N, errors=0, lost=0, duplicated=0,
                                                                unknown=0, mismatched=0), 1),
}


def serve(lsock, answer, log):
    conn, _ = lsock.accept()
    conn.settimeout(30)
    try:
        while True:
            mtype, req, tensors, plan = read_reply(conn)
            if mtype == 4:
                conn.sendall(frame(PLAN, req, [], mtype=4))
                continue
            log.append(req)
            conn.sendall(answer(req, tensors))
    except (EOFError, ConnectionError, socket.timeout):
        pass
    finally:
        conn.close()


def tensor_pb(path):
    """A float32 [1,4] TensorProto written by hand: dims (1), data_type (2), raw_data (9)."""
    raw = struct.pack("<4f", 1.5, -2.0, 0.25, 8.0)
    pb = b"\x08\x01\x08\x04" + b"\x10\x01" + b"\x4a" + bytes([len(raw)]) + raw
    with open(path, "wb") as f:
        f.write(pb)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("behaviour", choices=sorted(BEHAVIOURS))
    ap.add_argument("--client", required=True)
    a = ap.parse_args()
    answer, extra, want, want_rc = BEHAVIOURS[a.behaviour]
    with tempfile.TemporaryDirectory(prefix="ec_lying_") as tmp:
        inp, out = os.path.join(tmp, "x.pb"), os.path.join(tmp, "y.pb")
        tensor_pb(inp)
        lsock = socket.socket()
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(1)
        log = []
        th = threading.Thread(target=serve, args=(lsock, answer, log), daemon=True)
        th.start()
        cmd = [a.client, "tcp://127.0.0.1:%d" % lsock.getsockname()[1], "--input", inp,
               "--requests", str(N), "--rate", "0", "--timeout", "1500"] + [out if e == "OUT" else e for e in extra]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        print(p.stdout + p.stderr)
        th.join(10)
        lines = [ln for ln in p.stdout.splitlines() if ln.startswith("requests ")]
        if not lines:
            raise SystemExit("FAILED: %s: the client printed no counters (exit %d)" % (a.behaviour, p.returncode))
        words = lines[0].split()
        got = {words[i]: int(words[i + 1]) for i in range(0, len(words) - 1, 2)}
        bad = {k: (got.get(k), v) for k, v in want.items() if got.get(k) != v}
        if got.get("sent") != N or bad:
            raise SystemExit("FAILED: %s: counters (got, expected): %s" % (a.behaviour, bad or {"sent": (got.get("sent"), N)}))
        if p.returncode != want_rc:
            raise SystemExit("FAILED: %s: exit status %d, expected %d" % (a.behaviour, p.returncode, want_rc))
        if a.behaviour == "stale_single":
            if "unexpected reply" not in p.stderr:
                raise SystemExit("FAILED: stale_single: the late reply to request 1 was not refused")
            if os.path.exists(out):
                raise SystemExit("FAILED: stale_single: outputs were written from a late reply")
    print("ok")


if __name__ == "__main__":
    main()
