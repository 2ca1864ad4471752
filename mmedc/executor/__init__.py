"""Where tasks run: one small interface (`Executor`) with an in-process implementation (tests,
debugging, the loose-file commands without Ray) and a Ray one. Ray is imported in ray_executor.py only.

    ex = current()                       # Ray when it is running here, else in-process
    h = ex.submit(fn, a, b, name="filter", deps=[h0])
    for h in ex.as_completed(handles): ex.result(h)
"""
from mmedc.executor.base import Executor, Handle, LocalExecutor, current, use

__all__ = ["Executor", "Handle", "LocalExecutor", "current", "use"]
