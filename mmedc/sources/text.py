"""Plain-text corpora: one document per file, documents split by blank lines or by a separator line,
or TSV/CSV rows with a text column; each optionally gzip- or zstd-compressed (`.gz`, `.zst`).

Reading is bounded like the JSONL reader's (mmedc.sources.corpus): lines through its chunked line
reader, one document at most `[limits] max_line_bytes`, a file at most `max_file_bytes`; a truncated
`.gz` or `.zst` keeps the documents read before the cut and adds one `failed` row. Ids are
`<source>:<file>#<n>` (n = document or data row number), or `<source>:<id>` from a table's `id_field`.
"""
from __future__ import annotations

import csv
import zlib
from pathlib import Path
from typing import Iterator

from mmedc.core import storage
from mmedc.core.errors import short_error
from mmedc.core.readers import reader
from mmedc.core.record import Record, printable
from mmedc.sources.corpus import (DEFAULT_LIMITS, _failed_at, _file_chunks, _FileLimit, _gzip_chunks, _lines,
                                  _record, _TooLong)

TABLES = {".tsv": "\t", ".csv": ","}
COMPRESSED = (".gz", ".zst")


def _table_delimiter(name: str) -> str | None:
    name = next((name[:-len(c)] for c in COMPRESSED if name.endswith(c)), name)
    return next((d for s, d in TABLES.items() if name.endswith(s)), None)


def _zstd_chunks(path: Path, max_bytes: int, slice_bytes: int = 512, out_min: int = 1 << 20) -> Iterator[bytes]:
    """Decompressed pieces of a zstd file, streamed like `_gzip_chunks`: everything before a cut or a
    corrupt block is kept, and a truncated file (its last frame never ends) raises EOFError.
    zstandard's decompressobj returns all the output of what it is fed, and one zstd block can expand
    ~32,000 times (RLE), so it is fed `slice_bytes` at a time (at most ~16 MB out per call);
    small outputs are joined to `out_min` bytes. Concatenated frames are followed."""
    import zstandard

    d, fed, total, pending, plen = zstandard.ZstdDecompressor().decompressobj(), False, 0, [], 0
    try:
        with storage.open_input(path) as f:
            while raw := f.read(1 << 16):
                view = memoryview(raw)
                for i in range(0, len(view), slice_bytes):
                    data = view[i:i + slice_bytes]
                    while data:
                        out = d.decompress(data)
                        fed, data = True, b""
                        if d.eof:  # end of one frame: what follows starts the next one
                            data, d, fed = d.unused_data, zstandard.ZstdDecompressor().decompressobj(), False
                        if out:
                            total += len(out)
                            if total > max_bytes:
                                yield b"".join(pending) + out[:len(out) - (total - max_bytes)]
                                raise _FileLimit(f"limit: max_file_bytes: more than {max_bytes:,} bytes decompressed")
                            pending.append(out)
                            plen += len(out)
                            if plen >= out_min:
                                yield b"".join(pending)
                                pending, plen = [], 0
    except zstandard.ZstdError as e:  # corrupt data: what came before stays (as with a corrupt .gz)
        if pending:
            yield b"".join(pending)
        raise OSError(f"zstd: {e}") from None
    if pending:
        yield b"".join(pending)
    if fed:
        raise EOFError("compressed file ended before the end of its last zstd frame")


def _decode(raw: bytes, first: bool) -> str:
    text = raw.decode("utf-8")  # UnicodeDecodeError: the caller fails that document
    return text[1:] if first and text.startswith("\ufeff") else text


@reader("text", suffixes=tuple(b + c for b in (".txt", ".text", ".tsv", ".csv") for c in ("", *COMPRESSED)),
        options=("limits",))
def read_text(src, path: Path, limits=None) -> Iterator[Record]:
    path = storage.path(path)
    limits = limits or DEFAULT_LIMITS
    base = f"{src.name}:{printable(path.name, 1000)}"
    gz = path.name.endswith(COMPRESSED)  # compressed: a line over the limit ends the reading (docs/engine.md)
    state = {"n": 0}  # documents (or rows) read so far; "failed": a failed row already says why
    try:
        with storage.open_input(path) as f:
            if path.name.endswith(".zst"):
                chunks = _zstd_chunks(path, limits.max_file_bytes)
            else:
                chunks = _gzip_chunks(path, limits.max_file_bytes) if gz else _file_chunks(f, limits.max_file_bytes)
            delim = _table_delimiter(path.name)
            if delim is not None:
                yield from _table(src, base, chunks, delim, limits, gz, state)
            elif getattr(src, "split", "file") == "file":
                yield from _whole(base, chunks, limits, state)
            else:
                yield from _split(src, base, chunks, limits, gz, state)
    except _FileLimit as e:
        n, state["failed"] = state["n"], True
        yield Record.failed(f"{base}#after-{n}", f"{e}: after document {n}")
    except (EOFError, zlib.error, OSError) as e:
        # A truncated or corrupt .gz / .zst: the documents read before stay; the rest of the file is one failure.
        n, state["failed"] = state["n"], True  # a file corrupt from its start is this one row, not also "empty"
        yield Record.failed(f"{base}#after-{n}", f"corrupt_file: after document {n}: {short_error(e)}")
    if state["n"] == 0 and not state.get("failed"):
        yield Record.dropped(f"{base}#1", "empty_file: no text in the file")


def _utf8(row: list[str]) -> bool:
    """False when a cell holds bytes that were not UTF-8 (decoded as lone surrogates)."""
    try:
        for v in row:
            v.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _doc(rid: str, raw: bytes, first: bool) -> Record:
    try:
        text = _decode(raw, first)
    except UnicodeDecodeError as e:
        return _failed_at(rid, f"undecodable_text: {short_error(e)}")
    text = text.rstrip("\r\n")
    if not text.strip():
        return Record.dropped(rid, "no_text")
    rec = Record.ok(rid, text)
    rec.where, rec.unicode_ok = rid, True  # strict UTF-8 decoding makes no lone surrogates
    return rec


def _whole(base: str, chunks, limits, state) -> Iterator[Record]:
    """The file is one document; reading stops once it is over `max_line_bytes`."""
    parts, size = [], 0
    for data in chunks:
        size += len(data)
        if size > limits.max_line_bytes:
            state["n"], state["failed"] = 1, True
            yield _failed_at(f"{base}#1", f"limit: max_line_bytes: the document is over {limits.max_line_bytes:,} "
                                          "bytes; the rest of the file is not read")
            return
        parts.append(data)
    raw = b"".join(parts)
    if raw.strip():
        state["n"] = 1
        yield _doc(f"{base}#1", raw, True)


def _split(src, base: str, chunks, limits, gz: bool, state) -> Iterator[Record]:
    """Documents end at a blank line (`split = "blank_lines"`) or at a line that is the separator."""
    sep = src.separator.strip().encode() if src.split == "separator" else None
    buf: list[bytes] = []
    size, over = 0, False

    def flush():
        state["n"] += 1
        rid = f"{base}#{state['n']}"
        if over:
            return _failed_at(rid, f"limit: max_line_bytes: document {state['n']} is over {limits.max_line_bytes:,} bytes")
        return _doc(rid, b"".join(buf), state["n"] == 1)

    for _, line in _lines(chunks, limits.max_line_bytes, skip_long=not gz):
        stripped = b"" if isinstance(line, _TooLong) else line.strip()
        is_end = not isinstance(line, _TooLong) and (stripped == sep if sep is not None else not stripped)
        if is_end:
            if buf or over:
                yield flush()
            buf, size, over = [], 0, False
            continue
        if isinstance(line, _TooLong):
            size += line.size
            if not line.ended:  # a compressed stream: the rest is not read
                over = True
                yield flush()
                state["failed"] = True
                return
        elif sep is not None and not buf and not over and not stripped:
            continue  # blank lines before a document's first line
        else:
            size += len(line)
        if size > limits.max_line_bytes:
            over, buf = True, []  # never held: only counted until the document ends
        elif not over:
            buf.append(line)
    if buf or over:
        yield flush()


def _table(src, base: str, chunks, delim: str, limits, gz: bool, state) -> Iterator[Record]:
    """Rows of a TSV/CSV file with a header line; `text_field` names the text column. TSV is read
    unquoted (corpora put bare quotes in text); CSV with standard quoting."""
    too_long: list[int] = []

    def text_lines():  # one line behind: the line a truncated .gz cuts is never read as a row
        prev, first = None, True
        for _, line in _lines(chunks, limits.max_line_bytes, skip_long=not gz):
            if prev is not None:
                yield conv(prev, first)
                first = False
            prev = line
        if prev is not None:
            yield conv(prev, first)

    def conv(line, first: bool) -> str:
        if isinstance(line, _TooLong):
            too_long.append(line.size)
            return "\n"  # an empty row, failed below
        s = line.decode("utf-8", "surrogateescape")  # bad bytes fail their row, not the file
        return s[1:] if first and s.startswith("\ufeff") else s

    csv.field_size_limit(max(limits.max_line_bytes, csv.field_size_limit()))  # one quoted field may span lines
    quoting = csv.QUOTE_NONE if delim == "\t" else csv.QUOTE_MINIMAL
    rows = csv.reader(text_lines(), delimiter=delim, quoting=quoting)
    header = next(rows, None)
    if not header:
        return
    if src.text_field not in header:
        state["failed"] = True
        yield Record.failed(f"{base}#header", f"missing_field: {src.text_field!r} not in {header[:50]}")
        return
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as e:
            state["n"] += 1
            yield _failed_at(f"{base}#{state['n']}", f"invalid_row: {short_error(e)}")
            continue
        if too_long:
            state["n"] += 1
            yield _failed_at(f"{base}#{state['n']}", f"limit: max_line_bytes: row {state['n']} is over "
                                                     f"{limits.max_line_bytes:,} bytes")
            too_long.clear()
            continue
        if not row:
            continue
        state["n"] += 1
        where = f"{base}#{state['n']}"
        if not _utf8(row):
            yield _failed_at(where, "undecodable_text: bytes that are not UTF-8 in this row")
            continue
        if len(row) != len(header):
            yield _failed_at(where, f"bad_row: {len(row)} columns, the header has {len(header)}")
            continue
        yield _record(src, dict(zip(header, row)), where, unicode_ok=True)
