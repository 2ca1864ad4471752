"""Loose record files for the per-stage commands (`mmedc classify / eval / clean / dedup / decontam
index`, `lang calibrate`): JSONL (plain or gzipped, one JSON object a line) and Parquet, read by one
reader so that a bad line is reported the same way by every command, with its number, and the rest of
the file is processed. Nothing here raises on a bad line or a damaged file.

Wording (the `error` of an error record; the commands print `FILE:<line>: <error>`): `kind: detail`,
with the kinds a pipeline run's audit uses for the same faults (so `audit summary` and these commands
speak alike):
    undecodable_line: byte 0xe9 at column 12 is not UTF-8
    invalid_json: Expecting ',' delimiter at column 40
    not_an_object: list
    no_text: no string `text` field
    corrupt_file: after line 34: EOFError: ...
"""
from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from mmedc.core.errors import short_error

# What the commands read; anything else is read as JSONL (gzipped when it ends in .gz).
LOOSE_SUFFIXES = (".jsonl", ".jsonl.gz", ".json", ".json.gz", ".ndjson", ".parquet")
LOOSE_HELP = "JSONL (.jsonl, .jsonl.gz) or Parquet records"
_SURROGATE = re.compile(r"[\udc80-\udcff]")  # undecodable bytes kept by errors="surrogateescape"


@dataclass
class Loose:
    """One line (JSONL) or row (Parquet) of a loose file: the record, or why it could not be read.
    `obj` is set with an error too when the line was a JSON object without a usable text field."""
    n: int  # line or row number, from 1
    obj: dict | None
    error: str | None = None
    unit: str = "line"  # "line" (JSONL), "row" (Parquet)

    @property
    def where(self) -> str:
        return f"{self.unit} {self.n}"

    def error_record(self) -> dict:
        """What the commands write in place of a record they could not read: its position and why,
        with the record's own fields when it was a JSON object (e.g. one without text)."""
        return {**(self.obj or {}), self.unit: self.n, "error": self.error}


def is_parquet(path: Path) -> bool:
    return Path(path).name.lower().endswith(".parquet")


def read_records(path: Path, text_field: str | None = "text", batch_size: int = 2048) -> Iterator[Loose]:
    """Every non-blank line (row) of a JSONL(.gz) or Parquet file, in order; errors as Loose.error."""
    path = Path(path)
    items = _parquet_rows(path, batch_size) if is_parquet(path) else _jsonl_lines(path)
    for item in items:
        if item.error is None and text_field and not isinstance(item.obj.get(text_field), str):
            item.error = f"no_text: no string `{text_field}` field"
        yield item


def _jsonl_lines(path: Path) -> Iterator[Loose]:
    """The run's bounded line reader (mmedc.sources.corpus): memory per line capped by the default
    `[limits]`, a longer line an error record, never the whole file in memory."""
    from mmedc.sources.corpus import DEFAULT_LIMITS, _FileLimit, _TooLong, _file_chunks, _gzip_chunks, _lines

    n = 0
    gz = path.name.lower().endswith(".gz")
    try:
        with open(path, "rb") as f:
            chunks = _gzip_chunks(path, DEFAULT_LIMITS.max_file_bytes) if gz else _file_chunks(f, DEFAULT_LIMITS.max_file_bytes)
            for n, (_, raw) in enumerate(_lines(chunks, DEFAULT_LIMITS.max_line_bytes, skip_long=not gz), 1):
                if isinstance(raw, _TooLong):
                    yield Loose(n, None, f"limit: max_line_bytes: line {n} is over {DEFAULT_LIMITS.max_line_bytes:,} bytes")
                    continue
                if not raw.strip():
                    continue
                yield parse_line(n, raw)
    except (OSError, EOFError, ValueError, _FileLimit) as e:  # truncated or corrupt gzip, unreadable file
        yield Loose(n + 1, None, f"corrupt_file: after line {n}: {short_error(e)}")


def parse_line(n: int, raw: bytes | str) -> Loose:
    """One JSONL line (bytes, or text that may hold surrogate-escaped bytes) → Loose."""
    if isinstance(raw, bytes):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            return Loose(n, None, f"undecodable_line: byte 0x{raw[e.start]:02x} at column {e.start + 1} is not UTF-8")
    else:
        line = raw
        m = _SURROGATE.search(line)
        if m:
            return Loose(n, None, f"undecodable_line: byte 0x{ord(m.group()) - 0xdc00:02x} at column {m.start() + 1} "
                                  "is not UTF-8")
    try:
        obj = json.loads(line.rstrip("\r\n"))  # columns of an error count on the line itself
    except json.JSONDecodeError as e:
        return Loose(n, None, f"invalid_json: {e.msg} at column {e.colno}")
    except ValueError as e:  # e.g. a number too large to convert
        return Loose(n, None, f"invalid_json: {short_error(e)}")
    if not isinstance(obj, dict):
        return Loose(n, None, f"not_an_object: {type(obj).__name__}")
    return Loose(n, obj)


def _parquet_rows(path: Path, batch_size: int) -> Iterator[Loose]:
    import pyarrow.parquet as pq

    n = 0
    try:
        pf = pq.ParquetFile(path)
        for batch in pf.iter_batches(batch_size=batch_size):
            for obj in batch.to_pylist():
                n += 1
                yield Loose(n, obj, unit="row")
    except Exception as e:  # noqa: BLE001 - any damage becomes one error record, rows before it stay
        yield Loose(n + 1, None, f"corrupt_file: after row {n}: {short_error(e)}", unit="row")


def error_lines(path: Path, errors: list[Loose], limit: int = 10) -> list[str]:
    """The lines the commands print on stderr for the first `limit` bad lines."""
    name = Path(path).name
    out = [f"{name}:{e.n}: {e.error}" for e in errors[:limit]]
    if len(errors) > limit:
        out.append(f"... and {len(errors) - limit} more")
    return out


# ---- text-handle helpers kept for readers of benchmark files (mmedc.clean.decontam)

def open_jsonl(path: Path):
    """A text handle on a `.jsonl` or `.jsonl.gz` file; undecodable bytes are kept as surrogates so
    that `json_objects` reports their line instead of the handle raising mid-file."""
    path = Path(path)
    if path.name.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8", errors="surrogateescape")
    return path.open(encoding="utf-8", errors="surrogateescape")


def json_objects(lines: Iterable[str]) -> Iterator[tuple[int, dict | None, str | None]]:
    """(line number, object, None) for each non-blank line holding a JSON object; (line number, None,
    why) for one that does not parse, is not UTF-8 or is not an object (the wording of read_records)."""
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        item = parse_line(n, line)
        yield n, item.obj, item.error
