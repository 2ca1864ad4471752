"""Loose JSONL records for the per-stage commands (`mmedc classify / clean / dedup / decontam index`):
plain or gzipped files, one JSON object a line, a bad line reported with its number, never a crash."""
from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Iterable, Iterator


def open_jsonl(path: Path):
    """A text handle on a `.jsonl` or `.jsonl.gz` file."""
    path = Path(path)
    return gzip.open(path, "rt", encoding="utf-8") if path.name.endswith(".gz") else path.open(encoding="utf-8")


def json_objects(lines: Iterable[str]) -> Iterator[tuple[int, dict | None, str | None]]:
    """(line number, object, None) for each non-blank line holding a JSON object; (line number, None,
    why) for one that does not parse or is not an object."""
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError as e:
            yield n, None, str(e)
            continue
        if isinstance(rec, dict):
            yield n, rec, None
        else:
            yield n, None, "not a JSON object"
