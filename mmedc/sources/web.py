"""Web pages: local HTML files and WARC/ARC archives (Common Crawl layout), text via trafilatura.

A WARC holds many kinds of record; only `response` records (HTTP status line + headers + payload, what
Common Crawl and `mmedc crawl` write) and `resource` records (payload only, e.g. wget) carry pages.
request / metadata / warcinfo records are not documents and are skipped; everything that could have been
a document but is not used (non-HTML, HTTP errors, revisits, undecodable payloads) is a `dropped` or
`failed` record with its reason. A PDF payload (by type or sniffed) is read like `kind = "pdf"`
(mmedc.extract.pdf), with the record's URL and date. A malformed archive stops at the damage with one
`failed` record; a record whose headers are over a limit (warc_headers.py) fails alone. Pages are read
up to MAX_PAYLOAD (a longer one is cut there); a PDF payload is streamed to a temporary file, up to the
recipe's `[limits] max_pdf_bytes` (a longer one fails whole: a cut PDF is unreadable); a PDF the
crawler cut (`WARC-Truncated`) fails as `truncated_record` without being read. A large `.warc` or
per-record `.warc.gz` is several work units, byte ranges that each read the records starting in them
(split_warc, _read_part; docs/web.md "Split WARCs").
"""
from __future__ import annotations

import gzip
import zlib
from pathlib import Path
from typing import Iterator

from mmedc.config import LimitsConfig
from mmedc.core.readers import reader
from mmedc.core.record import printable
from mmedc.extract.html import extract_html, looks_like_html, with_url
from mmedc.sources.base import Record, short_error
from mmedc.sources.warc_headers import HeaderLimit, bounded_iterator, next_record_offset

# Common Crawl truncates payloads at 1 MiB; a page far larger than this is not prose worth parsing.
MAX_PAYLOAD = 8 << 20
# PDFs (textbooks) are larger: `[limits] max_pdf_bytes`, 64 MiB by default like `[crawl] pdf_max_bytes`.
DEFAULT_MAX_PDF = LimitsConfig.max_pdf_bytes
SNIFF_BYTES = 1 << 16  # read before deciding page or PDF; a PDF's rest goes to disk in COPY_BYTES chunks
COPY_BYTES = 1 << 20
DOC_RECORDS = ("response", "resource", "revisit")


@reader("html", suffixes=(".html", ".htm", ".html.gz", ".htm.gz"))
def read_html(src, path: Path) -> Iterator[Record]:
    rid = f"{src.name}:{path.name}"
    gz = path.name.endswith(".gz")
    try:  # never more than MAX_PAYLOAD + 1 bytes in memory, whatever the file expands to
        with (gzip.open(path.open("rb"), "rb") if gz else path.open("rb")) as f:  # a Path or a URI's UPath
            raw = f.read(MAX_PAYLOAD + 1)
    except Exception as e:  # noqa: BLE001
        yield Record.failed(rid, f"unreadable_file: {short_error(e)}")
        return
    extra = {}
    if len(raw) > MAX_PAYLOAD:
        raw = raw[:MAX_PAYLOAD]
        extra["truncated"] = f"{'decompressed ' if gz else ''}page over MAX_PAYLOAD ({MAX_PAYLOAD} bytes): cut there"
    yield extract_html(rid, raw, url=None, **extra)


def _content_type(rec) -> str:
    """The payload's type: HTTP header for responses, the WARC header for resources; Common Crawl's
    identified type when the server sent none."""
    if rec.rec_type == "response":
        ctype = rec.http_headers.get_header("Content-Type")
    else:
        ctype = rec.rec_headers.get_header("Content-Type")
    return (ctype or rec.rec_headers.get_header("WARC-Identified-Payload-Type") or "").strip()


def _status(rec) -> int | None:
    if rec.rec_type != "response":
        return None
    try:
        return int((rec.http_headers.get_statuscode() or "0").split()[0])
    except ValueError:
        return 0


def _is_pdf(kind: str, rec) -> bool:
    ident = (rec.rec_headers.get_header("WARC-Identified-Payload-Type") or "").split(";")[0].strip().lower()
    return kind in ("application/pdf", "application/x-pdf") or ident == "application/pdf"


def _pdf_doc(rid: str, head: bytes, stream, url, date, ctype: str, ocr, lang, max_pdf: int) -> Record:
    """A PDF payload (a textbook or guideline in a crawl) read like `kind = "pdf"` from a temp file.
    `head` is what was read to sniff it; the rest is copied from `stream` chunk by chunk, so the
    process never holds the PDF's bytes, only PyMuPDF's view of the file."""
    import dataclasses
    import tempfile

    from mmedc.config import OcrConfig
    from mmedc.executor import current
    from mmedc.extract.pdf import extract_pdf

    ocr = ocr or OcrConfig(enabled=False)
    if current().distributed:  # OCR tasks on another node could not open this node's temp file:
        ocr = dataclasses.replace(ocr, pages_per_task=1 << 30)  # the book's OCR stays in this task

    with tempfile.NamedTemporaryFile(suffix=".pdf") as tmp:
        size = len(head)
        tmp.write(head)
        try:
            while size <= max_pdf and (chunk := stream.read(COPY_BYTES)):
                size += len(chunk)
                tmp.write(chunk)
        except Exception as e:  # noqa: BLE001 - bad chunking / content-encoding: this record only
            return with_url(Record.failed(rid, f"unreadable_record: {short_error(e)}"), url)
        if size > max_pdf:  # a cut PDF is unreadable: say why instead of a corrupt_pdf
            return with_url(Record.failed(rid, f"limit: max_pdf_bytes: PDF payload over {max_pdf:,} bytes "
                                               "([limits] max_pdf_bytes)"), url)
        tmp.flush()
        doc = extract_pdf(rid, Path(tmp.name), lang=lang, ocr=ocr)
    doc.meta.update(fetched=date, content_type=ctype)
    return with_url(doc, url)


def record_to_doc(rid: str, rec, ocr=None, lang: str | None = None, max_pdf: int = DEFAULT_MAX_PDF) -> Record:
    """One WARC record that may carry a page or a PDF → kept / dropped / failed."""
    url = rec.rec_headers.get_header("WARC-Target-URI")
    date = rec.rec_headers.get_header("WARC-Date")
    if rec.rec_type == "revisit":
        return with_url(Record.dropped(rid, "revisit: payload stored in an earlier record"), url)
    if rec.rec_type == "response" and rec.http_headers is None:
        return with_url(Record.dropped(rid, "no_http_headers: response record without an HTTP header block"), url)
    status = _status(rec)
    if status is not None and not 200 <= status < 300:
        return with_url(Record.dropped(rid, f"http_status: {status}"), url)
    ctype = _content_type(rec)
    kind = ctype.split(";")[0].strip().lower()
    unsure = kind in ("", "text/plain", "application/octet-stream", "unk", "no-type")  # sniff the payload
    pdf = _is_pdf(kind, rec)
    if "html" not in kind and not unsure and not pdf:
        return with_url(Record.dropped(rid, f"not_html: {kind}"), url)  # images, PDFs...: payload not decoded
    try:
        stream = rec.content_stream()
        raw = stream.read(SNIFF_BYTES)
    except Exception as e:  # noqa: BLE001 - bad chunking / content-encoding: this record only
        return with_url(Record.failed(rid, f"unreadable_record: {short_error(e)}"), url)
    # A licence hint `mmedc crawl` found (mmedc.extract.licence), kept so that a team can filter on it;
    # it wins over the one a PDF's own metadata gives at read time (the crawl looked there first too).
    hint = {k: v for k, h in (("licence", "MMedC-Licence"), ("licence_from", "MMedC-Licence-From"))
            if (v := rec.rec_headers.get_header(h))}
    if pdf or (unsure and raw.lstrip()[:5] == b"%PDF-"):
        if cut := rec.rec_headers.get_header("WARC-Truncated"):
            # The crawler kept only the PDF's start (Common Crawl: 1 MiB). PyMuPDF may still open it and
            # give its first pages, which would pass for the whole book (and its page-based cleanup): fail.
            return with_url(Record.failed(rid, f"truncated_record: PDF payload cut by the crawler "
                                               f"(WARC-Truncated: {printable(cut, 100)}); a cut PDF is not read"), url)
        doc = _pdf_doc(rid, raw, stream, url, date, ctype, ocr, lang, max_pdf)
        doc.meta.update(hint)
        return doc
    if len(raw) == SNIFF_BYTES:  # a page: the rest of it, up to MAX_PAYLOAD + 1 bytes in all
        try:
            raw += stream.read(MAX_PAYLOAD + 1 - SNIFF_BYTES)
        except Exception as e:  # noqa: BLE001
            return with_url(Record.failed(rid, f"unreadable_record: {short_error(e)}"), url)
    if "html" not in kind and not looks_like_html(raw):
        return with_url(Record.dropped(rid, f"not_html: {kind or 'no content-type'}"), url)
    extra = {"fetched": date, **hint}
    if len(raw) > MAX_PAYLOAD:
        raw, extra["truncated"] = raw[:MAX_PAYLOAD], f"payload over MAX_PAYLOAD ({MAX_PAYLOAD} bytes): cut there"
    elif rec.rec_headers.get_header("WARC-Truncated"):
        extra["truncated"] = rec.rec_headers.get_header("WARC-Truncated")
    return extract_html(rid, raw, url=url, content_type=ctype, **extra)


def _missing_bytes(rec) -> int:
    """Bytes of the record's declared length that the file does not hold (0 for a whole record)."""
    stream = rec.raw_stream
    while stream.read(1 << 16):
        pass
    return max(getattr(stream, "limit", 0), 0)


def _gzip_damage(path: Path) -> str | None:
    """Why a .gz file does not end cleanly (cut inside a gzip member, or corrupt data), else None.
    warcio ends its iteration quietly on both; decompressing again costs ~1% of extracting the pages."""
    found = _gzip_damage_from(path, 0)
    return found[1] if found else None


def _gzip_damage_from(path: Path, start: int) -> tuple[int, str] | None:
    """(start of the gzip member where the damage is, why) decompressing from `start` (a member's
    start) to the end of a .gz file, else None."""
    if not path.name.endswith(".gz"):
        return None
    d, fed, member = zlib.decompressobj(wbits=31), False, start
    with path.open("rb") as f:  # a Path or a UPath (mmedc.core.storage)
        f.seek(start)
        pos = start  # file offset of the end of what was read
        while chunk := f.read(1 << 20):
            pos += len(chunk)
            while chunk:
                try:
                    d.decompress(chunk, 1 << 20)  # output dropped; max_length keeps a bomb member small
                except zlib.error as e:
                    return member, f"corrupt gzip data ({e})"
                fed, chunk = True, d.unconsumed_tail
                if d.eof:  # next member starts in the unused data
                    chunk, d, fed = d.unused_data, zlib.decompressobj(wbits=31), False
                    member = pos - len(chunk)
    return (member, "the file ends inside a gzip member (cut short)") if fed and not d.eof else None


def _label(at: str) -> str:
    """A record's place in words: `#5` → "record 5", `@1234` → "the record at byte 1234"."""
    return f"record {at[1:]}" if at[0] == "#" else f"the record at byte {at[1:]}"


def _doc_of(src: SourceConfig, base: str, at: str, rec, seen: set | None, ocr=None, lang=None,
            max_pdf: int = DEFAULT_MAX_PDF) -> Record | None:
    """The record at `at` (`#n`, its number in a whole file; `@offset`, its byte offset in a part of a
    split one) → its document row (None for records that carry none), with a cut noted."""
    doc = None
    if rec.rec_type in DOC_RECORDS:  # request / metadata / warcinfo records carry no documents
        url = rec.rec_headers.get_header("WARC-Target-URI")
        # The URL names the document (stable across re-crawls); in a whole file a repeat gets the record
        # number. A part cannot know what other parts read: a repeat keeps the URL id and the engine's
        # duplicate rule fails it (`duplicate_id`, under its place `@offset`), however the file was cut.
        rid = f"{src.name}:{url}" if url else f"{base}{at}"
        if seen is not None:
            rid = f"{rid}{at}" if rid in seen else rid
            seen.add(rid)
        doc = record_to_doc(rid, rec, ocr, lang, max_pdf)
    missing = _missing_bytes(rec)
    if missing:  # warcio stops quietly at a cut archive: say so
        cut = f"archive ends {missing} bytes before the end of {_label(at)} ({rec.rec_type})"
        if doc is not None and doc.decision == "kept":
            doc.meta["truncated"] = cut  # the text up to the cut is still a page
        else:
            doc = with_url(Record.failed(doc.id if doc else f"{base}{at}", f"truncated_record: {cut}"),
                           doc.url if doc else None)
    if doc is not None and seen is None:
        doc.where = f"{base}{at}"
    return doc


def split_warc(src, path, unit_docs: int, unit_bytes: int) -> list[tuple[int, int, None]]:
    """Byte ranges of about `unit_bytes` for a plain `.warc` or a `.warc.gz` with one gzip member per
    record (Common Crawl's layout); a range reads the records that start in it (read_warc). A file of
    at most one unit, an ARC file and a `.warc.gz` that is one gzip stream around all records (it can
    only be read from its start) stay one unit. Reads the first record only (a gzip file's layout)."""
    from mmedc.core import storage
    from mmedc.sources.warc_headers import _WARC_LINE, record_per_member

    path = storage.path(path)
    size = storage.size(path)
    if size <= unit_bytes or not path.name.endswith((".warc", ".warc.gz")):
        return [(0, size, None)]
    with path.open("rb") as f:
        if not (record_per_member(f) if path.name.endswith(".gz") else _WARC_LINE.match(f.read(16))):
            return [(0, size, None)]
    return [(a, min(a + unit_bytes, size), None) for a in range(0, size, unit_bytes)]


def _read_part(src, path: Path, part: tuple[int, int], ocr, lang, max_pdf: int) -> Iterator[Record]:
    """The records of a split WARC that start in [a, b): from the first record start at or after a
    (warc_headers.first_record_at) along the file's chain of records, up to where the next part starts
    (warc_headers.NextPart); the last one may run past b. Ids and reasons name records by byte offset
    (`@offset`), so they do not depend on where the file was cut; so does damage (a cut or corrupt gzip
    member, a malformed record), reported by the one part that owns the member or record where it is."""
    from mmedc.core import storage
    from mmedc.sources.warc_headers import NextPart, first_record_at

    a, b = part
    base = f"{src.name}:{path.name}"
    gz = path.name.endswith(".gz")
    size = storage.size(path)
    with path.open("rb") as probe:
        pos = first_record_at(probe, a, b, gz, size)
        if pos is None:
            return  # no record starts here: the one running across this range belongs to a part before
        nxt_part = NextPart(probe, b, gz, size)

        def mine(offset: int) -> bool:
            """Whether the record (or gzip member) at `offset`, on this part's chain, is this part's."""
            return offset < b or not nxt_part.starts_at_or_before(offset)

        def damage_after(offset: int) -> Record | None:
            """The damage row for a reading that stopped after the record at `offset`, if this part's."""
            if (found := _gzip_damage_from(path, offset)) and mine(found[0]):
                return Record.failed(f"{base}@after-{found[0]}",
                                     f"truncated_archive: in the gzip member at byte {found[0]}: {found[1]}")
            return None

        last = pos  # where the last record read starts
        while True:
            it = None
            try:
                with path.open("rb") as f:
                    f.seek(pos)
                    it = bounded_iterator(f, arc2warc=True)
                    for rec in it:
                        at = last = it.offset
                        if not mine(at):
                            return  # the next part reads on from here
                        if (doc := _doc_of(src, base, f"@{at}", rec, None, ocr, lang, max_pdf)) is not None:
                            yield doc
                # The reading reached the end of the file, or damage that warcio stops at quietly.
                if row := damage_after(last):
                    yield row
                return
            except HeaderLimit as e:  # this record fails alone: read on from the next one
                at = last = it.offset
                if not mine(at):
                    return
                yield Record.failed(f"{base}@{at}", f"header_limit: the record at byte {at}: {e}")
                with path.open("rb") as f:
                    nxt = next_record_offset(f, at, gz)
                if nxt is None or nxt <= at:
                    if row := damage_after(at):
                        yield row
                    return
                pos = nxt
            except Exception as e:  # noqa: BLE001 - ArchiveLoadFailed and others: recorded, never the run
                # The record being read (warcio's offset is off in a file that is not per-record gzip).
                at = it.offset if it is not None and it.offset >= last else last
                if not mine(at):
                    return  # the record that failed is the next part's: it says so
                if row := damage_after(last):  # a cut file makes warcio fail in odd ways: name the cause
                    row.reason += f" ({short_error(e)})"
                    yield row
                else:
                    yield Record.failed(f"{base}@after-{at}", f"malformed_archive: at the record at byte {at}: "
                                                              f"{short_error(e)}")
                return


@reader("warc", suffixes=(".warc", ".warc.gz", ".arc", ".arc.gz"), split=split_warc, options=("ocr", "limits"))
def read_warc(src, path: Path, ocr=None, limits=None, part: tuple[int, int] | None = None) -> Iterator[Record]:
    """A whole file's records (ids and reasons name records by number, `#n`), or those of `part`, a byte
    range of a split file (by byte offset, `@offset`: _read_part)."""
    from warcio.exceptions import ArchiveLoadFailed

    from mmedc.sources.registry import declared_lang
    lang = declared_lang(src, path)  # the OCR language of the PDFs in it
    max_pdf = limits.max_pdf_bytes if limits is not None else DEFAULT_MAX_PDF
    if part is not None:
        yield from _read_part(src, path, part, ocr, lang, max_pdf)
        return

    base = f"{src.name}:{path.name}"
    n = 0  # records read so far
    seen: set[str] = set()
    whole_gzip = False  # one gzip stream around all records (not per-record members): read it decompressed
    start, skip = 0, 0  # where the iteration starts, and how many records there were already read
    while True:
        it = None
        try:
            with (gzip.open(path.open("rb"), "rb") if whole_gzip else path.open("rb")) as f:
                f.seek(start)
                it = bounded_iterator(f, arc2warc=True)
                for i, rec in enumerate(it, 1):
                    if i > skip:
                        n += 1
                        if (doc := _doc_of(src, base, f"#{n}", rec, seen, ocr, lang, max_pdf)) is not None:
                            yield doc
            if damage := _gzip_damage(path):  # the records after the cut are lost: one failed row says so
                yield Record.failed(f"{base}#after-{n}", f"truncated_archive: after record {n}: {damage}")
            return
        except HeaderLimit as e:  # this record fails alone: read on from the next one
            at = it.offset
            n += 1
            yield Record.failed(f"{base}#{n}", f"header_limit: record {n} at byte {at}: {e}")
            if not path.is_file():  # /dev/zero, a pipe: no end to search for the next record in
                return
            with (gzip.open(path.open("rb"), "rb") if whole_gzip else path.open("rb")) as f:
                gz_members = not whole_gzip and f.read(2) == b"\x1f\x8b"
                nxt = next_record_offset(f, at, gz_members)
            if nxt is None or nxt <= at:
                if damage := _gzip_damage(path):
                    yield Record.failed(f"{base}#after-{n}", f"truncated_archive: after record {n}: {damage}")
                return
            start, skip = nxt, 0
            continue
        except ArchiveLoadFailed as e:
            if "non-chunked gzip" in str(e) and not whole_gzip:
                # warcio refuses it; plain gzip decompression reads it fine (from the start: offsets
                # in the compressed file mean nothing there)
                whole_gzip, start, skip = True, 0, n
                continue
            err = e
        except Exception as e:  # noqa: BLE001 - a malformed archive stops this file, recorded, never the run
            err = e
        damage = _gzip_damage(path)  # a cut file makes warcio fail in odd ways: name the real cause
        why = f"truncated_archive: after record {n}: {damage}" if damage else f"malformed_archive: after record {n}"
        yield Record.failed(f"{base}#after-{n}", f"{why}: {short_error(err)}")
        return
