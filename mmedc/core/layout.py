"""Where a run keeps things under its output folder (`--out`)."""
from __future__ import annotations

import json
from pathlib import Path


def work(out: Path, *parts: str) -> Path:
    """`OUT/work/...`: intermediate files and completion markers."""
    return Path(out) / "work" / Path(*parts)


def audit_file(out: Path, step: str, shard: str) -> Path:
    return Path(out) / "audit" / step / f"{shard}.parquet"


def marker(out: Path, stage: str, shard: str) -> Path:
    return work(out, "done", stage, f"{shard}.json")


def read_marker(out: Path, stage: str, shard: str) -> dict | None:
    p = marker(out, stage, shard)
    return json.loads(p.read_text()) if p.exists() else None
