"""Text normalisation and shingling shared by exact and near dedup."""
from __future__ import annotations

import hashlib
import re
import unicodedata

_NON_WORD = re.compile(r"[^\w\s]+", re.UNICODE)
_SPACE = re.compile(r"\s+")


def normalize(text: str) -> str:
    """NFKC, lower case, punctuation removed, whitespace collapsed: copies that differ only there are exact dups."""
    text = unicodedata.normalize("NFKC", text).lower()
    return _SPACE.sub(" ", _NON_WORD.sub(" ", text)).strip()


def exact_hash(text: str) -> str:
    return hashlib.sha1(normalize(text).encode("utf-8")).hexdigest()


def shingles(text: str, n: int, cjk: bool) -> set[bytes]:
    """Word n-grams for space-separated languages, character n-grams (spaces removed) for CJK."""
    norm = normalize(text)
    if cjk:
        s = norm.replace(" ", "")
        grams = {s[i:i + n] for i in range(max(len(s) - n + 1, 1))}
    else:
        w = norm.split()
        grams = {" ".join(w[i:i + n]) for i in range(max(len(w) - n + 1, 1))}
    return {g.encode("utf-8") for g in grams if g}
