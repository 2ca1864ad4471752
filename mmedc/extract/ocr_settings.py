"""OCR and book-cleanup settings per language from `ocr/<code>.toml`.

A book may have several languages: "zh+en" merges the zh and en settings (tesseract codes joined with
"+", page words united, hyphenation joined only when every language hyphenates).
"""
from __future__ import annotations

import functools
import tomllib

from mmedc.paths import ocr_dir

DEFAULT = {
    "tesseract": "eng",
    "psm": 3,
    "hyphenation": True,
    "page_words": [],
    # Below this mean word confidence (0-100) a page is checked for rotation (tesseract OSD).
    "osd_below_confidence": 70.0,
}
KNOWN = set(DEFAULT)


class OcrSettingsError(ValueError):
    """An `ocr/<code>.toml` that cannot be used, with the file named."""


@functools.cache
def _load(code: str) -> dict:
    path = ocr_dir() / f"{code}.toml"
    if not path.exists():
        return {}
    data = tomllib.loads(path.read_text())
    unknown = set(data) - KNOWN
    if unknown:
        raise OcrSettingsError(f"{path}: unknown key(s) {sorted(unknown)}; known: {sorted(KNOWN)}")
    return data


def languages(lang: str | None) -> list[str]:
    """"zh+en" → ["zh", "en"]; None/"" → []."""
    return [c.strip() for c in (lang or "").replace(",", "+").split("+") if c.strip()]


def ocr_settings(lang: str | None) -> dict:
    """Merged settings for a book's language(s); unknown languages fall back to English OCR."""
    packs = [_load(c) for c in languages(lang)]
    packs = [p for p in packs if p] or [{}]
    out = dict(DEFAULT)
    codes: list[str] = []
    words: list[str] = []
    for p in packs:
        for c in p.get("tesseract", DEFAULT["tesseract"]).split("+"):
            if c not in codes:
                codes.append(c)
        words += [w for w in p.get("page_words", []) if w not in words]
    out.update(packs[0])
    out["tesseract"] = "+".join(codes)
    out["page_words"] = words
    out["hyphenation"] = all(p.get("hyphenation", DEFAULT["hyphenation"]) for p in packs)
    out["osd_below_confidence"] = float(out["osd_below_confidence"])
    return out
