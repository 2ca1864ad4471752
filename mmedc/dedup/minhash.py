"""MinHash signatures and LSH band keys, vectorised with numpy.

One matrix product per batch instead of one Python object per document: each shingle hash x gets
num_perm universal hashes h_i(x) = (a_i * x + b_i) mod 2^64 >> 32 (multiply-shift, a_i odd), and a
document's signature is the column-wise minimum over its shingles (np.minimum.reduceat).
"""
from __future__ import annotations

import math

import numpy as np
import pyarrow as pa

from mmedc.config import DedupConfig
from mmedc.dedup.normalize import batch_shingles, exact_hash, looks_cjk, mix64, normalize

SIG_SCHEMA = pa.schema([("id", pa.string()), ("chars", pa.int64()), ("exact", pa.uint64()),
                        ("sig", pa.list_(pa.uint32())), ("shingles", pa.list_(pa.uint64()))])
_BATCH_SHINGLES = 1 << 15  # shingles hashed per matrix: 32k x 128 perms x 8 bytes = 32 MB


def bands_rows(cfg: DedupConfig) -> tuple[int, int]:
    """Bands and rows from the recipe, or chosen from the threshold.

    Candidates are verified by exact Jaccard, so a false positive costs only a comparison while a
    false negative is lost: take the most rows per band (fewest chance candidates) such that a pair
    exactly at the threshold still becomes a candidate with probability >= 0.98.
    """
    if cfg.bands and cfg.rows:
        if cfg.bands * cfg.rows > cfg.num_perm:
            raise ValueError(f"bands x rows = {cfg.bands * cfg.rows} > num_perm = {cfg.num_perm}")
        return cfg.bands, cfg.rows
    best = (cfg.num_perm, 1)
    for r in range(1, cfg.num_perm + 1):
        b = cfg.num_perm // r
        if 1 - (1 - cfg.threshold ** r) ** b >= 0.98:
            best = (b, r)
    return best


def candidate_probability(j: float, b: int, r: int) -> float:
    return 1 - (1 - j ** r) ** b


class MinHasher:
    def __init__(self, num_perm: int, seed: int):
        rng = np.random.Generator(np.random.PCG64(seed))
        self.a = rng.integers(0, 2 ** 63, num_perm, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
        self.b = rng.integers(0, 2 ** 63, num_perm, dtype=np.uint64)
        self.num_perm = num_perm

    def signatures(self, flat: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """(n_docs, num_perm) uint32 from concatenated shingle sets; every set must be non-empty."""
        n_docs = len(offsets) - 1
        out = np.empty((n_docs, self.num_perm), dtype=np.uint32)
        i = 0
        while i < n_docs:  # batches of documents holding about _BATCH_SHINGLES shingles
            j = max(i + 1, int(np.searchsorted(offsets, offsets[i] + _BATCH_SHINGLES, side="right")) - 1)
            j = min(j, n_docs)
            chunk = flat[offsets[i]:offsets[j]]
            # (num_perm, shingles), in place in one buffer; each permutation's row is contiguous for reduceat
            vals = np.multiply(self.a[:, None], chunk[None, :])
            vals += self.b[:, None]
            vals >>= np.uint64(32)
            out[i:j] = np.minimum.reduceat(vals, offsets[i:j] - offsets[i], axis=1).T
            i = j
        return out


def signature_table(docs: list[dict], cfg: DedupConfig, cjk_langs: set[str] | None) -> pa.Table:
    """id, chars, exact hash, MinHash signature and shingle hashes for each document.

    CJK shingling (character n-grams) for documents whose `lang` is a CJK pack; when cjk_langs is
    None (records without a language) it is decided from the script; a `_cjk` key decides first.
    """
    norms = [normalize(d["text"] or "") for d in docs]
    cjk = [d["_cjk"] if "_cjk" in d else looks_cjk(norm) if cjk_langs is None else d.get("lang") in cjk_langs
           for d, norm in zip(docs, norms)]
    flat, offsets = batch_shingles(norms, cjk, cfg.ngram, cfg.cjk_ngram)
    sig = MinHasher(cfg.num_perm, cfg.seed).signatures(flat, offsets)
    return pa.table({
        "id": pa.array([str(d["id"]) for d in docs], pa.string()),
        "chars": pa.array([len(d["text"] or "") for d in docs], pa.int64()),
        "exact": pa.array([exact_hash(n) for n in norms], pa.uint64()),
        "sig": pa.ListArray.from_arrays(pa.array(np.arange(len(docs) + 1, dtype=np.int32) * cfg.num_perm),
                                        pa.array(sig.ravel(), pa.uint32())),
        "shingles": pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), pa.array(flat, pa.uint64())),
    }, schema=SIG_SCHEMA)


def band_keys(sig: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(n_docs, bands) uint64 key per band: a hash of the band's `rows` signature values and its index."""
    n = sig.shape[0]
    keys = np.empty((n, bands), dtype=np.uint64)
    mult = np.array([(0x9E3779B97F4A7C15 * (2 * k + 1)) % 2 ** 64 for k in range(rows)], dtype=np.uint64)
    for band in range(bands):
        block = sig[:, band * rows:(band + 1) * rows].astype(np.uint64)
        acc = (block * mult[None, :]).sum(axis=1, dtype=np.uint64) + np.uint64(band + 1)
        keys[:, band] = mix64(mix64(acc))
    return keys


def auto_partitions(n_docs: int, bands: int) -> int:
    """Partitions for the band shuffle: about 4M band rows each (~100 MB of keys per worker)."""
    return max(2, min(256, math.ceil(n_docs * (bands + 1) / 4_000_000)))
