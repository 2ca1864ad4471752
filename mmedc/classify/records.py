"""Reading labelled / unlabelled JSONL records (plain or gzipped) for `mmedc classify`, `eval` and
`lang calibrate`. A bad line is reported with its number, never a crash mid-file."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

from mmedc.sources.jsonl import open_jsonl


class RecordError(ValueError):
    pass


def read_jsonl(path: Path, errors: list | None = None) -> Iterator[dict]:
    """Records with a string `text`; bad lines go to `errors` as (line number, reason) or raise."""
    with open_jsonl(path) as f:
        try:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                    if not isinstance(rec, dict) or not isinstance(rec.get("text"), str):
                        raise ValueError("no string 'text' field")
                except ValueError as e:
                    if errors is None:
                        raise RecordError(f"{path}:{n}: {e}") from None
                    errors.append((n, str(e)[:200]))
                    continue
                yield rec
        except (OSError, EOFError) as e:  # truncated gzip and the like
            if errors is None:
                raise RecordError(f"{path}: {e}") from None
            errors.append((-1, f"unreadable: {e}"))


def lingua_negatives(folder: Path, langs, limit: int = 1000) -> list[dict]:
    """General-text sentences (lingua test data layout `<lang>.txt`, one sentence a line) as
    `non_medical` records, for languages whose labelled set has only medical records."""
    out = []
    for lang in langs:
        f = Path(folder) / f"{lang}.txt"
        if not f.exists():
            continue
        lines = [x.strip() for x in f.read_text(encoding="utf-8").splitlines() if x.strip()][:limit]
        out += [{"id": f"lingua:{lang}:{i}", "lang": lang, "label": "non_medical", "text": t, "set": "lingua"}
                for i, t in enumerate(lines)]
    return out
