"""wire.py — the ECT1 wire format (docs/wire-format.md) in Python, written from the document, not
from runtime/ecrt_wire.c: frames for test_dist.py's corrupted-frame tests, lying_server.py and the
fuzz seeds (tests/fuzz/wire_seeds.py)."""
import struct


def _crc_table():
    table = []
    for b in range(256):
        c = b
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc_table()


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = _TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def frame(plan, req, tensors, mtype=1, magic=b"ECT1", hdr_crc=None, pay_crc=None, lengths=None,
          models=0, version=2):
    """tensors: list of (id, dtype, dims, bytes). Returns the encoded frame (version 2: the model
    set after the tensor count; version=1 writes the old 32-byte header, for refusal tests)."""
    if version == 1:
        fixed = magic + struct.pack("<HHQQI", 1, mtype, plan, req, len(tensors))
    else:
        fixed = magic + struct.pack("<HHQQII", version, mtype, plan, req, len(tensors), models)
    descs = b""
    for k, (tid, dt, dims, data) in enumerate(tensors):
        n = lengths[k] if lengths else len(data)
        descs += struct.pack("<IBB", tid, dt, len(dims)) + struct.pack("<%dq" % len(dims), *dims) + \
            struct.pack("<fiQ", 0.0, 0, n)
    c = crc32c(fixed + descs) if hdr_crc is None else hdr_crc
    payload = b"".join(t[3] for t in tensors)
    pc = crc32c(payload) if pay_crc is None else pay_crc
    return fixed + struct.pack("<I", c) + descs + payload + struct.pack("<I", pc)


def recv_exact(s, n):
    b = b""
    while len(b) < n:
        k = s.recv(n - len(b))
        if not k:
            raise EOFError("connection closed after %d of %d bytes" % (len(b), n))
        b += k
    return b


def read_reply(s):
    """Reads one frame: returns (type, request id, [(id, dtype, dims, bytes)], plan id)."""
    fixed = recv_exact(s, 36)
    magic, ver, mtype, plan, req, n, models, hcrc = struct.unpack("<4sHHQQIII", fixed)
    if magic != b"ECT1" or ver != 2:
        raise SystemExit("FAILED: frame without magic or of version %d" % ver)
    descs, hdr = [], fixed[:32]
    for _ in range(n):
        head = recv_exact(s, 6)
        tid, dt, rank = struct.unpack("<IBB", head)
        rest = recv_exact(s, 8 * rank + 16)
        dims = struct.unpack("<%dq" % rank, rest[:8 * rank])
        _, _, nbytes = struct.unpack("<fiQ", rest[8 * rank:])
        descs.append((tid, dt, dims, nbytes))
        hdr += head + rest
    if crc32c(hdr) != hcrc:
        raise SystemExit("FAILED: frame with a bad header CRC")
    out = [(tid, dt, dims, recv_exact(s, nb)) for tid, dt, dims, nb in descs]
    pcrc, = struct.unpack("<I", recv_exact(s, 4))
    if crc32c(b"".join(t[3] for t in out)) != pcrc:
        raise SystemExit("FAILED: frame with a bad payload CRC")
    return mtype, req, out, plan
