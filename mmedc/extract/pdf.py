"""PDF book → one record: PyMuPDF's text layer per page, tesseract OCR for scanned pages, book cleanup.

Per page the method is recorded: `text` (text layer), `ocr`, `blank` (no usable text and nothing
drawn to read), `skipped` (outside MMedC's page range for long books) or `failed` (with the error in
`page_errors`; the rest of the book goes on). A licence the PDF's own metadata names (info fields or
XMP, mmedc.extract.licence) is kept as `licence` / `licence_from`, so that a team can filter on it.
"""
from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from mmedc.config import OcrConfig
from mmedc.extract.book_cleanup import Page, clean_book, page_number_re, page_range
from mmedc.extract.licence import pdf_doc_licence
from mmedc.extract.ocr import ocr_pages
from mmedc.extract.ocr_settings import ocr_settings
from mmedc.core.errors import short_error
from mmedc.core.record import Record

# MMedC: a page is scanned when its alphanumeric ratio < 0.5 or it has < 200 alphanumeric characters.
MIN_ALNUM_RATIO = 0.5
MIN_ALNUM_CHARS = 200
# Added here: a text layer whose glyphs map to nothing readable (U+FFFD, private use, control
# characters: fonts without a Unicode map) is garbage even when long — read that page with OCR.
MAX_GARBLED_RATIO = 0.1
# A page with a poor text layer is only worth OCR when something is drawn on it: an image, or many
# vector paths (text converted to outlines); otherwise it is blank or a short heading.
MIN_DRAWINGS_FOR_OCR = 50


def _char_counts(text: str) -> Counter:
    """Characters and how often they occur (counted in C): the page rules below then look at each
    distinct character once, not at every character of a dense page."""
    return Counter(text)


def is_scanned(text: str, counts: Counter | None = None) -> bool:
    """MMedC's rule: too few alphanumeric characters, or too small a share of them."""
    counts = _char_counts(text) if counts is None else counts
    alnum = chars = 0
    for c, n in counts.items():
        if not c.isspace():
            chars += n
            alnum += n if c.isalnum() else 0
    return alnum < MIN_ALNUM_CHARS or (alnum / max(chars, 1)) < MIN_ALNUM_RATIO


def garbled_ratio(text: str, counts: Counter | None = None) -> float:
    counts = _char_counts(text) if counts is None else counts
    bad = chars = 0
    for c, n in counts.items():
        if not c.isspace():
            chars += n
            bad += n if c == "\ufffd" or unicodedata.category(c) in ("Co", "Cn", "Cc", "Cs") else 0
    return bad / max(chars, 1)


def needs_ocr(page, text: str) -> str:
    """`text`, `ocr` or `blank` for one page, from its text layer and what is drawn on it."""
    counts = _char_counts(text)
    garbled = garbled_ratio(text, counts) > MAX_GARBLED_RATIO
    if not garbled and not is_scanned(text, counts):
        return "text"
    if garbled or page.get_images(full=False) or len(page.get_cdrawings()) >= MIN_DRAWINGS_FOR_OCR:
        return "ocr"
    return "text" if text.strip() else "blank"


def text_layer(page) -> Page:
    """Paragraphs (PyMuPDF text blocks) of lines, in the order of the content stream (no layout)."""
    from mmedc.extract.pymupdf_import import load_pymupdf
    pymupdf = load_pymupdf()

    flags = pymupdf.TEXT_PRESERVE_WHITESPACE | pymupdf.TEXT_MEDIABOX_CLIP  # ligatures expanded
    paras = []
    for b in page.get_text("blocks", flags=flags):
        if b[6] == 0:
            lines = [ln.strip() for ln in b[4].splitlines() if ln.strip()]
            if lines:
                paras.append(lines)
    return paras


def read_text_page(page, pnum, layout: bool) -> tuple[Page, str, dict | None]:
    """One text-layer page → paragraphs in reading order, all of its text (for the OCR decision), and
    its layout record (None without layout)."""
    if not layout:
        paras = text_layer(page)
        return paras, "\n".join(ln for p in paras for ln in p), None
    from mmedc.extract.layout import pdf_page_layout

    try:
        lay = pdf_page_layout(page, pnum)
    except Exception as e:  # noqa: BLE001 - an unforeseen page: read it without layout, say why
        paras = text_layer(page)
        return paras, "\n".join(ln for p in paras for ln in p), {"error": f"layout: {short_error(e)}"}
    return lay.paragraphs, lay.text, lay.record


@dataclass
class PageInfo:
    method: str
    paragraphs: Page = field(default_factory=list)
    confidence: float | None = None
    rotated: int = 0
    error: str | None = None
    layout: dict | None = None  # what the page layout found and removed (mmedc.extract.layout)

    @property
    def chars(self) -> int:
        return sum(len(ln) for p in self.paragraphs for ln in p)


def read_pages(doc, path: Path, lang: str | None, ocr: OcrConfig, max_pages: int | None = None,
               pages: tuple[int, int | None] | None = None) -> list[PageInfo]:
    """Every page's text through the text layer or OCR (in parallel), in page order; `pages` (1-based,
    inclusive, from a book list) replaces the MMedC page-range rule."""
    n = doc.page_count
    keep = range(pages[0] - 1, min(n, pages[1] or n)) if pages else page_range(n) if ocr.book_range else range(n)
    if max_pages is not None:
        keep = keep[:max_pages]
    infos = [PageInfo("skipped") for _ in range(n)]
    settings = ocr_settings(lang)
    pnum = page_number_re(settings["page_words"])
    for i in keep:
        try:
            page = doc.load_page(i)
            paras, text, record = read_text_page(page, pnum, ocr.layout)
            method = needs_ocr(page, text)
            if method == "ocr" and not ocr.enabled:
                method = "text" if paras else "blank"
            infos[i] = PageInfo(method, paras if method == "text" else [], layout=record if method == "text" else None)
        except Exception as e:  # noqa: BLE001 - a page that fails, fails alone
            infos[i] = PageInfo("failed", error=short_error(e))
    todo = [i for i in keep if infos[i].method == "ocr"]
    for i, r in ocr_pages(str(path), todo, settings, ocr.dpi, ocr.orientation, ocr.workers,
                          ocr.pages_per_task, ocr.layout).items():
        if r.error:
            infos[i] = PageInfo("failed", error=r.error)
        else:
            infos[i] = PageInfo("ocr", r.paragraphs, None if r.confidence is None else round(r.confidence, 2),
                                r.rotated, layout=r.layout)
    return infos


def extract_pdf(rid: str, path: Path, lang: str | None, ocr: OcrConfig, max_pages: int | None = None,
                pages: tuple[int, int | None] | None = None) -> Record:
    """One record for one PDF book; corrupt, encrypted, empty or unreadable books become `failed`."""
    from mmedc.extract.pymupdf_import import load_pymupdf
    pymupdf = load_pymupdf()

    try:
        from mmedc.core.storage import local_copy

        doc = pymupdf.open(local_copy(path))  # a book in an object store: this node's cached copy
    except Exception as e:  # noqa: BLE001
        return Record.failed(rid, f"corrupt_pdf: {short_error(e)}")
    with doc:
        if doc.needs_pass:
            return Record.failed(rid, "encrypted_pdf: password required")
        if doc.page_count == 0:
            return Record.failed(rid, "empty_pdf: zero pages")
        title = (doc.metadata or {}).get("title") or None
        licence = pdf_doc_licence(doc)  # metadata only: milliseconds, whatever the book's size
        try:
            settings = ocr_settings(lang)
        except Exception as e:  # noqa: BLE001 - a broken ocr/<lang>.toml: said per book, the run goes on
            return Record.failed(rid, f"ocr_settings: {short_error(e)}")
        try:
            infos = read_pages(doc, path, lang, ocr, max_pages, pages)
        except Exception as e:  # noqa: BLE001 - e.g. a broken page tree
            return Record.failed(rid, f"corrupt_pdf: {short_error(e)}")
    text, cleanup = clean_book([p.paragraphs for p in infos], settings["page_words"], settings["hyphenation"])
    # lines removed as page furniture: per page by the layout, then by the book's repetition rule
    cleanup["header_lines_removed"] += sum(p.layout.get("furniture", 0) for p in infos if p.layout)
    methods = [p.method for p in infos]
    confs = [p.confidence for p in infos if p.method == "ocr" and p.confidence is not None]
    meta = {
        "pages": len(infos), "ocr_pages": methods.count("ocr"), "text_pages": methods.count("text"),
        "mean_ocr_confidence": round(sum(confs) / len(confs), 2) if confs else None,
        "page_methods": methods,
        "page_confidence": [p.confidence for p in infos],
        "page_chars": [p.chars for p in infos],
        "rotated_pages": {i: p.rotated for i, p in enumerate(infos) if p.rotated},
        "page_errors": [{"page": i, "error": p.error} for i, p in enumerate(infos) if p.error],
        "layout": [p.layout for p in infos],
        "ocr_lang": settings["tesseract"] if "ocr" in methods else None,
        "lang": lang, "title": title, **cleanup,
    }
    if licence:
        meta["licence"], meta["licence_from"] = licence
    read = [m for m in methods if m != "skipped"]
    if read and all(m == "failed" for m in read):
        return Record.failed(rid, f"unreadable_pdf: every page failed ({infos[0].error or meta['page_errors'][0]['error']})",
                             **meta)
    if read and all(m in ("blank", "failed") for m in read):
        return Record.failed(rid, "no_content: no text layer and nothing to OCR on any page", **meta)
    return Record.ok(rid, text, None, **meta)
