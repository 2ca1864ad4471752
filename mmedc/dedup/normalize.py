"""Text normalisation and shingling shared by exact and near dedup.

Shingles are returned as sorted unique uint64 hashes: they are what MinHash summarises and what
LSH candidates are verified on (exact Jaccard), so they are stored next to the signatures.
"""
from __future__ import annotations

import re
import unicodedata

import numpy as np
import xxhash

_NON_WORD = re.compile(r"[^\w\s]+", re.UNICODE)
_SPACE = re.compile(r"\s+")
# Han, kana, hangul: a text mostly in these scripts has no spaces between words.
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")

# Odd multipliers for combining the n hashes of an n-gram (position-dependent, so order matters).
_POS = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93,
                 0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53, 0x94D049BB133111EB, 0xBF58476D1CE4E5B9], dtype=np.uint64)
EMPTY = np.array([xxhash.xxh3_64_intdigest(b"")], dtype=np.uint64)


def normalize(text: str) -> str:
    """NFKC, lower case, punctuation removed, whitespace collapsed: copies that differ only there are exact dups."""
    text = unicodedata.normalize("NFKC", text).lower()
    return _SPACE.sub(" ", _NON_WORD.sub(" ", text)).strip()


def exact_hash(norm: str) -> int:
    """64-bit hash of the normalised text (xxh3: stable across machines and Python versions)."""
    return xxhash.xxh3_64_intdigest(norm.encode("utf-8"))


def looks_cjk(text: str) -> bool:
    """For records without a language: CJK shingling when a third or more of the letters are CJK."""
    sample = text[:2000]
    letters = sum(c.isalpha() for c in sample)
    return letters > 0 and len(_CJK.findall(sample)) * 3 >= letters


def mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: spreads combined n-gram hashes over all 64 bits (numpy wraps on overflow)."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _ngrams(units: np.ndarray, n: int) -> np.ndarray:
    if len(units) == 0:
        return EMPTY
    n = min(n, len(units))
    m = len(units) - n + 1
    acc = np.zeros(m, dtype=np.uint64)
    for j in range(n):
        acc += units[j:j + m] * _POS[j % len(_POS)]
    return np.unique(mix64(acc))


def shingle_hashes(norm: str, n: int, cjk: bool) -> np.ndarray:
    """Sorted unique uint64 hashes of word n-grams (space-separated languages) or character n-grams
    (CJK, spaces removed) of an already normalised text. A text shorter than n is one shingle."""
    if cjk:
        s = norm.replace(" ", "")
        units = np.frombuffer(s.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        units = mix64(units + np.uint64(0x632BE59BD9B4E019))
    else:
        units = np.fromiter((xxhash.xxh3_64_intdigest(w.encode()) for w in norm.split()), dtype=np.uint64)
    return _ngrams(units, n)


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Exact Jaccard of two sorted unique hash arrays."""
    inter = len(np.intersect1d(a, b, assume_unique=True))
    union = len(a) + len(b) - inter
    return inter / union if union else 1.0
