"""Fault injection for the reliability tests: kill the worker process that runs a chosen task.

Off unless MMEDC_FAULTS names a JSON file (set before Ray starts, so every worker inherits it):

    {"kill": [{"stage": "filter", "shard": "corpus-00000", "times": 1}]}

The worker dies with os._exit (no cleanup, no exception: what an OOM kill or a lost machine looks
like to Ray) after the task's outputs are written and before its completion marker, the worst
moment for a crash. Kills are counted in `<file>.<stage>.<shard>.count` beside the JSON, so a retry
in a new worker process runs normally once `times` kills have happened.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

ENV = "MMEDC_FAULTS"


def maybe_kill(stage: str, shard: str):
    spec = os.environ.get(ENV)
    if not spec:
        return
    path = Path(spec)
    try:
        plan = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return
    for k in plan.get("kill", []):
        if k.get("stage") != stage or k.get("shard", shard) != shard:
            continue
        counter = path.with_name(f"{path.name}.{stage}.{shard}.count")
        n = int(counter.read_text()) if counter.exists() else 0
        if n < int(k.get("times", 1)):
            counter.write_text(str(n + 1))
            os._exit(70)
