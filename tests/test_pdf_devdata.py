"""Every real PDF in ../shared/data/pdf (158 from the OCRmyPDF, docling, pdfminer.six and unstructured
test suites: scanned, rotated, encrypted, broken, CJK, Arabic...) gives one record, never an exception.

To stay within the test budget this reads at most the first 2 pages of each file and runs OCR at
36 dpi: the whole path (page classification, rendering, tesseract, orientation check, cleanup, failure
handling) runs on every file, but OCR quality is measured on generated pages (test_pdf_ocr.py).
"""
from __future__ import annotations

import json
from collections import Counter

from mmedc.config import OcrConfig
from mmedc.extract.pdf import extract_pdf


def test_every_dev_pdf_gives_a_record(dev_data):
    files = sorted((dev_data / "pdf").rglob("*.pdf"))
    assert len(files) > 100
    decisions: Counter = Counter()
    by_name = {}
    for f in files:
        rec = extract_pdf(f.name, f, None, OcrConfig(dpi=36, workers=2), max_pages=2)
        assert rec.decision in ("kept", "dropped", "failed"), f
        assert rec.decision == "kept" or rec.reason, f  # every loss says why
        json.dumps(rec.meta, default=str)  # the metadata goes into the audit as JSON
        decisions[rec.decision] += 1
        by_name[str(f.relative_to(dev_data / "pdf"))] = rec
    assert decisions["kept"] > 100
    # Encrypted files are refused with that reason; text-layer files read as text; scans go to OCR.
    enc = [r for n, r in by_name.items() if "/encryption/aes-" in n]
    assert enc and all(r.decision == "failed" and r.reason.startswith("encrypted_pdf") for r in enc)
    assert by_name["pdfminer_samples/samples/nonfree/i1040nr.pdf"].meta["page_methods"][:2] == ["text", "text"]
    assert by_name["ocrmypdf_tests/tests/resources/francais.pdf"].meta["page_methods"] == ["ocr"]
    assert by_name["ocrmypdf_tests/tests/resources/invalid.pdf"].reason.startswith("corrupt_pdf")
