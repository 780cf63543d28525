#!/usr/bin/python3
"""wire_seeds.py DIR — writes the seed corpus of fuzz_wire (tests/fuzz/corpus/wire/): a few valid
frame streams of each message type, made with tests/distributed/wire.py, each after fuzz_wire's
mode byte (1: the target rewrites the CRCs, 0: sent as is). Run once; the files are committed."""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "distributed"))
from wire import frame  # noqa: E402

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
x = struct.pack("<64f", *[i * 0.25 - 8 for i in range(64)])
ids = struct.pack("<5q", 1, -2, 3, 1 << 40, 0)
seeds = {
    "request_digits": frame(0x1234, 1, [(0, 1, [1, 1, 8, 8], x)]),
    "request_two_tensors": frame(7, 2, [(1, 7, [5], ids), (0, 1, [2, 4, 8], x)]),
    "response_then_ping": frame(7, 3, [(0, 1, [1, 10], x[:40])], mtype=2) + frame(7, 4, [], mtype=4),
    "error_frame": frame(7, 5, [(12, 2, [22], b"a_p0: [next-lost] gone")], mtype=3),
    "bad_payload_crc_then_ping": frame(7, 6, [(0, 3, [3], b"abc")], pay_crc=1) + frame(7, 7, [], mtype=4),
    "rank0_and_empty": frame(7, 8, [(0, 1, [], x[:4]), (1, 1, [0, 3], b"")]),
    "long_error_text": frame(7, 9, [(10, 2, [700], b"e" * 700)], mtype=3),
    "large_tensor_then_ping": frame(7, 10, [(0, 2, [20000], bytes(range(256)) * 78 + b"x" * 32)]) +
    frame(7, 11, [], mtype=4),
    "request_model_set": frame(7, 12, [(0, 1, [1, 1, 8, 8], x)], models=5) + frame(7, 13, [], mtype=4),
    "version1_request": frame(7, 14, [(0, 1, [1, 1, 8, 8], x)], version=1),
}
for name, data in seeds.items():
    for mode in (0, 1):
        with open(os.path.join(out, "%s_%d.bin" % (name, mode)), "wb") as f:
            f.write(bytes([mode]) + data)
