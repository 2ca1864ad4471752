"""Where a run keeps things under its output folder (`--out`, a local folder or a URI such as
`s3://bucket/run1`: paths here are `Path` or `UPath`, mmedc.core.storage)."""
from __future__ import annotations

import json

from mmedc.core.storage import path


def work(out, *parts: str):
    """`OUT/work/...`: intermediate files and completion markers."""
    p = path(out) / "work"
    for part in parts:
        p = p / part
    return p


def marker(out, stage: str, shard: str):
    return work(out, "done", stage, f"{shard}.json")


def read_marker(out, stage: str, shard: str) -> dict | None:
    return read_json(marker(out, stage, shard))


def read_json(p) -> dict | list | None:
    """A JSON file's content, None when it is not there (one request on an object store)."""
    try:
        return json.loads(path(p).read_text())
    except FileNotFoundError:
        return None


def step_totals(out) -> list[dict]:
    """Per step, in the order the run ran them: documents in / kept / dropped / failed (from the markers)."""
    totals: dict[str, dict] = {}
    for stage in ("filter", "finalize"):
        for p in sorted(work(out, "done", stage).glob("*.json"), key=str):
            for step, c in (json.loads(p.read_text()).get("counts") or {}).items():
                t = totals.setdefault(step, {"step": step, "in": 0, "kept": 0, "dropped": 0, "failed": 0})
                for k in ("kept", "dropped", "failed"):
                    t[k] += c.get(k, 0)
                    t["in"] += c.get(k, 0)
    return list(totals.values())
