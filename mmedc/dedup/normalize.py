"""Text normalisation and shingling shared by exact and near dedup.

Shingles are returned as sorted unique uint64 hashes: they are what MinHash summarises and what
LSH candidates are verified on (exact Jaccard), so they are stored next to the signatures.
"""
from __future__ import annotations

import re
import unicodedata

import numpy as np
import xxhash

_WORD = re.compile(r"\w+")
# Han, kana, hangul: a text mostly in these scripts has no spaces between words.
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")

# Odd multipliers for combining the n hashes of an n-gram (position-dependent, so order matters).
_POS = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93,
                 0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53, 0x94D049BB133111EB, 0xBF58476D1CE4E5B9], dtype=np.uint64)
EMPTY = np.array([xxhash.xxh3_64_intdigest(b"")], dtype=np.uint64)


def normalize(text: str) -> str:
    """NFKC, lower case, punctuation removed, whitespace collapsed: copies that differ only there are exact dups."""
    return " ".join(_WORD.findall(unicodedata.normalize("NFKC", text).lower()))


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


def _ngram_sum(units: np.ndarray, n: int) -> np.ndarray:
    m = len(units) - n + 1
    acc = np.zeros(max(m, 0), dtype=np.uint64)
    for j in range(n):
        acc += units[j:j + m] * _POS[j % len(_POS)]
    return acc


_B = np.uint64(0x100000001B3)  # odd: invertible mod 2^64
_B_INV = np.uint64(pow(0x100000001B3, -1, 2 ** 64))
_SEP = "\x01"  # never in a normalised text (not \w, not \s): separates documents in a batch


def _word_units(c: np.ndarray, doc_of: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A 64-bit hash per word (separated by spaces or _SEP), vectorised over the whole batch:
    polynomial hash of the code points from prefix sums mod 2^64, h = (H[end] - H[start]) * B^-start."""
    pw = np.cumprod(np.full(len(c), _B, np.uint64))  # B^1 .. B^n
    inv = np.concatenate([[np.uint64(1)], np.cumprod(np.full(len(c), _B_INV, np.uint64))])
    h = np.concatenate([[np.uint64(0)], np.cumsum(c * pw, dtype=np.uint64)])
    cut = np.flatnonzero((c == 32) | (c == 1))
    starts = np.concatenate([[0], cut + 1])
    ends = np.concatenate([cut, [len(c)]])
    ok = ends > starts
    starts, ends = starts[ok], ends[ok]
    words = mix64((h[ends] - h[starts]) * inv[starts] + (ends - starts).astype(np.uint64))
    return words, doc_of[starts]


def batch_shingles(norms: list[str], cjk: list[bool], n_word: int, n_cjk: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique uint64 hashes of word n-grams (space-separated languages) or character n-grams
    (CJK, spaces removed) of each normalised text, for a whole batch in a few numpy passes.
    Returns (flat hashes, offsets): document i's shingles are flat[offsets[i]:offsets[i + 1]].
    A text shorter than n is one shingle; an empty text is the hash of b""."""
    n_docs = len(norms)
    hashes, docs = [], []
    for is_cjk, n in ((False, n_word), (True, n_cjk)):
        idx = np.array([i for i in range(n_docs) if cjk[i] == is_cjk], dtype=np.int64)
        if not len(idx):
            continue
        texts = [norms[i].replace(" ", "") if is_cjk else norms[i] for i in idx]
        c = np.frombuffer(_SEP.join(texts).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        doc_of = idx[np.cumsum(c == 1)]
        if is_cjk:
            keep = c != 1
            units, udoc = mix64(c[keep] + np.uint64(0x632BE59BD9B4E019)), doc_of[keep]
        else:
            units, udoc = _word_units(c, doc_of)
        acc = _ngram_sum(units, n)
        same = udoc[n - 1:] == udoc[:len(acc)]
        hashes.append(mix64(acc[same]))
        docs.append(udoc[:len(acc)][same])
        counts = np.bincount(udoc, minlength=n_docs)
        for d in idx[(counts[idx] > 0) & (counts[idx] < n)]:  # shorter than n: one shingle
            u = units[udoc == d]
            hashes.append(mix64(_ngram_sum(u, len(u))))
            docs.append(np.array([d], np.int64))
    flat = np.concatenate(hashes) if hashes else np.zeros(0, np.uint64)
    doc = np.concatenate(docs) if docs else np.zeros(0, np.int64)
    empty = np.setdiff1d(np.arange(n_docs), doc)
    flat, doc = np.concatenate([flat, np.repeat(EMPTY, len(empty))]), np.concatenate([doc, empty])
    order = np.lexsort((flat, doc))
    flat, doc = flat[order], doc[order]
    keep = np.ones(len(flat), bool)
    keep[1:] = (flat[1:] != flat[:-1]) | (doc[1:] != doc[:-1])
    flat, doc = flat[keep], doc[keep]
    offsets = np.concatenate([[0], np.cumsum(np.bincount(doc, minlength=n_docs))])
    return flat, offsets


def shingle_hashes(norm: str, n: int, cjk: bool) -> np.ndarray:
    """One text's sorted unique shingle hashes (see batch_shingles)."""
    return batch_shingles([norm], [cjk], n, n)[0]


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Exact Jaccard of two sorted unique hash arrays."""
    inter = len(np.intersect1d(a, b, assume_unique=True))
    union = len(a) + len(b) - inter
    return inter / union if union else 1.0
