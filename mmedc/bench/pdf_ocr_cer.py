"""OCR quality: character error rate of mmedc's OCR next to bare `tesseract` on the very same images.

    python -m mmedc.bench pdf_ocr_cer       (MMEDC_BENCH_CER_LANGS=en,fr to choose languages)

Pages with known text, written by the project (medical paragraphs in en, fr, es, de, ru, zh), are set
with PyMuPDF, rendered to a grayscale image and degraded the way real scans are: `clean` (200 dpi),
`noise` (200 dpi, Gaussian noise σ 80 of 255 and 1% black specks), `blur` (150 dpi, Gaussian radius
1.6 px), `skew` (200 dpi, turned 4°), `lowres` (100 dpi), `worn` (120 dpi, blur 1 px, turned 1.5°,
noise σ 50, specks); each image is put alone on a PDF page (a scanned book page). mmedc reads the PDF
(`extract_pdf`: rendering at [ocr] dpi, tesseract's layout, furniture removal, orientation check,
line joining); bare tesseract reads the embedded image itself: `tesseract IMG - -l LANG` (psm 3,
its defaults) with the languages mmedc uses (`ocr/<lang>.toml`: `chi_sim+eng` for zh, a single pack
otherwise). MMEDC_OCR_PREPROCESS=0 shows mmedc without its image steps (mmedc.extract.scan_prep). Also the transcribed scans of `../shared/data/pdf` (docling's `ocr_test*.pdf`, upright
and turned 90/180/270°, with docling's expected text), when present.

CER = edit distance / reference length, after collapsing whitespace (all of it for Chinese, where
spaces mean nothing) and folding compatibility forms (NFKC); pooled over pages (sum of edits / sum of
lengths) per language and degradation.
"""
from __future__ import annotations

import io
import os
import re
import subprocess
import tempfile
import time
import unicodedata
from pathlib import Path

os.environ.setdefault("OMP_THREAD_LIMIT", "1")

TEXTS = {
    "en": ["Hypertension is diagnosed when repeated office measurements exceed 140/90 mmHg. First-line drugs "
           "include thiazide diuretics, ACE inhibitors and calcium channel blockers; most patients need two of them.",
           "Asthma is a chronic inflammatory disease of the airways with reversible obstruction. Inhaled "
           "corticosteroids are the mainstay of long-term control, and a written action plan reduces admissions."],
    "fr": ["L'hypertension artérielle est confirmée lorsque plusieurs mesures au cabinet dépassent 140/90 mmHg. "
           "Les diurétiques thiazidiques, les inhibiteurs de l'enzyme de conversion et les inhibiteurs calciques "
           "sont les traitements de première intention.",
           "Le diabète de type 2 se traite d'abord par des mesures hygiéno-diététiques ; la metformine est le "
           "médicament de référence lorsque l'hémoglobine glyquée dépasse l'objectif fixé."],
    "es": ["La neumonía adquirida en la comunidad se presenta con fiebre, tos y dificultad respiratoria. La "
           "radiografía de tórax confirma el diagnóstico y el tratamiento empírico depende de la gravedad.",
           "En los niños pequeños, la deshidratación por gastroenteritis se corrige con soluciones de "
           "rehidratación oral; la hospitalización sólo es necesaria en los casos graves."],
    "de": ["Die Herzinsuffizienz ist eine häufige Ursache für Krankenhausaufnahmen bei älteren Menschen. "
           "Betablocker, ACE-Hemmer und Diuretika verbessern die Symptome und die Prognose der Patienten.",
           "Bei Verdacht auf eine Lungenembolie wird zunächst die klinische Wahrscheinlichkeit bestimmt; "
           "anschließend folgen D-Dimer-Test und Computertomographie."],
    "ru": ["Артериальная гипертензия диагностируется при повторном повышении давления выше 140/90 мм рт. ст. "
           "Препараты первой линии: диуретики, ингибиторы АПФ и блокаторы кальциевых каналов.",
           "Бронхиальная астма — хроническое воспалительное заболевание дыхательных путей; основой лечения "
           "служат ингаляционные глюкокортикостероиды."],
    "zh": ["高血压的诊断依据是多次诊室测量血压超过140/90毫米汞柱。一线药物包括噻嗪类利尿剂、血管紧张素转换酶抑制剂和钙通道阻滞剂。",
           "支气管哮喘是一种气道慢性炎症性疾病，吸入糖皮质激素是长期控制的基础治疗。"],
}
DEGRADATIONS = ("clean", "noise", "blur", "skew", "lowres", "worn")
DPI = {"clean": 200, "noise": 200, "blur": 150, "skew": 200, "lowres": 100, "worn": 120}
SIZE = (420, 300)  # points: a small page keeps tesseract quick


def norm(s: str, cjk: bool) -> str:
    s = unicodedata.normalize("NFKC", s)
    return re.sub(r"\s+", "" if cjk else " ", s).strip()


def edits(ref: str, got: str, cjk: bool) -> tuple[int, int]:
    from rapidfuzz.distance import Levenshtein

    r, g = norm(ref, cjk), norm(got, cjk)
    return Levenshtein.distance(r, g), len(r)


def scan_image(paragraphs: list[str], kind: str, seed: int) -> bytes:
    """A page set by PyMuPDF, rendered grayscale and degraded like a scan; PNG bytes."""
    import numpy as np
    from PIL import Image, ImageFilter

    from mmedc.extract.book_samples import PageSpec, _draw
    from mmedc.extract.pymupdf_import import load_pymupdf

    pymupdf = load_pymupdf()
    src = pymupdf.open()
    page = src.new_page(width=SIZE[0], height=SIZE[1])
    _draw(page, PageSpec(paragraphs, size=SIZE, font_size=10))
    dpi = DPI[kind]
    pix = page.get_pixmap(dpi=dpi, colorspace="gray")
    im = Image.frombytes("L", (pix.width, pix.height), pix.samples)
    rng = np.random.default_rng(seed)
    if kind in ("blur", "worn"):
        im = im.filter(ImageFilter.GaussianBlur(1.6 if kind == "blur" else 1.0))
    if kind in ("skew", "worn"):
        im = im.rotate(4 if kind == "skew" else 1.5, expand=True, fillcolor=255, resample=Image.BICUBIC)
    if kind in ("noise", "worn"):
        a = np.asarray(im, dtype=np.float32) + rng.normal(0, 80 if kind == "noise" else 50, (im.height, im.width))
        a[rng.random(a.shape) < 0.01] = 0  # specks
        im = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    buf = io.BytesIO()
    im.save(buf, "png", dpi=(dpi, dpi))
    return buf.getvalue()


def pdf_of(png: bytes, path: Path, dpi: int) -> Path:
    from PIL import Image

    from mmedc.extract.pymupdf_import import load_pymupdf

    pymupdf = load_pymupdf()
    with Image.open(io.BytesIO(png)) as im:
        w, h = im.width * 72 / dpi, im.height * 72 / dpi
    doc = pymupdf.open()
    doc.new_page(width=w, height=h).insert_image(pymupdf.Rect(0, 0, w, h), stream=png)
    doc.save(path)
    return path


def tess_codes(lang: str) -> str:
    """The tesseract languages mmedc uses for `lang` (ocr/<lang>.toml: zh is chi_sim+eng): bare
    tesseract gets the same."""
    from mmedc.extract.ocr_settings import ocr_settings

    return ocr_settings(lang)["tesseract"]


def bare(img: Path, lang: str) -> str:
    return subprocess.run(["tesseract", str(img), "-", "-l", lang], capture_output=True, text=True,
                          check=False).stdout


def mmedc(pdf: Path, lang: str) -> str:
    from mmedc.config import OcrConfig
    from mmedc.extract.pdf import extract_pdf

    rec = extract_pdf("cer", pdf, lang, OcrConfig(workers=1))
    return rec.text or ""


def run() -> None:
    with tempfile.TemporaryDirectory(prefix="mmedc-bench-cer-") as tmp:
        _run(Path(tmp))


def _run(tmp: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    langs = [x for x in os.environ.get("MMEDC_BENCH_CER_LANGS", ",".join(TEXTS)).split(",") if x]
    rows = []  # (set, lang, kind, mmedc edits, bare edits, ref length)
    cpu = {"mmedc": 0.0, "bare": 0.0}
    for li, lang in enumerate(langs):
        for ki, kind in enumerate(DEGRADATIONS):
            paras = TEXTS[lang]
            png = scan_image(paras, kind, 100 * li + ki)
            img = tmp / f"{lang}-{kind}.png"
            img.write_bytes(png)
            pdf = pdf_of(png, tmp / f"{lang}-{kind}.pdf", DPI[kind])
            ref = " ".join(paras)
            cjk = lang == "zh"
            t = _cpu()
            got_m = mmedc(pdf, lang)
            t2 = _cpu()
            got_b = bare(img, tess_codes(lang))
            t3 = _cpu()
            cpu["mmedc"] += t2 - t
            cpu["bare"] += t3 - t2
            (em, n), (eb, _) = edits(ref, got_m, cjk), edits(ref, got_b, cjk)
            rows.append(("generated", lang, kind, em, eb, n))
    rows += _docling(tmp)

    table = Table(title="OCR character error rate: mmedc vs bare `tesseract -l LANG` on the same images")
    for col in ("set", "language", "scan", "pages", "mmedc CER", "tesseract CER"):
        table.add_column(col, justify="left" if col in ("set", "language", "scan") else "right")

    def add(name, lang, kind, rs):
        n = sum(r[5] for r in rs)
        table.add_row(name, lang, kind, str(len(rs)), f"{sum(r[3] for r in rs) / n:.4f}", f"{sum(r[4] for r in rs) / n:.4f}")

    for lang in langs:
        add("generated", lang, "all", [r for r in rows if r[0] == "generated" and r[1] == lang])
    for kind in DEGRADATIONS:
        add("generated", "all", kind, [r for r in rows if r[0] == "generated" and r[2] == kind])
    gen = [r for r in rows if r[0] == "generated"]
    add("generated", "all", "all", gen)
    doc = [r for r in rows if r[0] == "docling"]
    if doc:
        add("docling ocr_test", "en", "upright", [r for r in doc if r[2] == "0"])
        add("docling ocr_test", "en", "all turns", doc)
    Console(width=120).print(table)
    print(f"CPU s (this process + tesseract) per generated page: mmedc {cpu['mmedc'] / max(len(gen), 1):.2f}, "
          f"bare tesseract {cpu['bare'] / max(len(gen), 1):.2f}; load average {os.getloadavg()[0]:.1f}")


def _cpu() -> float:
    import resource

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _docling(tmp: Path) -> list[tuple]:
    """docling's scanned test pages with its expected text (upright and turned), if the data is here."""
    from mmedc.extract.pymupdf_import import load_pymupdf
    from mmedc.paths import dev_data_dir

    d = dev_data_dir()
    base = d / "pdf/docling_tests/tests/data/ocr" if d else None
    if base is None or not base.is_dir():
        print("docling scans: skipped (no development data)")
        return []
    pymupdf = load_pymupdf()
    out = []
    for turn in ("", "_rotated_90", "_rotated_180", "_rotated_270"):
        pdf = base / f"sources/ocr_test{turn}.pdf"
        gt = base / f"groundtruth/tesseract/full_page/ocr_test{turn}.tesseract.full_page.md"
        if not (pdf.exists() and gt.exists()):
            continue
        with pymupdf.open(pdf) as doc:
            xref = doc[0].get_images()[0][0]
            img = tmp / f"docling{turn}.{doc.extract_image(xref)['ext']}"
            img.write_bytes(doc.extract_image(xref)["image"])
        ref = gt.read_text()
        (em, n), (eb, _) = edits(ref, mmedc(pdf, "en"), False), edits(ref, bare(img, "eng"), False)
        out.append(("docling", "en", turn.split("_")[-1] if turn else "0", em, eb, n))
    return out


if __name__ == "__main__":
    t0 = time.time()
    run()
    print(f"{time.time() - t0:.0f}s")
