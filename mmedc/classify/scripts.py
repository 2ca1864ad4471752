"""Writing-system shares of a text, for LID sanity checks (text identified as `ja` must contain kana,
`zh` must be mostly Han, `ru` Cyrillic, `ar` Arabic).

`ScriptProfile(text)` reads the text once without a Python loop per character: the text's code points
(one `encode("utf-32-le")`) index a table of every code point's script and letter-ness, and one
`numpy.bincount` gives the counts of all scripts at once. Every share a language pack asks for is then
arithmetic on those counts. (One regex pass per script, as before, cost more than fastText itself on
2 KB documents.)
"""
from __future__ import annotations

import functools
import re

import numpy as np

SCRIPT_RANGES = {
    "latin": "A-Za-z\u00c0-\u00ff\u0100-\u024f\u1e00-\u1eff",
    "cyrillic": "\u0400-\u052f",
    "greek": "\u0370-\u03ff",
    "arabic": "\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff",
    "hebrew": "\u0590-\u05ff",
    "devanagari": "\u0900-\u097f",
    "thai": "\u0e00-\u0e7f",
    "han": "\u2e80-\u2fdf\u3005\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f",
    "hiragana": "\u3040-\u309f",
    "katakana": "\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f",
    "hangul": "\uac00-\ud7af\u1100-\u11ff\u3130-\u318f",
}
SCRIPTS = tuple(SCRIPT_RANGES)
CJK_SCRIPTS = ("han", "hiragana", "katakana", "hangul")
_ID = {name: i + 1 for i, name in enumerate(SCRIPTS)}  # 0: no listed script
_NCLS = 2 * (len(SCRIPTS) + 1)  # class = 2 * script id + is_letter
_LETTER = re.compile(r"[^\W\d_]")
_NOT_LETTER = re.compile(r"[\W\d_]+")


def _ranges(spec: str) -> list[tuple[int, int]]:
    out, i = [], 0
    while i < len(spec):
        if i + 2 < len(spec) and spec[i + 1] == "-":
            out.append((ord(spec[i]), ord(spec[i + 2])))
            i += 3
        else:
            out.append((ord(spec[i]), ord(spec[i])))
            i += 1
    return out


@functools.cache
def _table() -> np.ndarray:
    """Class of every code point: 2 * script id + (1 if a letter). Built once per process (~0.1 s):
    letters are what the regex class [^\\W\\d_] calls letters, found by one C-speed pass."""
    table = np.zeros(0x110000, dtype=np.uint8)
    # Planes 4-16 hold no letters (unassigned, tags, private use).
    every = "".join(map(chr, range(0xD800))) + "".join(map(chr, range(0xE000, 0x40000)))
    letters = np.frombuffer(_NOT_LETTER.sub("", every).encode("utf-32-le"), dtype=np.uint32)
    table[letters] = 1
    for name, spec in SCRIPT_RANGES.items():
        for lo, hi in _ranges(spec):
            table[lo:hi + 1] += 2 * _ID[name]
    return table


@functools.cache
def _ids(names: tuple[str, ...]) -> tuple[int, ...]:
    unknown = set(names) - set(SCRIPT_RANGES)
    if unknown:
        raise ValueError(f"unknown script(s) {sorted(unknown)}; known: {', '.join(SCRIPTS)}")
    return tuple(_ID[n] for n in names)


@functools.cache
def _outside_mask(names: tuple[str, ...]) -> np.ndarray:
    """Per class: a letter of a script not in `names`."""
    ids = set(_ids(names))
    return np.array([c % 2 == 1 and c // 2 not in ids for c in range(_NCLS)])


class ScriptProfile:
    """Counts of every script and of letters in one text, from one vectorised pass."""

    __slots__ = ("cls", "counts", "letters")

    def __init__(self, text: str):
        cps = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        self.cls = _table()[cps]
        self.counts = np.bincount(self.cls, minlength=_NCLS)
        self.letters = int(self.counts[1::2].sum())

    def count(self, names) -> int:
        """Characters (letters or not) in any of the scripts `names`."""
        c = self.counts
        return int(sum(c[2 * i] + c[2 * i + 1] for i in _ids(tuple(sorted(names)))))

    def share(self, names) -> float:
        """Share of the letters written in the scripts `names` (0 when there are no letters)."""
        return self.count(names) / self.letters if self.letters else 0.0

    def unit_share(self, names) -> float:
        """Share of characters in `names` among "units": those characters plus runs (words) of letters
        in other scripts. A Chinese question with options "A. VD2 B. VE" is mostly Han in units, though
        its Latin letters weigh more when counted one by one."""
        names = tuple(sorted(names))
        inside = self.count(names)
        mask = _outside_mask(names)[self.cls]
        runs = int(np.count_nonzero(mask[1:] & ~mask[:-1])) + int(mask[0]) if len(mask) else 0
        return inside / (inside + runs) if inside + runs else 0.0


def script_unit_share(text: str, names) -> float:
    return ScriptProfile(text).unit_share(names)


def count_letters(text: str) -> int:
    return ScriptProfile(text).letters


def count_script(text: str, names) -> int:
    """Characters of `text` written in any of the scripts `names`."""
    return ScriptProfile(text).count(names) if names else 0


def script_share(text: str, names, letters: int | None = None) -> float:
    """Share of the letters of `text` written in the scripts `names` (0 when there are no letters)."""
    p = ScriptProfile(text)
    letters = p.letters if letters is None else letters
    return p.count(names) / letters if letters else 0.0


def cjk_chars(text: str) -> int:
    return count_script(text, CJK_SCRIPTS)
