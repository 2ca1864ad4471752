"""PDF → text: PyMuPDF's text layer per page, tesseract OCR for scanned pages (MMedC's rule)."""
from __future__ import annotations

import io
import os
from pathlib import Path

from mmedc.config import OcrConfig
from mmedc.extract.ocr_settings import ocr_settings
from mmedc.sources.base import Record, short_error

# MMedC: a page is scanned when its alphanumeric ratio < 0.5 or it has < 200 alphanumeric characters.
MIN_ALNUM_RATIO = 0.5
MIN_ALNUM_CHARS = 200


def is_scanned(text: str) -> bool:
    stripped = "".join(text.split())
    alnum = sum(c.isalnum() for c in stripped)
    return alnum < MIN_ALNUM_CHARS or (alnum / max(len(stripped), 1)) < MIN_ALNUM_RATIO


def ocr_page(page, lang_codes: str, dpi: int, psm: int = 3) -> tuple[str, float]:
    """OCR one PyMuPDF page; returns (text, mean word confidence 0-100, -1 when no word)."""
    import pytesseract
    from PIL import Image

    os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # tesseract's threads are slower than page parallelism
    pix = page.get_pixmap(dpi=dpi, colorspace="gray")
    img = Image.open(io.BytesIO(pix.tobytes("png")))
    data = pytesseract.image_to_data(img, lang=lang_codes, config=f"--psm {psm}",
                                     output_type=pytesseract.Output.DICT)
    lines: dict[tuple, list[str]] = {}
    confs = []
    for i, word in enumerate(data["text"]):
        if not word.strip():
            continue
        key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
        lines.setdefault(key, []).append(word)
        confs.append(float(data["conf"][i]))
    text, prev = [], None
    for key, words in lines.items():
        if prev is not None and key[:2] != prev[:2]:
            text.append("")  # blank line between paragraphs
        text.append(" ".join(words))
        prev = key
    return "\n".join(text), (sum(confs) / len(confs) if confs else -1.0)


def extract_pdf(rid: str, path: Path, lang: str | None, ocr: OcrConfig) -> Record:
    import pymupdf

    try:
        doc = pymupdf.open(path)
    except Exception as e:  # noqa: BLE001
        return Record.failed(rid, f"corrupt_pdf: {short_error(e)}")
    with doc:
        if doc.needs_pass:
            return Record.failed(rid, "encrypted_pdf: password required")
        if doc.page_count == 0:
            return Record.failed(rid, "empty_pdf: zero pages")
        settings = ocr_settings(lang)
        pages, methods, confs, errors = [], [], [], []
        for i in range(doc.page_count):
            try:
                page = doc.load_page(i)
                text = page.get_text("text")
                if is_scanned(text) and ocr.enabled:
                    text, conf = ocr_page(page, settings["tesseract"], ocr.dpi, settings["psm"])
                    methods.append("ocr")
                    if conf >= 0:
                        confs.append(conf)
                else:
                    methods.append("text")
                pages.append(text.strip())
            except Exception as e:  # noqa: BLE001 - a page that fails, fails alone
                methods.append("failed")
                errors.append({"page": i, "error": short_error(e)})
                pages.append("")
    meta = {"pages": len(pages), "ocr_pages": methods.count("ocr"), "page_methods": methods,
            "mean_ocr_confidence": round(sum(confs) / len(confs), 2) if confs else None,
            "page_errors": errors}
    return Record.ok(rid, "\n\n".join(p for p in pages if p), None, **meta)
