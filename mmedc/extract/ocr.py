"""OCR of scanned PDF pages with tesseract (through pytesseract).

One page: render with PyMuPDF (grayscale, uncompressed PGM: no PNG encoding on the hot path), run
tesseract once for words + confidences (TSV), rebuild paragraphs → lines. A page that reads badly is
checked for rotation with tesseract's OSD and read again upright; the better reading is kept.

Pages of one book run in parallel: as Ray tasks over page ranges when Ray is up (the pipeline), else
in threads of this process (the CLI) — tesseract runs in its own process, so threads overlap fully.
Tesseract's own OpenMP threads are off (OMP_THREAD_LIMIT=1): page parallelism is ~4× faster here.
"""
from __future__ import annotations

import os
import re
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # inherited by every tesseract subprocess

# Ideographs, kana, CJK punctuation and full-width forms: no spaces between them (Hangul keeps its spaces).
CJK = "\u2e80-\u2fdf\u3000-\u303f\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
_CJK_SPACE = re.compile(rf"(?<=[{CJK}])[ \t]+(?=[{CJK}])")


def despace_cjk(line: str) -> str:
    """Tesseract separates every CJK character with a space: "糖 尿 病" → "糖尿病"."""
    return _CJK_SPACE.sub("", line)


@dataclass
class PageOcr:
    """What OCR made of one page: paragraphs of lines, mean word confidence, rotation applied."""
    page: int
    paragraphs: list[list[str]] = field(default_factory=list)
    confidence: float | None = None  # mean word confidence 0-100; None when no word was read
    words: int = 0
    rotated: int = 0  # degrees the page image was turned before the kept reading
    error: str | None = None


def _tesseract_words(image_path: str, lang: str, psm: int, dpi: int) -> tuple[list[list[str]], float | None, int]:
    import pytesseract

    data = pytesseract.image_to_data(image_path, lang=lang, config=f"--psm {psm} --dpi {dpi}",
                                     output_type=pytesseract.Output.DICT)
    paras: dict[tuple, dict[tuple, list[str]]] = {}
    confs = []
    for i, word in enumerate(data["text"]):
        if not word or not word.strip():
            continue
        par = (data["block_num"][i], data["par_num"][i])
        paras.setdefault(par, {}).setdefault(par + (data["line_num"][i],), []).append(word.strip())
        c = float(data["conf"][i])
        if c >= 0:
            confs.append(c)
    out = [[despace_cjk(" ".join(ws)) for ws in lines.values()] for lines in paras.values()]
    return out, (sum(confs) / len(confs) if confs else None), len(confs)


def _rotation(image_path: str, dpi: int) -> int:
    """Degrees to turn the image clockwise so its text is upright (tesseract OSD); 0 when unsure."""
    import pytesseract

    try:
        osd = pytesseract.image_to_osd(image_path, config=f"--psm 0 --dpi {dpi}",
                                       output_type=pytesseract.Output.DICT)
    except pytesseract.TesseractError:  # "Too few characters" etc.: leave the page as it is
        return 0
    return int(osd.get("rotate", 0)) % 360 if float(osd.get("orientation_conf", 0)) >= 1.0 else 0


def ocr_image(image_path: str, page: int, settings: dict, dpi: int, orientation: bool = True) -> PageOcr:
    """OCR one rendered page image (any format tesseract reads)."""
    lang, psm = settings["tesseract"], int(settings["psm"])
    paras, conf, n = _tesseract_words(image_path, lang, psm, dpi)
    res = PageOcr(page, paras, conf, n)
    if orientation and (conf is None or conf < settings["osd_below_confidence"] or n < 5):
        rot = _rotation(image_path, dpi)
        if rot:
            from PIL import Image

            with Image.open(image_path) as im, tempfile.NamedTemporaryFile(suffix=".pgm") as f:
                im.rotate(-rot, expand=True, fillcolor=255).save(f.name)  # PIL turns counter-clockwise
                p2, c2, n2 = _tesseract_words(f.name, lang, psm, dpi)
            if (c2 or 0) * n2 > (conf or 0) * n:  # keep the reading with more confident words
                res = PageOcr(page, p2, c2, n2, rotated=rot)
    return res


# Posters and mis-sized pages: cap the rendered image (tesseract refuses > 32767 px, and rendering
# hundreds of megapixels takes minutes). An A4 page keeps up to ~350 dpi.
MAX_SIDE_PX = 6000
MAX_PIXELS = 12_000_000


def page_dpi(rect, dpi: int) -> int:
    """The DPI to render a page at: `dpi`, lowered for pages too large to read at it."""
    w, h = rect.width / 72, rect.height / 72  # inches
    fit = min(MAX_SIDE_PX / max(w, h, 1e-3), (MAX_PIXELS / max(w * h, 1e-6)) ** 0.5)
    return max(10, min(dpi, int(fit)))


def render(doc, page: int, dpi: int, path: str) -> int:
    """Render one page grayscale to an uncompressed PGM file (fast to write and for tesseract to
    read); returns the DPI used."""
    pg = doc.load_page(page)
    dpi = page_dpi(pg.rect, dpi)
    pg.get_pixmap(dpi=dpi, colorspace="gray", alpha=False).save(path, output="pgm")
    return dpi


def _short(e: BaseException) -> str:
    from mmedc.sources.base import short_error

    return short_error(e)


def ocr_range(pdf_path: str, pages: list[int], settings: dict, dpi: int, orientation: bool = True,
              workers: int = 1) -> list[dict]:
    """OCR some pages of one PDF; a page that fails comes back with `error` set, the others go on.

    Rendering stays in this thread (PyMuPDF is not thread-safe); tesseract runs in `workers` threads.
    """
    from mmedc.extract.pymupdf_import import load_pymupdf
    pymupdf = load_pymupdf()

    from mmedc.core.storage import local_copy

    out: dict[int, PageOcr] = {}
    with pymupdf.open(local_copy(pdf_path)) as doc, tempfile.TemporaryDirectory(prefix="mmedc-ocr-") as tmp, \
            ThreadPoolExecutor(max(1, workers)) as pool:
        pending = []

        def collect(fut_page):
            fut, p = fut_page
            try:
                out[p] = fut.result()
            except Exception as e:  # noqa: BLE001 - a page that fails OCR fails alone
                out[p] = PageOcr(p, error=f"ocr: {_short(e)}")
            finally:
                Path(tmp, f"{p}.pgm").unlink(missing_ok=True)

        for p in pages:
            img = str(Path(tmp, f"{p}.pgm"))
            try:
                used = render(doc, p, dpi, img)
            except Exception as e:  # noqa: BLE001
                out[p] = PageOcr(p, error=f"render: {_short(e)}")
                continue
            pending.append((pool.submit(ocr_image, img, p, settings, used, orientation), p))
            while len(pending) >= 2 * max(1, workers):  # bound the rendered pages waiting on disk
                collect(pending.pop(0))
        for fp in pending:
            collect(fp)
    return [asdict(out[p]) for p in pages]


def _ray_ready() -> bool:
    ray = sys.modules.get("ray")  # never import Ray just to find out (the CLI runs without it)
    return ray is not None and ray.is_initialized()


_remote = None


def ocr_pages(pdf_path: str, pages: list[int], settings: dict, dpi: int, orientation: bool = True,
              workers: int = 0, pages_per_task: int = 8) -> dict[int, PageOcr]:
    """OCR the given pages of a book, in parallel; returns page → PageOcr (in any case, one per page).

    With Ray up, the pages are split into ranges of `pages_per_task`, one Ray task each (1 CPU), and
    reassembled in page order; a range whose task dies gives failed pages, not a failed book.
    Without Ray, `workers` threads (0 = all cores).
    """
    global _remote
    if not pages:
        return {}
    if _ray_ready() and len(pages) > pages_per_task:
        import ray

        if _remote is None:
            _remote = ray.remote(num_cpus=1, max_retries=1)(ocr_range)
        chunks = [pages[i:i + pages_per_task] for i in range(0, len(pages), pages_per_task)]
        refs = [_remote.remote(pdf_path, c, settings, dpi, orientation, 1) for c in chunks]
        got: list[dict] = []
        for chunk, ref in zip(chunks, refs):
            try:
                got += ray.get(ref)
            except Exception as e:  # noqa: BLE001 - a lost task fails its pages only
                got += [asdict(PageOcr(p, error=f"ray_task: {_short(e)}")) for p in chunk]
    else:
        n = workers or (1 if _ray_ready() else (os.cpu_count() or 1))  # inside a Ray task: its 1 CPU
        got = ocr_range(pdf_path, pages, settings, dpi, orientation, n)
    return {d["page"]: PageOcr(**d) for d in got}
