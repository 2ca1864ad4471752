"""A progress bar per stage while Ray tasks finish; task failures are collected, not raised."""
from __future__ import annotations

import sys


class StageProgress:
    def __init__(self, refs: dict[str, list], labels: dict, enabled: bool = True):
        self.refs = refs
        self.labels = labels
        self.enabled = enabled

    def wait(self) -> list[str]:
        import ray
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        stage_of = {r: s for s, rs in self.refs.items() for r in rs}
        pending = list(stage_of)
        failed = []
        with Progress(TextColumn("{task.description:<9}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      disable=not self.enabled or not sys.stderr.isatty(), transient=False) as bar:
            tasks = {s: bar.add_task(s, total=len(rs)) for s, rs in self.refs.items() if rs}
            while pending:
                done, pending = ray.wait(pending, num_returns=1, timeout=None)
                for r in done:
                    try:
                        ray.get(r)
                    except Exception as e:  # noqa: BLE001 - recorded; other shards go on
                        failed.append(f"{self.labels.get(r, '?')} ({type(e).__name__})")
                    stage = stage_of[r]
                    bar.advance(tasks[stage])
                    left = sum(1 for p in pending if stage_of[p] == stage)
                    if self.enabled and not sys.stderr.isatty() and left == 0:
                        print(f"{stage}: {len(self.refs[stage])} task(s) done", file=sys.stderr, flush=True)
        return failed
