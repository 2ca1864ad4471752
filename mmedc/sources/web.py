"""Web pages: local HTML files and WARC/ARC archives (Common Crawl layout), text via trafilatura."""
from __future__ import annotations

import gzip
from pathlib import Path
from typing import Iterator

from mmedc.config import SourceConfig
from mmedc.extract.html import extract_html
from mmedc.sources.base import Record, short_error


def read_html(src: SourceConfig, path: Path) -> Iterator[Record]:
    rid = f"{src.name}:{path.name}"
    try:
        raw = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
    except Exception as e:  # noqa: BLE001
        yield Record.failed(rid, f"unreadable_file: {short_error(e)}")
        return
    yield extract_html(rid, raw, url=None)


def read_warc(src: SourceConfig, path: Path) -> Iterator[Record]:
    from warcio.archiveiterator import ArchiveIterator

    base = f"{src.name}:{path.name}"
    n = 0
    seen: set[str] = set()
    try:
        with open(path, "rb") as f:
            for rec in ArchiveIterator(f, arc2warc=True):
                n += 1
                if rec.rec_type != "response":
                    continue  # request / metadata / warcinfo records carry no documents
                url = rec.rec_headers.get_header("WARC-Target-URI")
                # The URL names the document (stable across re-crawls); repeats get the record number.
                rid = f"{src.name}:{url}" if url else f"{base}#{n}"
                rid = f"{rid}#{n}" if rid in seen else rid
                seen.add(rid)
                ctype = (rec.http_headers.get_header("Content-Type") if rec.http_headers else None) or ""
                if "html" not in ctype.lower():
                    yield Record.dropped(rid, f"not_html: {ctype or 'no content-type'}", url=url)
                    continue
                try:
                    raw = rec.content_stream().read()
                except Exception as e:  # noqa: BLE001
                    yield Record.failed(rid, f"unreadable_record: {short_error(e)}", url=url)
                    continue
                yield extract_html(rid, raw, url=url, content_type=ctype)
    except Exception as e:  # noqa: BLE001 - a malformed archive stops this file, recorded, never the run
        yield Record.failed(f"{base}#after-{n}", f"malformed_archive: after record {n}: {short_error(e)}")
