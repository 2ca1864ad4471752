"""Starting or joining Ray: embedded local Ray by default, an existing cluster with an address."""
from __future__ import annotations

import logging
import os

# Set for every task: tesseract's own threads are ~4x slower than page parallelism on few cores,
# and tokenizers' thread pool fights Ray's workers.
TASK_ENV = {"OMP_THREAD_LIMIT": "1", "TOKENIZERS_PARALLELISM": "false", "RAY_DEDUP_LOGS": "1"}


def init_ray(address: str | None = None, workers: int | None = None) -> bool:
    """Connect to Ray; returns True when this call started it (and so should shut it down)."""
    import ray

    if ray.is_initialized():
        return False
    os.environ.update(TASK_ENV)
    common = dict(logging_level=logging.WARNING, log_to_driver=True, configure_logging=True)
    if address:
        ray.init(address=address, runtime_env={"env_vars": TASK_ENV}, **common)
    else:
        # address="local": always a new embedded instance, never a cluster found via RAY_ADDRESS or /tmp/ray.
        ray.init(address="local", num_cpus=workers or os.cpu_count() or 1, include_dashboard=False, **common)
    return True
