"""Existing corpora: JSONL(.gz) and Parquet files with a text field (CulturaX / FineWeb-2 layouts)."""
from __future__ import annotations

import json
import re
import zlib
from pathlib import Path
from typing import Iterator

import pyarrow.parquet as pq

from mmedc.core import storage
from mmedc.config import LimitsConfig
from mmedc.core.decisions import FAILED
from mmedc.core.errors import short_error
from mmedc.core.readers import reader
from mmedc.core.record import Record, printable


DEFAULT_LIMITS = LimitsConfig()
_ESCAPED_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")  # "\ud800": the only way JSON text makes one


def _record(src, obj, where: str, unicode_ok: bool = False) -> Record:
    if not isinstance(obj, dict):
        return _failed_at(where, f"not_an_object: {type(obj).__name__}")
    rid = obj.get(src.id_field)
    if rid in (None, ""):
        rid = where
    elif isinstance(rid, (str, int)) and not isinstance(rid, bool):
        rid = f"{src.name}:{rid}"
    else:
        return Record(where, FAILED, f"bad_field: {src.id_field!r} is {type(rid).__name__}", where=where)
    text = obj.get(src.text_field)
    if text is None:
        rec = Record.failed(rid, f"missing_field: {src.text_field!r}")
    elif not isinstance(text, str):
        rec = Record.failed(rid, f"bad_field: {src.text_field!r} is {type(text).__name__}")
    else:
        meta = {k: v for k, v in obj.items() if k not in (src.id_field, src.text_field, src.url_field)}
        rec = Record.ok(rid, text, obj.get(src.url_field), **meta)
    rec.where, rec.unicode_ok = where, unicode_ok
    return rec


def _failed_at(where: str, reason: str) -> Record:
    return Record(where, FAILED, reason, where=where)


class _TooLong:
    """Stands for a line over `max_line_bytes` (never held in memory)."""

    def __init__(self, size: int, ended: bool):
        self.size, self.ended = size, ended  # ended: the line's end was found (else the reading stopped)


class _FileLimit(Exception):
    pass


def _lines(chunks: Iterator[bytes], max_line: int, skip_long: bool, offset: int = 0) -> Iterator[tuple[int, object]]:
    """(byte offset, line) from a stream of chunks, with memory bounded by `max_line`: a longer line
    is yielded as a _TooLong and skipped to its end (`skip_long`), or ends the reading (a compressed
    stream: finding the end means decompressing it all, and such a line is almost always a bomb).
    Each chunk is searched once and a line is joined once: linear in the input."""
    pending: list[bytes] = []
    plen = 0
    start_off = offset
    skipping = False
    broken: list[BaseException] = []

    def until_broken():  # a truncated stream: the line it cut is still yielded (it fails as a record)
        try:
            yield from chunks
        except (EOFError, zlib.error, OSError) as e:
            broken.append(e)

    for data in until_broken():
        pos = 0
        while True:
            i = data.find(b"\n", pos)
            if i < 0:
                break
            piece = data[pos:i + 1]
            if skipping:
                yield start_off, _TooLong(plen + len(piece), True)
                skipping = False
            elif plen + len(piece) > max_line:
                yield start_off, _TooLong(plen + len(piece), True)
            else:
                yield start_off, (b"".join(pending) + piece) if pending else piece
            pending, plen = [], 0
            pos = i + 1
            start_off = offset + pos
        rest = data[pos:] if pos else data
        offset += len(data)
        if not rest:
            continue
        plen += len(rest)
        if skipping:
            continue
        if plen > max_line:
            pending = []
            if not skip_long:
                yield start_off, _TooLong(plen, False)
                return
            skipping = True
        else:
            pending.append(rest)
    if skipping or pending:
        yield start_off, _TooLong(plen, True) if skipping else b"".join(pending)
    if broken:
        raise broken[0]


def _file_chunks(f, max_bytes: int, start: int = 0, chunk: int = 1 << 20) -> Iterator[bytes]:
    read = 0
    while data := f.read(chunk):
        read += len(data)
        if read > max_bytes:  # the lines within the limit are read; the one it cuts is not
            yield data[:len(data) - (read - max_bytes)]
            raise _FileLimit(f"limit: max_file_bytes: more than {max_bytes:,} bytes read")
        yield data


def _gzip_chunks(path: Path, max_bytes: int, chunk: int = 1 << 16, out_max: int = 4 << 20) -> Iterator[bytes]:
    """Decompressed pieces of a gzip file, streamed, so that everything before a truncation or
    corruption is kept (gzip.open loses the whole buffered block); concatenated members are followed.
    Each piece is at most `out_max` bytes, however well the input compresses."""
    d, fed, total = zlib.decompressobj(wbits=31), False, 0
    with storage.open_input(path) as f:
        while raw := f.read(chunk):
            while raw:
                out = d.decompress(raw, out_max)
                fed = True
                raw = d.unconsumed_tail
                if d.eof:  # end of one member: the rest of this chunk starts the next one
                    raw, d, fed = d.unused_data, zlib.decompressobj(wbits=31), False
                if out:
                    total += len(out)
                    if total > max_bytes:
                        yield out[:len(out) - (total - max_bytes)]
                        raise _FileLimit(f"limit: max_file_bytes: more than {max_bytes:,} bytes decompressed")
                    yield out
    if fed and not d.eof:
        raise EOFError("compressed file ended before the end-of-stream marker was reached")


def split_jsonl(src, path: Path, unit_docs: int, unit_bytes: int) -> list[tuple[int, int, int | None]]:
    """Byte ranges of about `unit_bytes` for a plain JSONL file (a gzip stream cannot be entered in the
    middle: it stays one unit). A range owns the lines that start inside it."""
    size = storage.size(path)
    if storage.path(path).name.endswith(".gz") or size <= unit_bytes:
        return [(0, size, None)]
    return [(a, min(a + unit_bytes, size), None) for a in range(0, size, unit_bytes)]


def _plain_lines(f, start: int, end: int, limits) -> Iterator[tuple[int, object]]:
    """(byte offset, line) for the lines that start in [start, end)."""
    pos = start
    if start > 0:  # the line running across `start` belongs to the range before
        f.seek(start - 1)
        for off, line in _lines(_file_chunks(f, limits.max_file_bytes), limits.max_line_bytes, True, start - 1):
            pos = off + (line.size if isinstance(line, _TooLong) else len(line))
            break
        f.seek(pos)
    for off, line in _lines(_file_chunks(f, limits.max_file_bytes), limits.max_line_bytes, True, pos):
        if off >= end:
            return
        yield off, line


@reader("jsonl", suffixes=(".jsonl", ".jsonl.gz", ".json", ".json.gz"), split=split_jsonl, options=("limits",))
def read_jsonl(src, path: Path, part: tuple[int, int] | None = None, limits=None) -> Iterator[Record]:
    """A whole file's records (fallback ids `file#line`), or the lines starting in the byte range
    `part` of a plain file (fallback ids `file@offset`, since line numbers are unknown mid-file).
    Lines over `[limits] max_line_bytes` fail without being held in memory."""
    path = storage.path(path)
    limits = limits or DEFAULT_LIMITS
    base = f"{src.name}:{printable(path.name, 1000)}"  # a name may hold undecodable bytes
    n = 0
    gz = path.name.endswith(".gz")
    try:
        with storage.open_input(path) as f:
            if part is not None:
                numbered = ((f"@{off}", raw) for off, raw in _plain_lines(f, *part, limits))
            else:
                chunks = _gzip_chunks(path, limits.max_file_bytes) if gz else _file_chunks(f, limits.max_file_bytes)
                lines = _lines(chunks, limits.max_line_bytes, skip_long=not gz)
                numbered = ((f"#{i}", raw) for i, (_, raw) in enumerate(lines, 1))
            for n, (tag, raw) in enumerate(numbered, 1):
                where = f"line {tag[1:]}" if tag[0] == "#" else f"byte {tag[1:]}"
                if isinstance(raw, _TooLong):
                    rest = "" if raw.ended else "; the rest of the compressed file is not read"
                    yield _failed_at(f"{base}{tag}", f"limit: max_line_bytes: {where} is over "
                                        f"{limits.max_line_bytes:,} bytes{rest}")
                    continue
                if not raw.strip():
                    continue
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as e:
                    yield _failed_at(f"{base}{tag}", f"undecodable_line: {short_error(e)}")
                    continue
                try:
                    obj = json.loads(line)
                except (ValueError, RecursionError) as e:  # also: an integer of over 4,300 digits
                    msg = (f"{e.msg} at column {e.colno}" if isinstance(e, json.JSONDecodeError) else
                           "nested too deeply" if isinstance(e, RecursionError) else short_error(e))
                    yield _failed_at(f"{base}{tag}", f"invalid_json: {where}: {msg}")
                    continue
                yield _record(src, obj, f"{base}{tag}", unicode_ok=not _ESCAPED_SURROGATE.search(raw))
    except _FileLimit as e:
        yield Record.failed(f"{base}#after-{n}", f"{e}: after line {n}")
    except (EOFError, zlib.error, OSError) as e:
        # A truncated or corrupt gzip: what was read before stays; the rest of the file is one failure.
        yield Record.failed(f"{base}#after-{n}", f"corrupt_file: after line {n}: {short_error(e)}")


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


@reader("parquet", suffixes=(".parquet",), split=split_parquet, options=("limits",))
def read_parquet(src, path: Path, part: tuple[int, int] | None = None, batch_size: int = 2048,
                 limits=None) -> Iterator[Record]:
    """Rows of a Parquet file (or the rows [start, end) of `part`, made of whole row groups), read
    batch by batch and only the columns a record uses beyond the text: memory stays per batch. A text
    cell over `[limits] max_line_bytes` fails its row before it becomes a Python string."""
    path = storage.path(path)
    limits = limits or DEFAULT_LIMITS
    base = f"{src.name}:{printable(path.name, 1000)}"  # a name may hold undecodable bytes
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
            batch, sizes = _cap_text(batch, src.text_field, limits.max_line_bytes)
            for i, obj in enumerate(batch.to_pylist()):
                n += 1
                if sizes is not None and sizes[i] is not None and sizes[i] > limits.max_line_bytes:
                    yield _failed_at(f"{base}#{n}", f"limit: max_line_bytes: row {n}'s {src.text_field!r} is "
                                        f"{sizes[i]:,} bytes > {limits.max_line_bytes:,}")
                    continue
                yield _record(src, obj, f"{base}#{n}", unicode_ok=True)  # Arrow strings are valid UTF-8
    except Exception as e:  # noqa: BLE001 - any corrupt-file error becomes one recorded failure
        yield Record.failed(f"{base}#after-{n}", f"corrupt_file: after row {n}: {short_error(e)}")


def _cap_text(batch, field: str, max_bytes: int):
    """The batch with text cells over max_bytes nulled (their sizes returned), so that a 200 MB cell
    never becomes a Python string."""
    import pyarrow as pa
    import pyarrow.compute as pc

    i = batch.schema.get_field_index(field)
    col = batch.column(i)
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        return batch, None
    sizes = pc.binary_length(col)
    over = pc.greater(sizes, max_bytes)
    if not pc.any(over).as_py():
        return batch, None
    capped = pc.if_else(over, pa.scalar(None, col.type), col)
    return batch.set_column(i, batch.schema.field(i), capped), sizes.to_pylist()
