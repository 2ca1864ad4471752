"""Writing-system shares of a text, for LID sanity checks (text identified as `ja` must contain kana,
`zh` must be mostly Han, `ru` Cyrillic, `ar` Arabic).

Each script is a compiled character class, so counting is one C-speed regex pass per script asked for.
"""
from __future__ import annotations

import functools
import re

SCRIPT_RANGES = {
    "latin": "A-Za-z\u00c0-\u00ff\u0100-\u024f\u1e00-\u1eff",
    "cyrillic": "\u0400-\u052f",
    "greek": "\u0370-\u03ff",
    "arabic": "\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff",
    "hebrew": "\u0590-\u05ff",
    "devanagari": "\u0900-\u097f",
    "thai": "\u0e00-\u0e7f",
    "han": "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff",
    "hiragana": "\u3040-\u309f",
    "katakana": "\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f",
    "hangul": "\uac00-\ud7af\u1100-\u11ff\u3130-\u318f",
}
SCRIPTS = tuple(SCRIPT_RANGES)
CJK_SCRIPTS = ("han", "hiragana", "katakana", "hangul")

_LETTER = re.compile(r"[^\W\d_]")


@functools.cache
def _pattern(names: tuple[str, ...]) -> re.Pattern:
    unknown = set(names) - set(SCRIPT_RANGES)
    if unknown:
        raise ValueError(f"unknown script(s) {sorted(unknown)}; known: {', '.join(SCRIPTS)}")
    return re.compile("[" + "".join(SCRIPT_RANGES[n] for n in names) + "]")


@functools.cache
def _outside(names: tuple[str, ...]) -> re.Pattern:
    _pattern(names)  # validates the names
    return re.compile("[^\\W\\d_" + "".join(SCRIPT_RANGES[n] for n in names) + "]+")


def script_unit_share(text: str, names) -> float:
    """Share of characters in `names` among "units": those characters plus runs (words) of letters in
    other scripts. A Chinese question with options "A. VD2 B. VE" is mostly Han in units, though its
    Latin letters weigh more when counted one by one."""
    names = tuple(sorted(names))
    inside = count_script(text, names)
    runs = _outside(names).subn("", text)[1]
    return inside / (inside + runs) if inside + runs else 0.0


def count_letters(text: str) -> int:
    return _LETTER.subn("", text)[1]  # subn counts without building a list of matches


def count_script(text: str, names) -> int:
    """Characters of `text` written in any of the scripts `names`."""
    names = tuple(sorted(names))
    return _pattern(names).subn("", text)[1] if names else 0


def script_share(text: str, names, letters: int | None = None) -> float:
    """Share of the letters of `text` written in the scripts `names` (0 when there are no letters)."""
    letters = count_letters(text) if letters is None else letters
    return count_script(text, names) / letters if letters else 0.0


def cjk_chars(text: str) -> int:
    return count_script(text, CJK_SCRIPTS)
