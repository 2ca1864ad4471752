"""warcio's archive iterator with bounded header reading, and finding the next record after a bad one.

warcio reads a header line by appending 16 KiB blocks to a bytes object (quadratic: a 16 MB line
takes 1 s, 32 MB 19 s, 200 MB does not finish) and keeps every header line of a record in memory.
Real header lines are short (URLs of a few KB, cookies, CSP), so here a line over MAX_HEADER_LINE,
a record whose header lines pass MAX_HEADER_BYTES or MAX_HEADER_LINES, raises HeaderLimit at once,
after reading at most that much. The reader then skips to the next record (`next_record_offset`):
the next gzip member of a per-record .warc.gz (Common Crawl's layout), or the next line starting
`WARC/1.` of an uncompressed archive.
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
