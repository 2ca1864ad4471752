"""The executor interface: worker pools keep one kind of task out of another's processes."""
from __future__ import annotations

import os


def where_am_i(*_deps) -> tuple[int, str | None, str | None]:
    return os.getpid(), os.environ.get("MMEDC_POOL"), os.environ.get("OMP_THREAD_LIMIT")


def test_tasks_of_a_pool_run_in_workers_of_their_own(ray_local):
    import sys

    from ray import cloudpickle

    from mmedc.executor.ray_executor import RayExecutor

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import this test module
    ex = RayExecutor()
    plain = {ex.result(ex.submit(where_am_i, name="plain")) for _ in range(4)}
    pooled = set(ex.map(where_am_i, [()] * 4, name="pooled", pool="finalize"))
    assert {p for _, p, _ in plain} == {None}
    assert {p for _, p, _ in pooled} == {"finalize"}
    # The run's settings for every task still reach a pool's workers (merged, not replaced).
    assert {t for _, _, t in pooled} == {"1"}
    assert not {pid for pid, _, _ in plain} & {pid for pid, _, _ in pooled}


def test_the_local_executor_takes_the_same_options():
    from mmedc.executor.base import LocalExecutor

    ex = LocalExecutor()
    assert ex.map(where_am_i, [()], name="x", pool="finalize")[0][0] == os.getpid()
