"""calib_ref.py — docs/quantization.md's definitions of calibration, written again in numpy from
that page (not from compiler/quant/): the set's hash, the histograms, the minmax, percentile and
entropy thresholds, and the int8 parameters. The tests compare `edgecc calibrate` with these."""
import hashlib
import math
import os
import struct

import numpy as np

BINS = 2048
LEVELS = 128
EPS = 1e-4


def f32(x):
    """x rounded to float32, as a Python float."""
    return float(np.float32(x))


def bits(x):
    return "0x%08x" % struct.unpack("<I", struct.pack("<f", x))[0]


def set_hash(dir_, rels, method, max_):
    """SHA-256 of the set: per file (in sample order, then input order) its path relative to DIR,
    a NUL, its length as 8 bytes little endian, its bytes; then `method=M\\nmax=N\\n`."""
    h = hashlib.sha256()
    for rel in rels:
        with open(os.path.join(dir_, rel), "rb") as f:
            data = f.read()
        h.update(rel.encode() + b"\0" + struct.pack("<Q", len(data)) + data)
    h.update(("method=%s\nmax=%d\n" % (method, max_)).encode())
    return h.hexdigest()


class Stats:
    """One tensor's min, max and histograms over the set, from its arrays (float32), two passes
    as the page says: the range first, then the histograms over it."""

    def __init__(self, arrays):
        arrays = [np.asarray(a, np.float32).ravel() for a in arrays]
        self.arrays = arrays
        self.min = float(min(a.min() for a in arrays))
        self.max = float(max(a.max() for a in arrays))
        self.count = sum(a.size for a in arrays)
        self.A = max(abs(self.min), abs(self.max))  # exact: a float32 held in a double

    def abs_hist(self):
        h = np.zeros(BINS, np.int64)
        for a in self.arrays:
            k = (np.abs(a).astype(np.float64) * float(BINS) / self.A).astype(np.int64)
            h += np.bincount(np.minimum(k, BINS - 1), minlength=BINS)
        return h

    def signed_hist(self):
        h = np.zeros(BINS, np.int64)
        for a in self.arrays:
            k = ((a.astype(np.float64) + self.A) * float(BINS // 2) / self.A).astype(np.int64)
            h += np.bincount(np.clip(k, 0, BINS - 1), minlength=BINS)
        return h


def percentile_threshold(h, A):
    total = int(h.sum())
    cum = np.cumsum(h).astype(object)  # Python integers: no overflow, no rounding
    k = next(i for i in range(BINS) if cum[i] * 100000 >= total * 99999)
    return A * (k + 1) / BINS


def smooth(v):
    zeros = int((v == 0).sum())
    if zeros == v.size:
        return None
    s = float(v.sum())
    out = np.where(v == 0, EPS, v * (1.0 - EPS * zeros / s))
    return out


def entropy_curve(h):
    """KL_i for i = 64 .. 1024 (inf where q is all zero), as the page defines them."""
    half = BINS // 2
    h = h.astype(np.float64)
    kls = []
    for i in range(LEVELS // 2, half + 1):
        start, n = half - i, 2 * i
        sliced = h[start:start + n]
        p = sliced.copy()
        p[0] += h[:start].sum()
        p[-1] += h[start + n:].sum()
        # Level of each bin: n // 128 bins a level, the leftover bins in the last one.
        level = np.minimum(np.arange(n) // (n // LEVELS), LEVELS - 1)
        sums = np.bincount(level, weights=sliced, minlength=LEVELS)  # integer counts: exact
        nonzero = np.bincount(level, weights=(p != 0), minlength=LEVELS)
        with np.errstate(invalid="ignore", divide="ignore"):
            q = np.where(p != 0, sums[level] / nonzero[level], 0.0)
        ps, qs = smooth(p), smooth(q)
        if ps is None or qs is None:
            kls.append(math.inf)
            continue
        P, Q = ps / ps.sum(), qs / qs.sum()
        kls.append(float((P * np.log(P / Q)).sum()))
    return np.array(kls)


def entropy_threshold(h, A):
    kls = entropy_curve(h)
    i = int(np.argmin(kls)) + LEVELS // 2  # argmin: the first minimum
    return A * i / (BINS // 2), kls


def qparams(lo, hi):
    l, h = min(lo, 0.0), max(hi, 0.0)
    s = f32((h - l) / 255.0)
    if not s > 0:
        return 1.0, 0
    z = round(-128.0 - l / s)  # Python's round: ties to even
    return s, int(min(127, max(-128, z)))


def expected(stats, method):
    """The activation entry the page defines: min, max, threshold, lo, hi, scale, zero_point."""
    mn, mx, A = f32(stats.min), f32(stats.max), stats.A
    if method == "minmax" or A == 0:
        t = A
    elif method == "percentile":
        t = percentile_threshold(stats.abs_hist(), A)
    else:
        t, _ = entropy_threshold(stats.signed_hist(), A)
    t = f32(t)
    lo, hi = max(-t, mn), min(t, mx)
    scale, zp = qparams(lo, hi)
    return {"min": mn, "max": mx, "threshold": t, "lo": lo, "hi": hi, "scale": scale,
            "zero_point": zp, "count": stats.count}


def weight_scales(w, axis):
    """Per-channel max |w| and scale = float(absmax / 127) (1 for an all-zero channel)."""
    w = np.asarray(w, np.float32)
    if axis < 0:
        absmax = np.array([np.abs(w).max()], np.float32)
    else:
        absmax = np.moveaxis(np.abs(w), axis, 0).reshape(w.shape[axis], -1).max(axis=1)
    scale = [f32(float(a) / 127.0) if a > 0 else 1.0 for a in absmax]
    return [float(a) for a in absmax], scale
