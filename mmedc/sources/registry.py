"""Picks the reader for a source kind."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from mmedc.config import OcrConfig, SourceConfig
from mmedc.sources.base import Record


def read_file(src: SourceConfig, path: Path, ocr: OcrConfig) -> Iterator[Record]:
    """The records of one input file, by the source's kind (`ocr` is used by PDF sources only)."""
    if src.kind == "jsonl":
        from mmedc.sources.corpus import read_jsonl
        return read_jsonl(src, path)
    if src.kind == "parquet":
        from mmedc.sources.corpus import read_parquet
        return read_parquet(src, path)
    if src.kind == "html":
        from mmedc.sources.web import read_html
        return read_html(src, path)
    if src.kind == "warc":
        from mmedc.sources.web import read_warc
        return read_warc(src, path)
    if src.kind == "pdf":
        from mmedc.sources.books import read_pdf
        return read_pdf(src, path, ocr)
    raise ValueError(f"unknown source kind {src.kind!r}")
