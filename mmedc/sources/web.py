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
crawler cut (`WARC-Truncated`) fails as `truncated_record` without being read.
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
    if not path.name.endswith(".gz"):
        return None
    d, fed = zlib.decompressobj(wbits=31), False
    with path.open("rb") as f:  # a Path or a UPath (mmedc.core.storage)
        while chunk := f.read(1 << 20):
            while chunk:
                try:
                    d.decompress(chunk, 1 << 20)  # output dropped; max_length keeps a bomb member small
                except zlib.error as e:
                    return f"corrupt gzip data ({e})"
                fed, chunk = True, d.unconsumed_tail
                if d.eof:  # next member starts in the unused data
                    chunk, d, fed = d.unused_data, zlib.decompressobj(wbits=31), False
    return "the file ends inside a gzip member (cut short)" if fed and not d.eof else None


def _doc_of(src: SourceConfig, base: str, n: int, rec, seen: set, ocr=None, lang=None,
            max_pdf: int = DEFAULT_MAX_PDF) -> Record | None:
    """Record number n → its document row (None for records that carry none), with a cut noted."""
    doc = None
    if rec.rec_type in DOC_RECORDS:  # request / metadata / warcinfo records carry no documents
        url = rec.rec_headers.get_header("WARC-Target-URI")
        # The URL names the document (stable across re-crawls); repeats get the record number.
        rid = f"{src.name}:{url}" if url else f"{base}#{n}"
        rid = f"{rid}#{n}" if rid in seen else rid
        seen.add(rid)
        doc = record_to_doc(rid, rec, ocr, lang, max_pdf)
    missing = _missing_bytes(rec)
    if missing:  # warcio stops quietly at a cut archive: say so
        cut = f"archive ends {missing} bytes before the end of record {n} ({rec.rec_type})"
        if doc is not None and doc.decision == "kept":
            doc.meta["truncated"] = cut  # the text up to the cut is still a page
        else:
            doc = with_url(Record.failed(doc.id if doc else f"{base}#{n}", f"truncated_record: {cut}"),
                           doc.url if doc else None)
    return doc


@reader("warc", suffixes=(".warc", ".warc.gz", ".arc", ".arc.gz"), options=("ocr", "limits"))
def read_warc(src, path: Path, ocr=None, limits=None) -> Iterator[Record]:
    from warcio.exceptions import ArchiveLoadFailed

    from mmedc.sources.registry import declared_lang
    lang = declared_lang(src, path)  # the OCR language of the PDFs in it
    max_pdf = limits.max_pdf_bytes if limits is not None else DEFAULT_MAX_PDF

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
                        if (doc := _doc_of(src, base, n, rec, seen, ocr, lang, max_pdf)) is not None:
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
