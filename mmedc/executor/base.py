"""The executor interface and the in-process executor."""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator


@dataclass(eq=False)
class Handle:
    """A submitted task: `ref` is the executor's own object (a Ray ObjectRef, or a finished result)."""
    name: str
    ref: Any = None
    error: BaseException | None = field(default=None, repr=False)


class Executor:
    distributed = False

    def submit(self, fn: Callable, *args, name: str, num_cpus: float = 1, retries: int = 3,
               deps: Iterable[Handle] = (), fresh: bool = False, pool: str | None = None) -> Handle:
        """Run fn(*args) as a task after `deps` finished (their results may be passed as extra
        arguments: task functions take `*_deps`). `fresh`: a new worker process for this task.
        `pool`: tasks of a pool run in worker processes of their own (reused within the pool), so
        what one kind of task loads (a tokenizer) never adds to another's (the filter's models)."""
        raise NotImplementedError

    def as_completed(self, handles: list[Handle]) -> Iterator[Handle]:
        raise NotImplementedError

    def result(self, handle: Handle):
        """The task's return value; raises its error."""
        raise NotImplementedError

    def map(self, fn: Callable, calls: list[tuple], name: str, num_cpus: float = 1, retries: int = 3,
            pool: str | None = None) -> list:
        """fn(*call) for every call as tasks; results in call order (the first error is raised)."""
        hs = [self.submit(fn, *c, name=name, num_cpus=num_cpus, retries=retries, pool=pool) for c in calls]
        return [self.result(h) for h in hs]

    def node_id(self) -> str | None:
        return None

    def cpus(self) -> int:
        return os.cpu_count() or 1


class LocalExecutor(Executor):
    """Runs each task at submit time in this process: deterministic, debuggable, no Ray."""

    def submit(self, fn, *args, name, num_cpus=1, retries=3, deps=(), fresh=False, pool=None):
        h = Handle(name)
        bad = [d for d in deps if d.error is not None]
        if bad:
            h.error = RuntimeError(f"{name}: dependency {bad[0].name} failed: {bad[0].error}")
            return h
        try:
            h.ref = fn(*args)
        except Exception as e:  # noqa: BLE001 - kept on the handle, raised by result()
            h.error = e
        return h

    def as_completed(self, handles):
        yield from handles

    def result(self, handle):
        if handle.error is not None:
            raise handle.error
        return handle.ref


_ACTIVE: list[Executor] = []


@contextmanager
def use(ex: Executor):
    """Make `ex` the executor that `current()` returns in this process while the block runs."""
    _ACTIVE.append(ex)
    try:
        yield ex
    finally:
        _ACTIVE.pop()


def current() -> Executor:
    """The executor set by `use()`; else Ray when this process has Ray running (the driver after
    `start`, or inside a Ray task); else in-process. Ray is only looked at when something already
    imported it."""
    if _ACTIVE:
        return _ACTIVE[-1]
    if "ray" in sys.modules:
        from mmedc.executor.ray_executor import RayExecutor

        if RayExecutor.active():
            return RayExecutor()
    return LocalExecutor()
