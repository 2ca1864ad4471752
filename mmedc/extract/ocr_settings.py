"""OCR settings per language from `ocr/<code>.toml` (tesseract language codes and page rules)."""
from __future__ import annotations

import functools
import tomllib

from mmedc.paths import ocr_dir

DEFAULT = {"tesseract": "eng", "psm": 3}


@functools.cache
def ocr_settings(lang: str | None) -> dict:
    if not lang:
        return dict(DEFAULT)
    path = ocr_dir() / f"{lang}.toml"
    if not path.exists():
        return dict(DEFAULT)
    return {**DEFAULT, **tomllib.loads(path.read_text())}
