"""Textbooks: one record per PDF, pages through the text layer or OCR (mmedc.extract.pdf), and book lists.

The OCR language of a book: its book-list entry's `lang`, else the entry's `language`, else the first
`lang_by_path` pattern that matches the end of its path (a file name, "zh/*" for a folder,
"ru/**/*.pdf"), else the source's `lang` (mmedc.sources.registry.declared_lang).

A book list (`books = "books.tsv"` on a `kind = "pdf"` source) names the books a run should read by
title; the source then reads the listed books only (docs/books.md). Which list entry a file belongs
to is decided from the file's path alone, so the driver (planning units, writing the list's audit)
and a worker (reading one book) always agree:
1. the first entry whose `file` (a path, folder or glob, relative to the list's folder) names it;
2. else, among entries without a `file`, the one whose normalised title is found in the file's
   normalised name (`normalise`) at word boundaries; the longest title wins (so "Clinical Anatomy"
   beats "Anatomy"), then the first listed.
"""
from __future__ import annotations

import functools
import os
import re
import unicodedata
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import Iterator

from mmedc.core.readers import reader
from mmedc.core.record import Record
from mmedc.extract.pdf import extract_pdf
from mmedc.sources.registry import declared_lang as book_lang  # noqa: F401 - the OCR language

COLUMNS = ("title", "language", "file", "pages", "lang")
REQUIRED = ("title", "language")
STEP = "books"  # the audit step of a list's rows (mmedc.audit.schema.LIST_STEPS)


class BookListError(ValueError):
    """A book list that cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class BookEntry:
    line: int  # line number in the list (1 = the header)
    title: str
    language: str
    file: str | None = None  # as written in the list
    pages: tuple[int, int | None] | None = None  # 1-based, inclusive; None = the MMedC page-range rule
    lang: str | None = None  # OCR / declared language override, e.g. "zh+en"

    @functools.cached_property
    def key(self) -> str:
        return normalise(self.title)

    @property
    def page_text(self) -> str | None:
        if self.pages is None:
            return None
        return f"{self.pages[0]}-{self.pages[1] or ''}"


class BookList:
    """A parsed list and its lookup: exact `file` paths and folders in a dict, globs one by one, titles
    through one Aho-Corasick automaton, so a file's entry costs its name's length, not the list's."""

    def __init__(self, path: str, entries: tuple[BookEntry, ...]):
        self.path, self.entries = path, entries
        self._index = None

    @property
    def folder(self):
        from mmedc.core import storage

        return storage.path(self.path).parent  # a local folder, or a URI's

    def _build(self):
        import ahocorasick_rs

        exact: dict[str, BookEntry] = {}
        globs: list[tuple[str, BookEntry]] = []
        by_title: dict[str, BookEntry] = {}
        for e in self.entries:
            if e.file:
                pat = _explicit(e, self.folder)
                if any(c in pat for c in "*?["):
                    globs.append((pat, e))
                else:
                    exact.setdefault(pat.rstrip("/"), e)
            else:
                by_title.setdefault(e.key, e)  # the same title twice (two languages): the first listed
        titles = list(by_title.values())
        ac = ahocorasick_rs.AhoCorasick([e.key for e in titles]) if titles else None
        self._index = (exact, globs, (ac, titles))
        return self._index

    def entry_for(self, path: str) -> BookEntry | None:
        """The entry a file belongs to (module docstring), or None: not a listed book."""
        exact, globs, titles = self._index or self._build()
        hits = [exact[p] for p in [path, *_parents(path)] if p in exact]  # the file, or a folder above it
        hits += [e for pat, e in globs if fnmatch(path, pat) or fnmatch(path, pat.replace("**/", ""))]
        if hits:
            return min(hits, key=lambda e: e.line)
        ac, entries = titles
        if ac is None:
            return None
        name = normalise(Path(path).name.removesuffix(Path(path).suffix))
        best = None
        for i, start, _ in ac.find_matches_as_indexes(name, overlapping=True):
            e = entries[i]
            if _title_in(e.key, name, start) and (
                    best is None or (-len(e.key), e.line) < (-len(best.key), best.line)):
                best = e
        return best


_APOSTROPHES = str.maketrans("", "", "'’‘`´ʼ")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def _parents(p: str) -> Iterator[str]:
    """"/a/b/c.pdf" -> "/a/b", "/a", "" (string cuts: the same for a URI)."""
    while "/" in p:
        p = p.rsplit("/", 1)[0]
        yield p


def normalise(s: str) -> str:
    """Titles and file names compared alike: NFKC, case-folded, accents and apostrophes dropped,
    every run of other non-alphanumeric characters (spaces, `_`, `-`, `.`, `,` ...) one space.
    "Harrison's Principles of Internal Medicine, 21st Ed." -> "harrisons principles of internal medicine 21st ed".
    Marks on CJK characters (kana voicing: が) are kept, recomposed."""
    s = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", s).casefold())
    kept, prev = [], ""
    for c in s:
        if not unicodedata.combining(c):
            prev = c
        elif not _CJK.match(prev):
            continue  # an accent on a Latin / Cyrillic / Greek letter
        kept.append(c)
    s = unicodedata.normalize("NFC", "".join(kept)).translate(_APOSTROPHES)
    return " ".join("".join(c if c.isalnum() else " " for c in s).split())


def _title_in(title: str, name: str, i: int) -> bool:
    """The occurrence of `title` at `name[i:]` (both normalised) starts and ends at word boundaries:
    a space, an end, or a CJK character beside it (CJK names have no spaces)."""
    j = i + len(title)
    left = i == 0 or name[i - 1] == " " or bool(_CJK.match(name[i - 1]) or _CJK.match(name[i]))
    right = j == len(name) or name[j] == " " or bool(_CJK.match(name[j]) or _CJK.match(name[j - 1]))
    return left and right


def _pages(text: str) -> tuple[int, int | None]:
    m = re.fullmatch(r"\s*(\d*)\s*-\s*(\d*)\s*|\s*(\d+)\s*", text)
    if not m or (m.group(3) is None and not (m.group(1) or m.group(2))):
        raise ValueError(f"pages {text!r} is not a range like 5-120, 5- or -120")
    if m.group(3) is not None:
        a = b = int(m.group(3))
    else:
        a, b = int(m.group(1) or 1), (int(m.group(2)) if m.group(2) else None)
    if a < 1 or (b is not None and b < a):
        raise ValueError(f"pages {text!r}: pages count from 1 and the range must not run backwards")
    return a, b


def _code(v: str, col: str, several: bool) -> str:
    from mmedc.paths import LANG_CODE

    parts = [c.strip() for c in v.replace(",", "+").split("+")] if several else [v.strip()]
    if not all(LANG_CODE.fullmatch(c) for c in parts):
        raise ValueError(f"{col} {v!r} is not a language code (en, zh, ...{'; zh+en for several' if several else ''})")
    return "+".join(parts)


def parse_book_list(text: str, name: str) -> BookList:
    """A tab-separated list with a header row naming its columns (title, language, and optionally
    file, pages, lang; any order); blank lines and lines starting with `#` are skipped.
    A malformed list raises BookListError naming `name:line`."""
    header, entries, seen = None, [], {}
    for n, raw in enumerate(text.splitlines(), 1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        cells = [c.strip() for c in raw.split("\t")]
        if header is None:
            header = [c.lower() for c in cells]
            unknown = [c for c in header if c not in COLUMNS]
            missing = [c for c in REQUIRED if c not in header]
            if unknown or missing or len(set(header)) != len(header):
                why = (f"unknown column(s) {unknown}" if unknown else f"missing column(s) {missing}" if missing
                       else "a column named twice")
                raise BookListError(f"{name}:{n}: header {cells}: {why}; columns (tab-separated): "
                                    f"title, language, and optionally file, pages, lang")
            continue
        if len(cells) > len(header):
            raise BookListError(f"{name}:{n}: {len(cells)} tab-separated cells, the header has {len(header)}")
        row = dict(zip(header, cells + [""] * (len(header) - len(cells))))
        try:
            if not row["title"]:
                raise ValueError("empty title")
            if not normalise(row["title"]):
                raise ValueError(f"title {row['title']!r} has no letters or digits")
            e = BookEntry(n, row["title"], _code(row["language"], "language", False), row.get("file") or None,
                          _pages(row["pages"]) if row.get("pages") else None,
                          _code(row["lang"], "lang", True) if row.get("lang") else None)
        except ValueError as err:
            raise BookListError(f"{name}:{n}: {err}") from None
        k = (e.key, e.language, e.file)
        if k in seen:
            raise BookListError(f"{name}:{n}: {e.title!r} ({e.language}) is listed already on line {seen[k]}")
        seen[k] = n
        entries.append(e)
    if header is None:
        raise BookListError(f"{name}: empty book list (a header row, then one book a line)")
    return BookList(name, tuple(entries))


def read_book_list(path) -> BookList:
    """The parsed list at `path` (cached per process while the file is unchanged)."""
    from mmedc.core import storage

    p = storage.path(path)
    key = storage.file_key(p)
    if key.get("size") is None:
        raise BookListError(f"book list {p} not found")
    return _read(str(p), tuple(sorted(key.items())))


@functools.lru_cache(maxsize=16)
def _read(path: str, _key: tuple) -> BookList:
    from mmedc.core import storage

    raw = storage.path(path).read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise BookListError(f"{path}:{line}: not UTF-8 text") from None
    return parse_book_list(text, path)


def _explicit(e: BookEntry, folder) -> str:
    """An entry's `file` as a full path: as written when absolute (or a URI), else from the list's folder."""
    from mmedc.core import storage

    p = storage.path(e.file, folder)
    return os.path.normpath(p) if isinstance(p, Path) else str(p)


def book_of(src, path) -> BookEntry | None:
    books = getattr(src, "books", "")
    return read_book_list(books).entry_for(str(path)) if books else None


def book_files(src, base_dir) -> list:
    """The files a source with a book list reads: its `paths` and the list's `file` entries, each
    kept when it belongs to a list entry (sorted as storage.expand sorts)."""
    from mmedc.core import storage

    blist = read_book_list(src.books)
    candidates = storage.expand(src.paths, base_dir, (".pdf",))  # a `paths` entry that is not there: an error
    for e in blist.entries:
        if e.file:
            try:
                candidates += storage.expand([e.file], blist.folder, (".pdf",))
            except FileNotFoundError:
                pass  # a listed file that is not there: that book is `missing` (write_book_audit)
    candidates = [Path(os.path.normpath(f)) if isinstance(f, Path) else f for f in candidates]  # "lib/../x" -> "x"
    found = {str(f): f for f in candidates if blist.entry_for(str(f)) is not None}
    return [found[k] for k in sorted(found, key=lambda k: k.split("/"))]


def _inputs(src, base_dir) -> list | None:
    """The files a source reads when its book list picks them (None: its `paths`, as for any kind)."""
    return book_files(src, base_dir) if getattr(src, "books", "") else None


def _languages(src) -> list[str]:
    """The languages a source's book list names (their OCR settings are part of the fingerprint);
    reading the list also checks it (BookListError)."""
    from mmedc.core import storage

    if not getattr(src, "books", "") or not storage.path(src.books).exists():
        return []
    return [v for e in read_book_list(src.books).entries for v in (e.language, e.lang) if v]


@reader("pdf", suffixes=(".pdf",), options=("ocr",), inputs=_inputs, languages=_languages)
def read_pdf(src, path: Path, ocr=None) -> Iterator[Record]:
    book = book_of(src, path)
    pages = book.pages if book else None
    yield extract_pdf(f"{src.name}:{path.name}", path, lang=book_lang(src, path), ocr=ocr, pages=pages)
