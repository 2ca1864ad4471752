"""Best-of-N wall time of a callable, shared by the benchmarks that time code inside their process."""
from __future__ import annotations

import time


def best_of(fn, repeat: int = 3):
    """(the shortest of `repeat` timed calls in seconds, the last call's result)."""
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result
