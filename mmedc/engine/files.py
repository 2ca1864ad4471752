"""Crash-safe file writes: write to a temporary name, then rename (atomic on POSIX)."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


def _tmp(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    return tmp


def atomic_write_parquet(table: pa.Table, path: Path):
    tmp = _tmp(path)
    # Fixed writer settings (no timestamps, fixed compression) keep reruns byte-identical.
    pq.write_table(table, tmp, compression="zstd", write_statistics=True)
    os.replace(tmp, path)


def atomic_write_json(obj, path: Path):
    tmp = _tmp(path)
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False, sort_keys=False)
        f.write("\n")
    os.replace(tmp, path)

