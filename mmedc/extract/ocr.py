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
    layout: dict | None = None  # furniture found and removed (mmedc.extract.layout)


def _tesseract_words(image_path: str, lang: str, psm: int, dpi: int, pnum=None
                     ) -> tuple[list[list[str]], float | None, int, dict | None]:
    """Paragraphs of lines in tesseract's own reading order, mean word confidence, words read, and
    the layout record when `pnum` (the page-number pattern) asks for furniture removal."""
    import pytesseract

    data = pytesseract.image_to_data(image_path, lang=lang, config=f"--psm {psm} --dpi {dpi}",
                                     output_type=pytesseract.Output.DICT)
    lines: dict[tuple, list[int]] = {}
    confs = []
    height = 0
    for i, word in enumerate(data["text"]):
        height = max(height, data["top"][i] + data["height"][i])
        if not word or not word.strip():
            continue
        lines.setdefault((data["block_num"][i], data["par_num"][i], data["line_num"][i]), []).append(i)
        c = float(data["conf"][i])
        if c >= 0:
            confs.append(c)
    conf = sum(confs) / len(confs) if confs else None
    if pnum is None:
        paras: dict[tuple, list[str]] = {}
        for key, ws in lines.items():
            paras.setdefault(key[:2], []).append(despace_cjk(" ".join(data["text"][i].strip() for i in ws)))
        return list(paras.values()), conf, len(confs), None
    from mmedc.extract.layout import Line, analyse

    par_ids: dict[tuple, int] = {}
    out = []
    for key, ws in lines.items():
        x0 = min(data["left"][i] for i in ws)
        y0 = min(data["top"][i] for i in ws)
        x1 = max(data["left"][i] + data["width"][i] for i in ws)
        y1 = max(data["top"][i] + data["height"][i] for i in ws)
        text = despace_cjk(" ".join(data["text"][i].strip() for i in ws))
        out.append(Line(text, x0, y0, x1, y1, float(y1 - y0), par_ids.setdefault(key[:2], len(par_ids))))
    try:
        lay = analyse(out, float(height), pnum, order=False)
    except Exception as e:  # noqa: BLE001 - keep tesseract's reading, say why the layout failed
        paras: dict[tuple, list[str]] = {}
        for line, key in zip(out, lines):
            paras.setdefault(key[:2], []).append(line.text)
        return list(paras.values()), conf, len(confs), {"error": f"layout: {_short(e)}"}
    return lay.paragraphs, conf, len(confs), lay.record


def _rotation(image_path: str, dpi: int) -> int:
    """Degrees to turn the image clockwise so its text is upright (tesseract OSD); 0 when unsure."""
    import pytesseract

    try:
        osd = pytesseract.image_to_osd(image_path, config=f"--psm 0 --dpi {dpi}",
                                       output_type=pytesseract.Output.DICT)
    except pytesseract.TesseractError:  # "Too few characters" etc.: leave the page as it is
        return 0
    return int(osd.get("rotate", 0)) % 360 if float(osd.get("orientation_conf", 0)) >= 1.0 else 0


def ocr_image(image_path: str, page: int, settings: dict, dpi: int, orientation: bool = True,
              layout: bool = True, prep: list[str] | None = None) -> PageOcr:
    """OCR one rendered page image (any format tesseract reads); with `layout`, running heads, footers
    and page numbers are removed from the page's edges (mmedc.extract.layout)."""
    lang, psm = settings["tesseract"], int(settings["psm"])
    pnum = None
    if layout:
        from mmedc.extract.book_cleanup import page_number_re

        pnum = page_number_re(settings["page_words"])
    paras, conf, n, rec = _tesseract_words(image_path, lang, psm, dpi, pnum)
    res = PageOcr(page, paras, conf, n, layout=_with_prep(rec, prep, dpi))
    if orientation and (conf is None or conf < settings["osd_below_confidence"] or n < 5):
        rot = _rotation(image_path, dpi)
        if rot:
            from PIL import Image

            with Image.open(image_path) as im, tempfile.NamedTemporaryFile(suffix=".pgm") as f:
                im.rotate(-rot, expand=True, fillcolor=255).save(f.name)  # PIL turns counter-clockwise
                p2, c2, n2, r2 = _tesseract_words(f.name, lang, psm, dpi, pnum)
            if (c2 or 0) * n2 > (conf or 0) * n:  # keep the reading with more confident words
                res = PageOcr(page, p2, c2, n2, rotated=rot, layout=_with_prep(r2, prep, dpi))
    return res


def _with_prep(record: dict | None, prep: list[str] | None, dpi: int) -> dict | None:
    """The page's layout record, with the DPI it was read at and the image steps applied."""
    if record is None:
        return None
    return {**record, "ocr_dpi": dpi, "ocr_prep": list(prep or [])}


# Posters and mis-sized pages: cap the rendered image (tesseract refuses > 32767 px, and rendering
# hundreds of megapixels takes minutes). An A4 page keeps up to ~350 dpi.
MAX_SIDE_PX = 6000
MAX_PIXELS = 12_000_000


def page_dpi(rect, dpi: int) -> int:
    """The DPI to render a page at: `dpi`, lowered for pages too large to read at it."""
    w, h = rect.width / 72, rect.height / 72  # inches
    fit = min(MAX_SIDE_PX / max(w, h, 1e-3), (MAX_PIXELS / max(w * h, 1e-6)) ** 0.5)
    return max(10, min(dpi, int(fit)))


def render(doc, page: int, dpi: int, path: str) -> tuple[int, list[str]]:
    """Render one page grayscale to an uncompressed PGM file (fast to write and for tesseract to
    read), a scan at its own resolution, denoised and deskewed where that helps
    (mmedc.extract.scan_prep); returns the DPI used and the steps applied."""
    from mmedc.extract import scan_prep

    pg = doc.load_page(page)
    if not scan_prep.enabled():
        dpi = page_dpi(pg.rect, dpi)
        pg.get_pixmap(dpi=dpi, colorspace="gray", alpha=False).save(path, output="pgm")
        return dpi, []
    from PIL import Image

    dpi = page_dpi(pg.rect, scan_prep.scan_dpi(pg, dpi))
    pix = pg.get_pixmap(dpi=dpi, colorspace="gray", alpha=False)
    im = Image.frombytes("L", (pix.width, pix.height), pix.samples, "raw", "L", pix.stride)
    im, done = scan_prep.prepare(im)
    im.save(path, format="PPM")  # an "L" image is written as PGM
    return dpi, done


def _short(e: BaseException) -> str:
    from mmedc.core.errors import short_error

    return short_error(e)


def ocr_range(pdf_path: str, pages: list[int], settings: dict, dpi: int, orientation: bool = True,
              workers: int = 1, layout: bool = True) -> list[dict]:
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
                used, prep = render(doc, p, dpi, img)
            except Exception as e:  # noqa: BLE001
                out[p] = PageOcr(p, error=f"render: {_short(e)}")
                continue
            pending.append((pool.submit(ocr_image, img, p, settings, used, orientation, layout, prep), p))
            while len(pending) >= 2 * max(1, workers):  # bound the rendered pages waiting on disk
                collect(pending.pop(0))
        for fp in pending:
            collect(fp)
    return [asdict(out[p]) for p in pages]


def ocr_pages(pdf_path: str, pages: list[int], settings: dict, dpi: int, orientation: bool = True,
              workers: int = 0, pages_per_task: int = 8, layout: bool = True) -> dict[int, PageOcr]:
    """OCR the given pages of a book, in parallel; returns page → PageOcr (in any case, one per page).

    On a distributed executor (Ray: mmedc.executor), the pages are split into ranges of
    `pages_per_task`, one task each (1 CPU), and reassembled in page order; a range whose task dies
    gives failed pages, not a failed book. Otherwise `workers` threads (0 = all cores).
    """
    from mmedc.executor import current

    if not pages:
        return {}
    ex = current()
    if ex.distributed and len(pages) > pages_per_task:
        chunks = [pages[i:i + pages_per_task] for i in range(0, len(pages), pages_per_task)]
        handles = [ex.submit(ocr_range, pdf_path, c, settings, dpi, orientation, 1, layout, name="ocr", retries=1)
                   for c in chunks]
        got: list[dict] = []
        for chunk, h in zip(chunks, handles):
            try:
                got += ex.result(h)
            except Exception as e:  # noqa: BLE001 - a lost task fails its pages only
                got += [asdict(PageOcr(p, error=f"ray_task: {_short(e)}")) for p in chunk]
    else:
        n = workers or (1 if ex.distributed else (os.cpu_count() or 1))  # inside a task: its 1 CPU
        got = ocr_range(pdf_path, pages, settings, dpi, orientation, n, layout)
    return {d["page"]: PageOcr(**d) for d in got}
