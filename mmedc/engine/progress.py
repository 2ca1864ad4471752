"""Progress while tasks finish: per stage, tasks and documents done and documents/s; task failures
are collected, not raised."""
from __future__ import annotations

import sys
import time


class StageProgress:
    def __init__(self, ex, handles: dict[str, list], enabled: bool = True):
        self.ex, self.handles, self.enabled = ex, handles, enabled

    def wait(self) -> list[str]:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        stage_of = {h.name: s for s, hs in self.handles.items() for h in hs}
        everything = [h for hs in self.handles.values() for h in hs]
        left = {s: len(hs) for s, hs in self.handles.items()}
        done_docs = {s: 0 for s in self.handles}
        busy = {s: 0.0 for s in self.handles}  # task seconds: the clock of an executor that ran them at submit
        t0 = {s: time.time() for s in self.handles}
        failed = []
        tty = sys.stderr.isatty()
        with Progress(TextColumn("{task.description:<9}"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("{task.fields[docs]:>12} docs {task.fields[rate]:>8} docs/s"), TimeElapsedColumn(),
                      disable=not self.enabled or not tty, transient=False) as bar:
            tasks = {s: bar.add_task(s, total=len(hs), docs="", rate="") for s, hs in self.handles.items()}
            for h in self.ex.as_completed(everything):
                stage = stage_of[h.name]
                try:
                    info = self.ex.result(h)
                except Exception as e:  # noqa: BLE001 - recorded; other units go on
                    failed.append(f"{h.name} ({type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''})")
                    info = None
                n = info.get("docs") if isinstance(info, dict) else None
                if n:
                    done_docs[stage] += n
                    busy[stage] += float(info.get("seconds") or 0.0)
                left[stage] -= 1
                secs = max(time.time() - t0[stage] if getattr(self.ex, "distributed", False) else busy[stage], 1e-6)
                shown = f"{done_docs[stage]:,}" if done_docs[stage] else ""
                rate = f"{done_docs[stage] / secs:,.0f}" if done_docs[stage] else ""
                bar.update(tasks[stage], advance=1, docs=shown, rate=rate)
                if self.enabled and not tty and left[stage] == 0:
                    extra = f", {done_docs[stage]:,} documents, {done_docs[stage] / secs:,.0f} docs/s" if done_docs[stage] else ""
                    print(f"{stage}: {len(self.handles[stage])} task(s) done{extra}", file=sys.stderr, flush=True)
        return failed
