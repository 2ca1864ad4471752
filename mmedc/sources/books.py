"""Textbooks: one record per PDF, pages through the text layer or OCR (mmedc.extract.pdf)."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from mmedc.config import OcrConfig, SourceConfig
from mmedc.extract.pdf import extract_pdf
from mmedc.sources.base import Record


def read_pdf(src: SourceConfig, path: Path, ocr: OcrConfig) -> Iterator[Record]:
    yield extract_pdf(f"{src.name}:{path.name}", path, lang=src.lang, ocr=ocr)
