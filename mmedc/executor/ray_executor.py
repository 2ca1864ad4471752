"""The Ray executor and Ray start-up: the only module of mmedc that imports Ray (Ray Train in
mmedc.train aside). Embedded `ray.init()` by default, an existing cluster with an address."""
from __future__ import annotations

import logging
import os

import ray

from mmedc.core.storage import ENDPOINT_ENV
from mmedc.executor.base import Executor, Handle

# Set for every task: tesseract's own threads are ~4x slower than page parallelism on few cores,
# and tokenizers' thread pool fights Ray's workers.
TASK_ENV = {"OMP_THREAD_LIMIT": "1", "TOKENIZERS_PARALLELISM": "false", "RAY_DEDUP_LOGS": "1"}
# The driver's settings that workers must share: where packs / OCR settings are and where the object
# store is (not credentials, nor MMEDC_CACHE, a path on each node: docs/cluster.md).
FORWARD_ENV = ("MMEDC_PACKS", "MMEDC_OCR", *ENDPOINT_ENV)


def worker_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment every task of this run gets on a cluster (Ray's runtime_env env_vars)."""
    env = {k: os.environ[k] for k in FORWARD_ENV if os.environ.get(k)}
    return {**TASK_ENV, **env, **(extra or {})}


def start(address: str | None = None, workers: int | None = None, env: dict[str, str] | None = None) -> bool:
    """Connect to Ray; returns True when this call started it (and so should stop it). `env`: more
    variables for every worker (the run's settings folder on a cluster)."""
    if ray.is_initialized():
        return False
    os.environ.update(TASK_ENV)
    common = dict(logging_level=logging.WARNING, log_to_driver=True, configure_logging=True)
    if address:
        ray.init(address=address, runtime_env={"env_vars": worker_env(env)}, **common)
    else:
        # address="local": always a new embedded instance, never a cluster found via RAY_ADDRESS or /tmp/ray.
        ray.init(address="local", num_cpus=workers or os.cpu_count() or 1, include_dashboard=False, **common)
    return True


def stop():
    ray.shutdown()


class RayExecutor(Executor):
    distributed = True

    @staticmethod
    def active() -> bool:
        return ray.is_initialized()

    @staticmethod
    def _task(fn, name, num_cpus, retries, fresh=False, pool=None):
        opts = {"max_calls": 1} if fresh else {}  # a fresh worker: measured memory is this task's alone
        if pool:  # Ray keeps workers per runtime_env: a variable of its own makes a pool (merged with the job's)
            opts["runtime_env"] = {"env_vars": {"MMEDC_POOL": pool}}
        return ray.remote(fn).options(name=name, num_cpus=num_cpus, max_retries=retries, **opts)

    def submit(self, fn, *args, name, num_cpus=1, retries=3, deps=(), fresh=False, pool=None):
        task = self._task(fn, name, num_cpus, retries, fresh, pool)
        # Dependencies are passed as extra arguments: Ray starts the task once they are ready.
        return Handle(name, task.remote(*args, *[d.ref for d in deps]) if deps else task.remote(*args))

    def as_completed(self, handles):
        by_ref = {h.ref: h for h in handles}
        pending = list(by_ref)
        while pending:
            done, pending = ray.wait(pending, num_returns=1, timeout=None)
            for r in done:
                yield by_ref[r]

    def result(self, handle):
        return ray.get(handle.ref)

    def map(self, fn, calls, name, num_cpus=1, retries=3, pool=None):
        task = self._task(fn, name, num_cpus, retries, pool=pool)
        return ray.get([task.remote(*c) for c in calls])

    def node_id(self):
        return ray.get_runtime_context().get_node_id()

    def cpus(self) -> int:
        return int(ray.cluster_resources().get("CPU", 1))
