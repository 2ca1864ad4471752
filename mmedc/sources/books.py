"""Textbooks: one record per PDF, pages through the text layer or OCR (mmedc.extract.pdf).

The OCR language of a book: the first `lang_by_path` pattern that matches the end of its path
(a file name, "zh/*" for a folder, "ru/**/*.pdf"), else the source's `lang`.
"""
from __future__ import annotations

from fnmatch import fnmatch
from pathlib import Path
from typing import Iterator

from mmedc.core.readers import reader
from mmedc.core.record import Record
from mmedc.extract.pdf import extract_pdf


def book_lang(src, path: Path) -> str | None:
    p = str(path)  # a local path or a URI
    for pattern, lang in (getattr(src, "lang_by_path", None) or {}).items():
        pat = pattern.replace("**/", "")  # fnmatch's "*" already crosses folders
        if fnmatch(p, pat) or fnmatch(p, "*/" + pat.lstrip("/")):
            return lang
    return src.lang


@reader("pdf", suffixes=(".pdf",), options=("ocr",))
def read_pdf(src, path: Path, ocr=None) -> Iterator[Record]:
    yield extract_pdf(f"{src.name}:{path.name}", path, lang=book_lang(src, path), ocr=ocr)
