"""warcio's archive iterator with bounded header reading, and finding the next record after a bad one.

warcio reads a header line by appending 16 KiB blocks to a bytes object (quadratic: a 16 MB line
takes 1 s, 32 MB 19 s, 200 MB does not finish) and keeps every header line of a record in memory.
Real header lines are short (URLs of a few KB, cookies, CSP), so here a line over MAX_HEADER_LINE,
a record whose header lines pass MAX_HEADER_BYTES or MAX_HEADER_LINES, raises HeaderLimit at once,
after reading at most that much. The reader then skips to the next record (`next_record_offset`):
the next gzip member of a per-record .warc.gz (Common Crawl's layout), or the next line starting
`WARC/1.` of an uncompressed archive. A work unit that is a byte range of a WARC finds its first
record, and the one where the next range starts, with `first_record_at` (checked record starts).
"""
from __future__ import annotations

import re
import zlib

MAX_HEADER_LINE = 1 << 20  # bytes in one WARC or HTTP header line
MAX_HEADER_BYTES = 4 << 20  # bytes in all header lines of one record (WARC + HTTP)
MAX_HEADER_LINES = 10_000  # header lines of one record
_NEXT_WARC = re.compile(rb"\nWARC/1\.[01]\r?\n")


class HeaderLimit(ValueError):
    """A record's headers are over a limit; the record is failed and the reader skips past it."""


def bounded_iterator(f, **kw):
    """warcio's ArchiveIterator over `f` from its current position, with bounded header reading."""
    from warcio.archiveiterator import ArchiveIterator
    from warcio.bufferedreaders import DecompressingBufferedReader

    class BoundedReader(DecompressingBufferedReader):
        lines = size = 0  # header lines / bytes of the record being read

        def readline(self, length=None):
            """A line, joined once (linear), at most MAX_HEADER_LINE bytes; counted against the record."""
            if length == 0:
                return b""
            self._fillbuff()
            if self.empty():
                return b""
            line = self.buff.readline(min(MAX_HEADER_LINE + 1, length or MAX_HEADER_LINE + 1))
            if not line.endswith(b"\n") and not (length and len(line) >= length):  # at a block's end
                parts, n = [line], len(line)
                while n <= MAX_HEADER_LINE:
                    self._fillbuff()
                    if self.empty():
                        break
                    part = self.buff.readline(min(MAX_HEADER_LINE + 1 - n, length - n) if length else
                                              MAX_HEADER_LINE + 1 - n)
                    parts.append(part)
                    n += len(part)
                    if part.endswith(b"\n") or (length and n >= length):
                        break
                if n > MAX_HEADER_LINE:
                    raise HeaderLimit(f"a header line over MAX_HEADER_LINE ({MAX_HEADER_LINE} bytes)")
                line = b"".join(parts)
            if len(line) > 2 or line.strip():  # blank lines between records are kept by no one
                self.lines += 1
                self.size += len(line)
                if self.size > MAX_HEADER_BYTES:
                    raise HeaderLimit(f"headers over MAX_HEADER_BYTES ({MAX_HEADER_BYTES} bytes)")
                if self.lines > MAX_HEADER_LINES:
                    raise HeaderLimit(f"over MAX_HEADER_LINES ({MAX_HEADER_LINES}) header lines")
            return line

    class BoundedIterator(ArchiveIterator):
        def __init__(self, fileobj, **kw):
            super().__init__(fileobj, **kw)
            self.reader = BoundedReader(self.fh, block_size=self.reader.block_size)  # nothing read yet

        def _next_record(self, next_line):
            self.reader.lines = 1 if next_line else 0  # the record's first line, read ahead by warcio
            self.reader.size = len(next_line or b"")
            return super()._next_record(next_line)

    return BoundedIterator(f, **kw)


def next_record_offset(f, offset: int, gzipped_members: bool) -> int | None:
    """Where the record after the one starting at `offset` starts (None: nowhere): the end of the
    gzip member starting there, or the next `WARC/1.x` line. Linear in the bytes skipped, bounded memory."""
    f.seek(offset)
    if gzipped_members:
        d, fed = zlib.decompressobj(wbits=31), 0
        try:
            while not d.eof:
                data = d.unconsumed_tail
                if not data:
                    data = f.read(1 << 20)
                    if not data:
                        return None  # the file ends inside this member
                    fed += len(data)
                d.decompress(data, 1 << 20)  # output dropped; max_length keeps a bomb member small
        except zlib.error:
            return None
        return offset + fed - len(d.unused_data)
    f.read(1)  # past the start of the bad record itself
    pos, tail = offset + 1, b""
    while chunk := f.read(1 << 20):
        buf = tail + chunk
        if m := _NEXT_WARC.search(buf):
            return pos - len(tail) + m.start() + 1
        tail = buf[-16:]
        pos += len(chunk)
    return None


# Entering a file mid-way (a work unit that is a byte range of a WARC; mmedc/sources/web.py split_warc).
_WARC_LINE = re.compile(rb"WARC/1\.[01]\r?\n")
_GZIP_MAGIC = b"\x1f\x8b\x08"  # a gzip member's first bytes (deflate)
_CONTENT_LENGTH = re.compile(rb"(?im)^content-length:[ \t]*(\d+)[ \t]*\r?$")
PROBE_BYTES = 1 << 16  # read at a candidate record start to check it


def record_per_member(f) -> bool:
    """Whether a .warc.gz (`f` at its start) holds one record per gzip member (Common Crawl's layout,
    which can be entered at any member) rather than one gzip stream around all records: its first
    member inflates to a record and ends with it. Bounded by the first record's size."""
    d, out, need, produced = zlib.decompressobj(wbits=31), bytearray(), None, 0
    while True:
        data = d.unconsumed_tail or f.read(1 << 16)
        if not data:
            return False  # the file ends inside its first member: nothing to split
        chunk = d.decompress(data, 1 << 16)
        produced += len(chunk)
        if need is None:
            seen = max(len(out) - 3, 0)
            out += chunk
            if (h := out.find(b"\r\n\r\n", seen)) >= 0:  # searched once per byte
                m = _CONTENT_LENGTH.search(out[:h + 2])
                if not _WARC_LINE.match(out) or not m:
                    return False
                need = h + 4 + int(m.group(1)) + 4  # headers, block, the CRLF CRLF after it
            elif len(out) > MAX_HEADER_BYTES:
                return False
        if d.eof:
            return need is not None and produced <= need + 64  # a few blank lines more at most
        if need is not None and produced > need + 64:
            return False  # the first member goes on past the first record: one stream


def _gzip_record_at(f, at: int) -> bool:
    """A gzip member starts at `at` and inflates to a `WARC/1.x` line (a stray 1f 8b 08 inside
    compressed data does not: its header or its deflate data is wrong, or it inflates to other bytes)."""
    f.seek(at)
    data = f.read(4096)  # a member's header and first deflate bytes (a name or extra field: rare, short)
    d, out = zlib.decompressobj(wbits=31), b""
    try:
        while len(out) < 10 and data:
            out += d.decompress(data, 10 - len(out))
            if d.eof:
                break
            data = d.unconsumed_tail
    except zlib.error:
        return False
    return bool(_WARC_LINE.match(out))


def _plain_record_at(f, at: int, size: int) -> bool:
    """A `WARC/1.x` line at `at` starts a record: its header block names a Content-Length that ends the
    record where the next `WARC/1.x` line or the file's end is (or past the end: a record cut short).
    A `WARC/1.0` line inside a page (one about web archiving) almost never passes."""
    f.seek(at)
    head = f.read(4096)  # most records' headers; a longer block is read up to PROBE_BYTES
    if not _WARC_LINE.match(head):
        return False
    if b"\n\r\n" not in head and b"\n\n" not in head and len(head) == 4096:
        head += f.read(PROBE_BYTES - 4096)
    blank = re.search(rb"\r?\n\r?\n", head)  # the end of the header block (CRLF, or LF-only writers)
    if not blank:
        return False  # headers longer than PROBE_BYTES: the part before reads the record
    m = _CONTENT_LENGTH.search(head[:blank.start() + 1])
    if not m:
        return False
    end = at + blank.end() + int(m.group(1))
    if end >= size:
        return True
    f.seek(end)
    after = f.read(64).lstrip(b"\r\n")
    return not after or after.startswith(b"WARC/1.")


def first_record_at(f, start: int, end: int, gzipped_members: bool, size: int) -> int | None:
    """The first offset in [start, end) where a record starts, checked as above (None: none there).
    A reader entering the file at `start` begins there; the reader of the range before stops there.
    The answer depends only on the bytes at each candidate, so both find the same one. Linear in the
    bytes searched, bounded memory."""
    if start == 0:
        return 0 if end > 0 else None  # the file's own start (as a whole-file read takes it)
    pat = _GZIP_MAGIC if gzipped_members else b"\nWARC/1."
    skip = 0 if gzipped_members else 1  # a plain record starts after the line break
    pos = start - skip  # the bytes searched from here
    stop = end - skip + len(pat) - 1  # the last byte a match starting before `end` can take, plus one
    tail = b""
    while pos < stop:
        f.seek(pos)
        chunk = f.read(min(1 << 20, stop - pos))  # never much past `end`: callers search short ranges too
        if not chunk:
            return None
        buf, buf_at = tail + chunk, pos - len(tail)
        i = buf.find(pat)
        while i >= 0:
            at = buf_at + i + skip
            if at >= end:
                return None
            if at >= start and (_gzip_record_at(f, at) if gzipped_members else _plain_record_at(f, at, size)):
                return at
            i = buf.find(pat, i + 1)
        tail = buf[-(len(pat) - 1):]
        pos += len(chunk)
    return None


class NextPart:
    """Where the next part of a split file starts, found by the reader of the part before as that part
    finds it (first_record_at from the range's end): this reader reads its chain of records up to
    there, every record before it, so each record is read by exactly one part."""

    def __init__(self, f, end: int, gzipped_members: bool, size: int):
        self.f, self.scan, self.gz, self.size = f, end, gzipped_members, size
        self.found: int | None = None

    def starts_at_or_before(self, offset: int) -> bool:
        """For a record this reader reached at `offset` >= the range's end: does the next part start
        at (or before) it? Searches only the bytes not searched yet: linear over the whole part."""
        if self.found is None and offset >= self.scan:
            self.found = first_record_at(self.f, self.scan, offset + 1, self.gz, self.size)
            self.scan = offset + 1
        return self.found is not None and self.found <= offset
