"""Existing corpora: JSONL(.gz) and Parquet files with a text field (CulturaX / FineWeb-2 layouts)."""
from __future__ import annotations

import contextlib
import json
import zlib
from pathlib import Path
from typing import Iterator

import pyarrow.parquet as pq

from mmedc.config import SourceConfig
from mmedc.sources.base import Record, short_error


def _record(src: SourceConfig, obj, fallback_id: str) -> Record:
    if not isinstance(obj, dict):
        return Record.failed(fallback_id, f"not_an_object: {type(obj).__name__}")
    rid = obj.get(src.id_field)
    rid = f"{src.name}:{rid}" if rid not in (None, "") else fallback_id
    text = obj.get(src.text_field)
    if text is None:
        return Record.failed(rid, f"missing_field: {src.text_field!r}")
    if not isinstance(text, str):
        return Record.failed(rid, f"bad_field: {src.text_field!r} is {type(text).__name__}")
    meta = {k: v for k, v in obj.items() if k not in (src.id_field, src.text_field, src.url_field)}
    return Record.ok(rid, text, obj.get(src.url_field), **meta)


def _gzip_lines(path: Path, chunk: int = 1 << 20) -> Iterator[bytes]:
    """Lines of a gzip file, streamed, so that everything before a truncation or corruption is kept
    (gzip.open loses the whole buffered block). Concatenated gzip members are followed."""
    d, fed, buf = zlib.decompressobj(wbits=31), False, b""
    with open(path, "rb") as f:
        while raw := f.read(chunk):
            while raw:
                buf += d.decompress(raw)
                fed = True
                raw = b""
                if d.eof:  # end of one member: the rest of this chunk starts the next one
                    raw, d, fed = d.unused_data, zlib.decompressobj(wbits=31), False
                *lines, buf = buf.split(b"\n")
                yield from (line + b"\n" for line in lines)
    if buf:
        yield buf
    if fed and not d.eof:
        raise EOFError("compressed file ended before the end-of-stream marker was reached")


def read_jsonl(src: SourceConfig, path: Path) -> Iterator[Record]:
    base = f"{src.name}:{path.name}"
    n = 0
    try:
        lines = _gzip_lines(path) if path.name.endswith(".gz") else open(path, "rb")
        with contextlib.closing(lines) if hasattr(lines, "close") else contextlib.nullcontext(lines) as f:
            for n, raw in enumerate(f, 1):
                if not raw.strip():
                    continue
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as e:
                    yield Record.failed(f"{base}#{n}", f"undecodable_line: {short_error(e)}")
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as e:
                    yield Record.failed(f"{base}#{n}", f"invalid_json: line {n}: {e.msg} at column {e.colno}")
                    continue
                yield _record(src, obj, f"{base}#{n}")
    except (EOFError, zlib.error, OSError) as e:
        # A truncated or corrupt gzip: what was read before stays; the rest of the file is one failure.
        yield Record.failed(f"{base}#after-{n}", f"corrupt_file: after line {n}: {short_error(e)}")


def read_parquet(src: SourceConfig, path: Path) -> Iterator[Record]:
    base = f"{src.name}:{path.name}"
    n = 0
    try:
        pf = pq.ParquetFile(path)
        if src.text_field not in pf.schema_arrow.names:
            yield Record.failed(base, f"missing_field: {src.text_field!r} not in {pf.schema_arrow.names}")
            return
        for batch in pf.iter_batches(batch_size=4096):
            for obj in batch.to_pylist():
                n += 1
                yield _record(src, obj, f"{base}#{n}")
    except Exception as e:  # noqa: BLE001 - any corrupt-file error becomes one recorded failure
        yield Record.failed(f"{base}#after-{n}", f"corrupt_file: after row {n}: {short_error(e)}")
