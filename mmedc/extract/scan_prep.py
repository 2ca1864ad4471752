"""Scanned-page images made easier for tesseract, each step only where it measurably lowers the
character error rate (`python -m mmedc.bench pdf_ocr_cer`, generated pages in 4 languages):

- resolution: a page that is one scanned image is rendered at the image's own resolution (capped at
  `[ocr] dpi`), not resampled to 300 dpi — resampling a 100–200 dpi scan raised CER (blurred scans
  0.021 → 0.063, 100 dpi scans 0.004 → 0.009) and tesseract's time grows with the pixels;
- noise: a page with many mid-grey pixels (speckled, grainy scans: > 10% of pixels between 60 and
  195; clean and blurred scans have 1–7%, speckled ones 14–22%) gets a 3×3 median filter — tesseract read nothing of such
  pages (CER 1.0), after it 0.07; on clean pages the filter costs accuracy, so it is not applied;
- skew: the angle (±6°) that makes the rows of ink most uneven (the projection profile) is found on
  a small copy and the page turned back when it is ≥ 0.4° — a page turned 4° made tesseract's page
  segmentation split lines into columns (French page: CER 0.58).

MMEDC_OCR_PREPROCESS=0 switches all three off (for the benchmark's comparison).
"""
from __future__ import annotations

import os

NOISY_MIDGREY = 0.10  # share of pixels between 60 and 195 above which a page is denoised
SKEW_MAX = 6.0  # degrees searched either way
SKEW_MIN = 0.4  # smaller angles are left alone
SKEW_SIDE = 800  # px: the small copy the angle is measured on
MIN_SCAN_DPI = 100


def enabled() -> bool:
    return os.environ.get("MMEDC_OCR_PREPROCESS", "1") != "0"


def scan_dpi(page, dpi: int) -> int:
    """`dpi`, or the resolution of the image that makes up the page (a scan) when that is lower."""
    try:
        infos = page.get_image_info()
    except Exception:  # noqa: BLE001 - odd image streams: render as usual
        return dpi
    area = abs(page.rect)
    best = None
    for info in infos:
        x0, y0, x1, y1 = info["bbox"]
        a = max(x1 - x0, 0) * max(y1 - y0, 0)
        if a >= 0.5 * area and (best is None or a > best[0]):
            best = (a, info, max(x1 - x0, y1 - y0))
    if best is None or not best[2]:
        return dpi
    _, info, side_pt = best
    native = max(info["width"], info["height"]) / (side_pt / 72)
    return min(dpi, max(MIN_SCAN_DPI, int(round(native))))


def midgrey(a) -> float:
    return float(((a > 60) & (a < 195)).mean())


def skew_angle(im) -> float:
    """Degrees (counter-clockwise, PIL's sense) that level the page's lines; 0 when unsure."""
    import numpy as np
    from PIL import Image

    small = im.copy()
    small.thumbnail((SKEW_SIDE, SKEW_SIDE))
    a = np.asarray(small)
    ink = Image.fromarray(((a < min(128, a.mean() - 30)) * 255).astype(np.uint8))
    if np.asarray(ink).mean() < 0.5:  # next to no ink
        return 0.0

    def score(angle: float) -> float:
        rows = np.asarray(ink.rotate(angle, resample=Image.NEAREST, fillcolor=0), dtype=np.float32).sum(axis=1)
        return float(np.square(np.diff(rows)).sum())

    best = max(np.arange(-SKEW_MAX, SKEW_MAX + 0.01, 1.0), key=score)
    best = max(np.arange(best - 0.8, best + 0.81, 0.2), key=score)
    base = score(0.0)
    return float(best) if abs(best) >= SKEW_MIN and score(best) > 1.05 * base else 0.0


def prepare(im):
    """A grayscale PIL image → (image for tesseract, the steps applied)."""
    import numpy as np
    from PIL import Image, ImageFilter

    done: list[str] = []
    if midgrey(np.asarray(im)) > NOISY_MIDGREY:
        im = im.filter(ImageFilter.MedianFilter(3))
        done.append("denoise")
    angle = skew_angle(im)
    if angle:
        im = im.rotate(angle, resample=Image.BICUBIC, expand=True, fillcolor=255)
        done.append(f"deskew {angle:+.1f}")
    return im, done
