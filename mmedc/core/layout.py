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


def audit_file(out, step: str, shard: str):
    return path(out) / "audit" / step / f"{shard}.parquet"


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
