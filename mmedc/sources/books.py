"""Textbooks: one record per PDF, pages through the text layer or OCR (mmedc.extract.pdf).

The OCR language of a book: the first `lang_by_path` pattern that matches the end of its path
(a file name, "zh/*" for a folder, "ru/**/*.pdf"), else the source's `lang`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from mmedc.core.readers import reader
from mmedc.core.record import Record
from mmedc.extract.pdf import extract_pdf
from mmedc.sources.registry import declared_lang as book_lang  # noqa: F401 - the OCR language




@reader("pdf", suffixes=(".pdf",), options=("ocr",))
def read_pdf(src, path: Path, ocr=None) -> Iterator[Record]:
    yield extract_pdf(f"{src.name}:{path.name}", path, lang=book_lang(src, path), ocr=ocr)
