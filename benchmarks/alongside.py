"""digitnet's share of the matmul limit measured alongside its own training, chunk by chunk.

The shared host's speed drifts within seconds, and a slow spell inside a 1.5 s epoch can
escape products timed before and after it. Here training runs in chunks of CHUNK_BATCHES
minibatches with one 1024x1024 product timed between every two, so each chunk is set
against the machine's speed at that moment. Only digitnet runs this way: its products and
the probes share NumPy's OpenBLAS threads, whereas PyTorch's own thread pool and NumPy's
would contend at every switch (measured: PyTorch's epoch doubled). Part of benchmarks/speed.py.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from functools import partial

import numpy as np
from timing import square_product_gflops, timings
from workloads import BATCH, digitnet_runner, mlp_flops_per_sample

CHUNK_BATCHES = 64  # minibatches trained between two samples of the matmul limit


def limit_alongside(
    train: Callable[[np.ndarray], None],
    order: np.ndarray,
    probe: tuple[np.ndarray, np.ndarray],
    scale: float,
) -> tuple[float, float]:
    """(seconds of train(order), the matmul limit over those seconds): a chunk's limit is the
    faster of the probe products on either side of it times `scale` (the run's best
    2048x2048 rate over its best 1024x1024 one, at least 1), weighted by the chunk's
    seconds. The probes evict the network from the caches between chunks, which costs the
    training, never flatters it."""
    a, b = probe

    def limit_now() -> float:
        return scale * square_product_gflops(a, b, 1)[0]

    step = CHUNK_BATCHES * BATCH
    total = weighted = 0.0
    before = limit_now()
    for start in range(0, len(order), step):
        (seconds,) = timings(partial(train, order[start : start + step]), 1)
        after = limit_now()
        total += seconds
        weighted += seconds * max(before, after)
        before = after
    return total, weighted / total


def share_alongside(
    x: np.ndarray,
    labels: np.ndarray,
    sizes: tuple[int, ...],
    probe: tuple[np.ndarray, np.ndarray],
    scale: float,
    repeats: int,
    images: int,
) -> dict:
    """digitnet's MLP of `sizes`, trained for `repeats` passes over `images` samples, each
    pass's GFLOP/s over the limit alongside it; median and best share."""
    runner = digitnet_runner(x, labels, sizes)
    rng = np.random.default_rng(2)
    runner.train(rng.permutation(len(x))[: 4 * BATCH])  # warm-up
    gflop = images * mlp_flops_per_sample(sizes) / 1e9
    seconds, limits = [], []
    for _ in range(repeats):
        taken, limit = limit_alongside(runner.train, rng.permutation(len(x))[:images], probe, scale)
        seconds.append(taken)
        limits.append(limit)
    shares = [gflop / s / v for s, v in zip(seconds, limits, strict=True)]
    return {
        "network": "-".join(map(str, sizes)),
        "images": images,
        "chunk_batches": CHUNK_BATCHES,
        "probe_scale": round(scale, 3),
        "seconds": [round(s, 4) for s in seconds],
        "gflops": [round(gflop / s, 1) for s in seconds],
        "limit_gflops": [round(v, 1) for v in limits],
        "share_median": statistics.median(shares),
        "share_best": max(shares),
    }
