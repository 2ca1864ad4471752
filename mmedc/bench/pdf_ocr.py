"""PDF books: pages/s of mmedc next to bare PyMuPDF (text layer) and the bare `tesseract` CLI (OCR),
on the same pages in the same run, and the speed-up of OCR with 2 workers over 1.

    python -m mmedc.bench pdf_ocr          (MMEDC_BENCH_OCR_PAGES=8 MMEDC_BENCH_DPI=200 to change)

The book is generated (mmedc.extract.book_samples): English text-layer pages and image-only pages.
Bare tesseract reads the very images mmedc renders (same DPI, language, page segmentation); mmedc's
time includes rendering, reading words + confidences, orientation checks and book cleanup. Runs
alternate and the best of `ROUNDS` is kept, so a busy machine hurts both sides alike.
"""
from __future__ import annotations

import os
import random
import subprocess
import tempfile
import time
from pathlib import Path

os.environ["OMP_THREAD_LIMIT"] = "1"  # both sides: one thread per tesseract, parallelism across pages

TEXT_PAGES = 200
OCR_PAGES = int(os.environ.get("MMEDC_BENCH_OCR_PAGES", "6"))
DPI = int(os.environ.get("MMEDC_BENCH_DPI", "200"))
ROUNDS = 2
WORDS = ("patient blood pressure diabetes insulin therapy dose kidney heart failure infection antibiotic "
         "fever cough asthma inhaled steroid follow-up diagnosis treatment chronic acute pain clinic risk "
         "stroke diet exercise glucose monitoring vaccine").split()


def _pages(n: int, kind: str, seed: int):
    from mmedc.extract.book_samples import PageSpec

    out = []
    for i in range(n):
        rng = random.Random(seed + i)
        paras = [(" ".join(rng.choice(WORDS) for _ in range(60)) + ".").capitalize() for _ in range(3)]
        out.append(PageSpec(paras, kind=kind, header="Clinical Medicine", footer=str(i + 1)))
    return out


def _best(fn, rounds: int = ROUNDS) -> float:
    return min(_timed(fn) for _ in range(rounds))


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def run() -> None:
    from rich.console import Console
    from rich.table import Table

    from mmedc.config import OcrConfig
    from mmedc.extract.book_samples import write_pdf
    from mmedc.extract.pdf import extract_pdf
    from mmedc.extract.pymupdf_import import load_pymupdf

    pymupdf = load_pymupdf()
    tmp = Path(tempfile.mkdtemp(prefix="mmedc-bench-pdf-"))
    text_pdf = write_pdf(tmp / "text.pdf", _pages(TEXT_PAGES, "text", 0))
    scan_pdf = write_pdf(tmp / "scan.pdf", _pages(OCR_PAGES, "scan", 1000), scan_dpi=300)
    # The images bare tesseract reads: the same renders mmedc makes (grayscale PGM at DPI).
    with pymupdf.open(scan_pdf) as doc:
        images = []
        for i, page in enumerate(doc):
            img = tmp / f"p{i}.pgm"
            page.get_pixmap(dpi=DPI, colorspace="gray").save(img, output="pgm")
            images.append(img)

    def bare_pymupdf():
        with pymupdf.open(text_pdf) as doc:
            for page in doc:
                page.get_text()

    def bare_tesseract(workers: int):
        procs: list[subprocess.Popen] = []
        for img in images:
            procs.append(subprocess.Popen(["tesseract", str(img), "-", "-l", "eng", "--psm", "3", "--dpi", str(DPI)],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            while len([p for p in procs if p.poll() is None]) >= workers:
                time.sleep(0.005)
        for p in procs:
            p.wait()

    def mmedc(path: Path, workers: int):
        rec = extract_pdf("bench", path, "en", OcrConfig(dpi=DPI, workers=workers))
        assert rec.decision == "kept", rec.reason
        return rec

    rec = mmedc(scan_pdf, 1)  # warm-up, and a check that every page really went through OCR
    assert rec.meta["page_methods"] == ["ocr"] * OCR_PAGES, rec.meta["page_methods"]
    bare_pymupdf()

    t_fitz, t_text = [], []
    t_tess1, t_ocr1 = [], []
    for _ in range(ROUNDS):  # alternate the two sides so load changes hit both
        t_fitz.append(_timed(bare_pymupdf))
        t_text.append(_timed(lambda: mmedc(text_pdf, 1)))
        t_tess1.append(_timed(lambda: bare_tesseract(1)))
        t_ocr1.append(_timed(lambda: mmedc(scan_pdf, 1)))
    tess2 = _best(lambda: bare_tesseract(2), 1)
    ocr2 = _best(lambda: mmedc(scan_pdf, 2), 1)
    fitz, text, tess1, ocr1 = min(t_fitz), min(t_text), min(t_tess1), min(t_ocr1)

    table = Table(title=f"PDF pages/s — {TEXT_PAGES} text-layer pages, {OCR_PAGES} OCR pages at {DPI} dpi "
                        f"(eng, psm 3, OMP_THREAD_LIMIT=1; best of {ROUNDS}; {os.cpu_count()} cores)")
    for col in ("what", "baseline (same pages)", "baseline pages/s", "mmedc pages/s", "mmedc vs baseline"):
        table.add_column(col, justify="right" if "/s" in col or "vs" in col else "left")
    table.add_row("text layer", "PyMuPDF page.get_text()", f"{TEXT_PAGES / fitz:.1f}", f"{TEXT_PAGES / text:.1f}",
                  f"{text / fitz:.2f}× time (classify + blocks + cleanup)")
    table.add_row("OCR, 1 worker", "tesseract CLI, 1 process", f"{OCR_PAGES / tess1:.3f}", f"{OCR_PAGES / ocr1:.3f}",
                  f"overhead {100 * (ocr1 / tess1 - 1):+.1f}% (target ≤ 10%)")
    table.add_row("OCR, 2 workers", "tesseract CLI, 2 processes", f"{OCR_PAGES / tess2:.3f}", f"{OCR_PAGES / ocr2:.3f}",
                  f"overhead {100 * (ocr2 / tess2 - 1):+.1f}%")
    table.add_row("OCR speed-up 2 vs 1", "tesseract CLI", f"{tess1 / tess2:.2f}×", f"{ocr1 / ocr2:.2f}×", "")
    Console().print(table)
    print(f"all runs (s): pymupdf {t_fitz}, mmedc text {t_text}, tesseract {t_tess1}, mmedc ocr {t_ocr1}")
