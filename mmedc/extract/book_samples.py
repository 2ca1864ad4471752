"""PDF books written by the project for its tests and benchmark: pages with a text layer, pages that
are only an image of text (scans), rotated scans, running headers/footers, any script.

Text is laid out with PyMuPDF's HTML boxes, whose built-in fallback fonts cover Latin, Cyrillic and
CJK, so the rendered text is known exactly and OCR can be scored against it.
"""
from __future__ import annotations

import html
import io
from dataclasses import dataclass, field
from pathlib import Path

CSS = "* {font-size: %gpt; line-height: 1.35;} p {margin: 0 0 0.6em 0;}"


@dataclass
class PageSpec:
    paragraphs: list[str]
    kind: str = "text"  # text | scan | blank
    header: str | None = None
    footer: str | None = None
    rotate: int = 0  # scans only: degrees the scanned image is turned (clockwise)
    extra_layer: str | None = None  # invisible text laid over the page (a broken text layer)
    size: tuple[float, float] = (420, 595)  # A5 portrait, points
    font_size: float = 11
    meta: dict = field(default_factory=dict)


def _latin(text: str) -> bool:
    try:
        text.encode("latin-1")
        return True
    except UnicodeEncodeError:
        return False


def _box(page, rect, paragraphs: list[str], size: float, align: int = 0) -> None:
    """Latin text through a plain text box (fast); other scripts through an HTML box (fallback fonts)."""
    if all(_latin(p) for p in paragraphs):
        page.insert_textbox(rect, "\n".join(paragraphs), fontsize=size, fontname="helv", align=align,
                            lineheight=1.35)
    else:
        style = " style='text-align:center'" if align == 1 else ""
        body = "".join(f"<p{style}>{html.escape(p)}</p>" for p in paragraphs)
        page.insert_htmlbox(rect, body, css=CSS % size)


def _draw(page, spec: PageSpec) -> None:
    from mmedc.extract.pymupdf_import import load_pymupdf
    pymupdf = load_pymupdf()

    w, h = spec.size
    m = 36
    if spec.paragraphs:
        _box(page, pymupdf.Rect(m, m + 22, w - m, h - m - 22), spec.paragraphs, spec.font_size)
    if spec.header:
        _box(page, pymupdf.Rect(m, m - 12, w - m, m + 14), [spec.header], spec.font_size - 2)
    if spec.footer:
        _box(page, pymupdf.Rect(m, h - m - 10, w - m, h - m + 16), [spec.footer], spec.font_size - 2, align=1)


def _scan(spec: PageSpec, dpi: int) -> tuple[bytes, float, float]:
    """An image of the page as a scanner would give it: grayscale, possibly turned."""
    from mmedc.extract.pymupdf_import import load_pymupdf
    pymupdf = load_pymupdf()
    from PIL import Image

    src = pymupdf.open()
    page = src.new_page(width=spec.size[0], height=spec.size[1])
    _draw(page, spec)
    pix = page.get_pixmap(dpi=dpi, colorspace="gray")
    im = Image.frombytes("L", (pix.width, pix.height), pix.samples)
    if spec.rotate:
        im = im.rotate(-spec.rotate, expand=True)  # PIL turns counter-clockwise
    buf = io.BytesIO()
    im.save(buf, "png", optimize=False)
    w, h = spec.size if spec.rotate % 180 == 0 else spec.size[::-1]
    return buf.getvalue(), w, h


def write_pdf(path: Path, pages: list[PageSpec], title: str = "", scan_dpi: int = 200) -> Path:
    from mmedc.extract.pymupdf_import import load_pymupdf
    pymupdf = load_pymupdf()

    doc = pymupdf.open()
    for spec in pages:
        if spec.kind == "scan":
            png, w, h = _scan(spec, scan_dpi)
            page = doc.new_page(width=w, height=h)
            page.insert_image(page.rect, stream=png)
        else:
            page = doc.new_page(width=spec.size[0], height=spec.size[1])
            if spec.kind == "text":
                _draw(page, spec)
        if spec.extra_layer:
            page.insert_textbox(page.rect + (20, 20, -20, -20), spec.extra_layer, fontsize=9, render_mode=3)
    doc.set_metadata({"title": title, "creationDate": "D:20260101000000", "modDate": "D:20260101000000"})
    doc.save(path, garbage=3, deflate=True, no_new_id=True)
    return Path(path)
