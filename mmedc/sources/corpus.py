"""Existing corpora: JSONL(.gz) and Parquet files with a text field (CulturaX / FineWeb-2 layouts)."""
from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Iterator

import pyarrow.parquet as pq

from mmedc.core import storage
from mmedc.core.errors import short_error
from mmedc.core.readers import reader
from mmedc.core.record import Record


def _record(src, obj, fallback_id: str) -> Record:
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
    with storage.open_input(path) as f:
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


def split_jsonl(src, path: Path, unit_docs: int, unit_bytes: int) -> list[tuple[int, int, int | None]]:
    """Byte ranges of about `unit_bytes` for a plain JSONL file (a gzip stream cannot be entered in the
    middle: it stays one unit). A range owns the lines that start inside it."""
    size = storage.size(path)
    if storage.path(path).name.endswith(".gz") or size <= unit_bytes:
        return [(0, size, None)]
    return [(a, min(a + unit_bytes, size), None) for a in range(0, size, unit_bytes)]


def _plain_lines(path: Path, start: int, end: int) -> Iterator[tuple[int, bytes]]:
    """(byte offset, line) for the lines that start in [start, end)."""
    with storage.open_input(path) as f:
        pos = start
        if start > 0:  # the line running across `start` belongs to the range before
            f.seek(start - 1)
            pos = start - 1 + len(f.readline())
        while pos < end:
            raw = f.readline()
            if not raw:
                return
            yield pos, raw
            pos += len(raw)


@reader("jsonl", suffixes=(".jsonl", ".jsonl.gz", ".json", ".json.gz"), split=split_jsonl)
def read_jsonl(src, path: Path, part: tuple[int, int] | None = None) -> Iterator[Record]:
    """A whole file's records (fallback ids `file#line`), or the lines starting in the byte range
    `part` of a plain file (fallback ids `file@offset`, since line numbers are unknown mid-file)."""
    path = storage.path(path)
    base = f"{src.name}:{path.name}"
    n = 0
    try:
        if part is not None:
            numbered = ((f"@{off}", raw) for off, raw in _plain_lines(path, *part))
        else:
            lines = _gzip_lines(path) if path.name.endswith(".gz") else _whole_lines(path)
            numbered = ((f"#{i}", raw) for i, raw in enumerate(lines, 1))
        for n, (tag, raw) in enumerate(numbered, 1):
            if not raw.strip():
                continue
            where = f"line {tag[1:]}" if tag[0] == "#" else f"byte {tag[1:]}"
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                yield Record.failed(f"{base}{tag}", f"undecodable_line: {short_error(e)}")
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                yield Record.failed(f"{base}{tag}", f"invalid_json: {where}: {e.msg} at column {e.colno}")
                continue
            yield _record(src, obj, f"{base}{tag}")
    except (EOFError, zlib.error, OSError) as e:
        # A truncated or corrupt gzip: what was read before stays; the rest of the file is one failure.
        yield Record.failed(f"{base}#after-{n}", f"corrupt_file: after line {n}: {short_error(e)}")


def _whole_lines(path: Path) -> Iterator[bytes]:
    with storage.open_input(path) as f:
        yield from f


def split_parquet(src, path: Path, unit_docs: int, unit_bytes: int) -> list[tuple[int, int, int | None]]:
    """Row ranges made of whole row groups, about `unit_docs` rows each (from the footer only)."""
    where, fs = storage.arrow(path)
    md = pq.read_metadata(where, filesystem=fs)
    parts, start, rows = [], 0, 0
    for g in range(md.num_row_groups):
        rows += md.row_group(g).num_rows
        if rows - start >= unit_docs:
            parts.append((start, rows, rows - start))
            start = rows
    if rows > start or not parts:
        parts.append((start, rows, rows - start))
    return parts


@reader("parquet", suffixes=(".parquet",), split=split_parquet)
def read_parquet(src, path: Path, part: tuple[int, int] | None = None, batch_size: int = 2048) -> Iterator[Record]:
    """Rows of a Parquet file (or the rows [start, end) of `part`, made of whole row groups), read
    batch by batch and only the columns a record uses beyond the text: memory stays per batch."""
    path = storage.path(path)
    base = f"{src.name}:{path.name}"
    n = part[0] if part else 0
    try:
        where, fs = storage.arrow(path)
        pf = pq.ParquetFile(where, filesystem=fs)
        if src.text_field not in pf.schema_arrow.names:
            yield Record.failed(base if not part else f"{base}#{n + 1}", f"missing_field: {src.text_field!r} not in {pf.schema_arrow.names}")
            return
        groups, first = [], 0
        for g in range(pf.metadata.num_row_groups):
            rows = pf.metadata.row_group(g).num_rows
            if part is None or part[0] <= first < part[1]:
                groups.append(g)
            first += rows
        if not groups:
            return
        for batch in pf.iter_batches(batch_size=batch_size, row_groups=groups):
            for obj in batch.to_pylist():
                n += 1
                yield _record(src, obj, f"{base}#{n}")
    except Exception as e:  # noqa: BLE001 - any corrupt-file error becomes one recorded failure
        yield Record.failed(f"{base}#after-{n}", f"corrupt_file: after row {n}: {short_error(e)}")
