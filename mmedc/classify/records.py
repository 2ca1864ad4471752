"""Reading labelled / unlabelled records (JSONL, JSONL.gz or Parquet) for `mmedc classify`, `eval` and
`lang calibrate`, through the loose-file reader shared by every command (mmedc.sources.jsonl): a bad
line is reported with its number, never a crash mid-file."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from mmedc.sources.jsonl import Loose, read_records


class RecordError(ValueError):
    pass


def read_jsonl(path: Path, errors: list[Loose] | None = None) -> Iterator[dict]:
    """Records with a string `text`; bad lines go to `errors` (Loose items) or raise RecordError."""
    for item in read_records(path):
        if item.error is not None:
            if errors is None:
                raise RecordError(f"{Path(path).name}:{item.n}: {item.error}")
            errors.append(item)
            continue
        yield item.obj


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
