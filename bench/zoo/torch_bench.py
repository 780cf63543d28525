#!/usr/bin/python3
"""torch_bench.py MODEL THREADS RUNS: torchvision MODEL (as tests/models/export_zoo.py builds it),
torch.set_num_threads(THREADS), run under OPENBLAS_NUM_THREADS=1 by the caller. Prints one JSON
line {"median_ms", "rss_growth_mb"}: RSS from before the model is built to after the runs."""
import json
import os
import statistics
import sys
import time


def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1e3
    return 0.0


def main():
    name, threads, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    import torch
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "models"))
    import export_zoo
    torch.set_num_threads(threads)
    rss0 = rss_mb()
    model, side = export_zoo.build(name)
    x = torch.randn(1, 3, side, side, generator=torch.Generator().manual_seed(3))
    times = []
    with torch.no_grad():
        model(x)
        for _ in range(runs):
            t0 = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - t0) * 1e3)
    print(json.dumps({"median_ms": statistics.median(times), "rss_growth_mb": rss_mb() - rss0}))


if __name__ == "__main__":
    main()
