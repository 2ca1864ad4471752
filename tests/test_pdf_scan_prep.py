"""Scan preparation before tesseract (mmedc.extract.scan_prep): a scan's own resolution, denoising only
speckled pages, deskewing turned pages — and what tesseract then reads."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image
from rapidfuzz.distance import Levenshtein

from mmedc.bench.pdf_ocr_cer import TEXTS, pdf_of, scan_image
from mmedc.config import OcrConfig
from mmedc.extract import scan_prep
from mmedc.extract.pdf import extract_pdf
from mmedc.extract.pymupdf_import import load_pymupdf


def _cer(ref: str, got: str) -> float:
    ref, got = " ".join(ref.split()), " ".join(got.split())
    return Levenshtein.distance(ref, got) / len(ref)


def test_scan_read_at_its_own_resolution(tmp_path):
    pdf = pdf_of(scan_image(TEXTS["en"], "lowres", 0), tmp_path / "a.pdf", 100)
    with load_pymupdf().open(pdf) as doc:
        assert scan_prep.scan_dpi(doc[0], 300) == 100  # not resampled to 300 dpi
        assert scan_prep.scan_dpi(doc[0], 72) == 72  # [ocr] dpi stays the cap
        blank = load_pymupdf().open()
        assert scan_prep.scan_dpi(blank.new_page(), 300) == 300  # no image: as configured


def test_only_speckled_pages_are_denoised_and_turned_pages_levelled():
    clean = Image.open(io.BytesIO(scan_image(TEXTS["en"], "clean", 0))).convert("L")
    assert scan_prep.prepare(clean)[1] == []
    noisy = Image.open(io.BytesIO(scan_image(TEXTS["en"], "noise", 0))).convert("L")
    im, steps = scan_prep.prepare(noisy)
    assert steps[:1] == ["denoise"] and scan_prep.midgrey(np.asarray(im)) < scan_prep.midgrey(np.asarray(noisy))
    turned = Image.open(io.BytesIO(scan_image(TEXTS["en"], "skew", 0))).convert("L")  # turned 4°
    angle = scan_prep.skew_angle(turned)
    assert abs(angle + 4) <= 0.5, angle


def test_speckled_and_turned_scans_read(tmp_path):
    # (bench pdf_ocr_cer: without these steps tesseract reads nothing of the speckled page, CER 1.0,
    # and splits the turned page's lines into columns)
    ref = " ".join(TEXTS["en"])
    noisy = pdf_of(scan_image(TEXTS["en"], "noise", 0), tmp_path / "n.pdf", 200)
    turned = pdf_of(scan_image(TEXTS["fr"], "skew", 1), tmp_path / "t.pdf", 200)
    fast = OcrConfig(workers=1, orientation=False)
    rec = extract_pdf("n", noisy, "en", fast)
    assert rec.meta["layout"][0]["ocr_prep"] == ["denoise"] and _cer(ref, rec.text) < 0.2
    rec = extract_pdf("t", turned, "fr", fast)
    assert rec.meta["layout"][0]["ocr_prep"][0].startswith("deskew") and _cer(" ".join(TEXTS["fr"]), rec.text) < 0.03
