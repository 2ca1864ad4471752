"""Reads a work unit (a file or a part of it) with the reader registered for its source kind."""
from __future__ import annotations

from fnmatch import fnmatch
from pathlib import Path
from typing import Iterator

from mmedc.core.readers import READERS, WorkUnit
from mmedc.core.storage import path as storage_path
from mmedc.core.record import Record


def read_file(src, path: Path, ocr=None, part: tuple[int, int] | None = None, limits=None) -> Iterator[Record]:
    """The records of one input file (or of `part` of it), by the source's kind."""
    spec = READERS.get(src.kind)
    kw = {}
    if part is not None:
        kw["part"] = part
    if "ocr" in spec.options:
        kw["ocr"] = ocr
    if "limits" in spec.options and limits is not None:  # [limits] of the recipe (docs/engine.md#limits)
        kw["limits"] = limits
    return spec.read(src, storage_path(path), **kw)  # a Path, or a UPath for a URI


def read_unit(src, unit: WorkUnit, ocr=None, limits=None) -> Iterator[Record]:
    return read_file(src, unit.path, ocr, unit.part, limits)


def declared_lang(src, path) -> str | None:
    """The language a source declares for a file: its book-list entry's `lang` or `language`, else the
    first `lang_by_path` pattern that matches the end of its path (a file name, "zh/*" for a folder,
    "ru/**/*.pdf"), else the source's `lang`."""
    p = str(path)  # a local path or a URI
    if getattr(src, "books", ""):  # a book list's entry wins (mmedc.sources.books)
        from mmedc.sources.books import book_of
        if book := book_of(src, p):
            return book.lang or book.language
    for pattern, lang in (getattr(src, "lang_by_path", None) or {}).items():
        pat = pattern.replace("**/", "")  # fnmatch's "*" already crosses folders
        if fnmatch(p, pat) or fnmatch(p, "*/" + pat.lstrip("/")):
            return lang
    return src.lang
