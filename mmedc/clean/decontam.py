"""Benchmark decontamination: an n-gram index of benchmark items and the check of a document against it.

Text is normalised the way datatrove's `simplify_text` does for matching (lower case, punctuation and
diacritics removed, whitespace collapsed; numbers kept, they make questions specific) and split into
tokens: words, and single characters in CJK scripts. Each benchmark *segment* (the question, the
rationale, or a plain `text`) is indexed by its distinct n-grams (n words, or cjk_ngram characters for
CJK segments) as 64-bit hashes.

A document is contaminated by a segment when it contains at least `min_coverage` of the segment's
indexed n-grams. N-grams shared by more than `max_items_per_ngram` segments ("which of the following
is the most likely diagnosis") are not indexed at all, so shared stock phrases never count as
evidence, and the coverage rule keeps a document that merely reuses a phrase or two.

Index folder: meta.json (settings, files, counts), segments.jsonl (item name, field, n-grams),
ngrams.npz (sorted hashes and their segment numbers).
"""
from __future__ import annotations

import hashlib
import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import regex
from datatrove.utils.text import PUNCTUATION_TRANS

from mmedc.clean.quality import CJK

TOKEN = regex.compile(rf"[{CJK}]|[^\s{CJK}]+")
CJK_CHAR = regex.compile(rf"[{CJK}]")
_MULT = np.uint64(0x100000001B3)  # FNV prime: the rolling combination of token hashes
FORMAT = 1


class DecontamError(ValueError):
    pass


COMBINING = regex.compile(r"\p{Mn}+")


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.lower()).translate(PUNCTUATION_TRANS)
    return unicodedata.normalize("NFC", COMBINING.sub("", text))


def tokens(text: str) -> list[str]:
    return TOKEN.findall(normalize(text))


def is_cjk(toks: list[str]) -> bool:
    return sum(1 for t in toks if len(t) == 1 and CJK_CHAR.match(t)) * 2 > len(toks)


_token_hash_cache: dict[str, int] = {}


def _token_hashes(toks: list[str]) -> np.ndarray:
    c = _token_hash_cache
    if len(c) > 500_000:
        c.clear()
    out = np.empty(len(toks), dtype=np.uint64)
    for i, t in enumerate(toks):
        h = c.get(t)
        if h is None:
            h = c[t] = int.from_bytes(hashlib.blake2b(t.encode(), digest_size=8).digest(), "little")
        out[i] = h
    return out


def ngram_hashes(toks: list[str], n: int) -> np.ndarray:
    """Distinct 64-bit hashes of the token n-grams (stable across processes and machines)."""
    if len(toks) < n:
        return np.empty(0, dtype=np.uint64)
    th = _token_hashes(toks)
    m = len(toks) - n + 1
    acc = np.zeros(m, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):
            acc = acc * _MULT + th[k:k + m]
        acc ^= np.uint64(n)
    return np.unique(acc)


# ---------------------------------------------------------------- benchmark files → segments


def read_benchmark(path: Path):
    """Yield (item name, field, text) from an MMedBench-layout or plain-`text` JSONL file, and
    (name, "error", message) for lines that cannot be read."""
    from mmedc.sources.jsonl import json_objects, open_jsonl

    with open_jsonl(path) as f:
        for ln, rec, err in json_objects(f):
            if err is not None:
                yield f"{path.name}:{ln}", "error", f"invalid_json: {err}"
                continue
            name = f"{path.name}:{rec.get('id', ln)}"
            found = False
            if rec.get("question"):
                # The question alone: options are short stock answers ("Metformin") that pages reorder.
                yield name, "question", str(rec["question"])
                found = True
            if rec.get("rationale"):
                yield name, "rationale", str(rec["rationale"])
                found = True
            if rec.get("text"):
                yield name, "text", str(rec["text"])
                found = True
            if not found:
                yield name, "error", "no question, rationale or text field"


def build_index(files: list[Path], out: Path, ngram: int = 8, cjk_ngram: int = 12,
                max_items_per_ngram: int = 10, progress=None) -> dict:
    """Index the benchmark files into the folder `out`; returns the summary written to meta.json."""
    segs, hashes, seg_ids, errors, short = [], [], [], [], 0
    for path in files:
        path = Path(path)
        if not path.exists():
            raise DecontamError(f"benchmark file {path} not found")
        for name, fld, text in read_benchmark(path):
            if fld == "error":
                errors.append(f"{name}: {text}")
                continue
            toks = tokens(text)
            n = cjk_ngram if is_cjk(toks) else ngram
            h = ngram_hashes(toks, n)
            if not len(h):
                short += 1  # shorter than one n-gram: too short to be evidence of anything
                continue
            hashes.append(h)
            seg_ids.append(np.full(len(h), len(segs), dtype=np.int32))
            segs.append({"item": name, "field": fld, "n": n, "preview": text[:120]})
            if progress:
                progress()
    h = np.concatenate(hashes) if hashes else np.empty(0, dtype=np.uint64)
    s = np.concatenate(seg_ids) if seg_ids else np.empty(0, dtype=np.int32)
    # Drop stock phrases: n-grams that occur in too many segments.
    uniq, inverse, counts = np.unique(h, return_inverse=True, return_counts=True)
    keep = counts[inverse] <= max_items_per_ngram
    common = int((counts > max_items_per_ngram).sum())
    h, s = h[keep], s[keep]
    order = np.argsort(h, kind="stable")
    h, s = h[order], s[order]
    per_seg = np.bincount(s, minlength=len(segs))
    for i, seg in enumerate(segs):
        seg["ngrams"] = int(per_seg[i])
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / "ngrams.npz", hashes=h, segments=s)
    with open(out / "segments.jsonl", "w", encoding="utf-8") as f:
        for seg in segs:
            f.write(json.dumps(seg, ensure_ascii=False) + "\n")
    meta = {"format": FORMAT, "ngram": ngram, "cjk_ngram": cjk_ngram, "max_items_per_ngram": max_items_per_ngram,
            "files": [str(p) for p in files], "segments": len(segs), "ngrams": int(len(h)),
            "common_ngrams_dropped": common, "too_short": short, "errors": errors[:100], "n_errors": len(errors)}
    (out / "meta.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False))
    return meta


# ---------------------------------------------------------------- the index in use


@dataclass
class Match:
    item: str
    field: str
    coverage: float
    ngrams: int


class DecontamIndex:
    def __init__(self, path: str | Path):
        from mmedc.core.storage import is_uri, local_dir

        path = str(path) if is_uri(path) else Path(path)
        try:
            path = local_dir(path, ("meta.json", "ngrams.npz", "segments.jsonl"))  # a bucket: this node's copy
            self.meta = json.loads((path / "meta.json").read_text())
            z = np.load(path / "ngrams.npz")
            self.hashes, self.segments = z["hashes"], z["segments"]
            self.segs = [json.loads(line) for line in open(path / "segments.jsonl", encoding="utf-8")]
        except (OSError, ValueError, KeyError) as e:
            raise DecontamError(f"{path} is not a decontamination index (build one with `mmedc decontam "
                                f"index`): {e}") from None
        if self.meta.get("format") != FORMAT:
            raise DecontamError(f"{path}: index format {self.meta.get('format')} (this mmedc reads {FORMAT})")
        self.totals = np.array([s["ngrams"] for s in self.segs], dtype=np.int64)
        self.sizes = sorted({s["n"] for s in self.segs})
        self.path = path

    def check(self, text: str) -> Match | None:
        """The benchmark segment the text covers best (None when it shares no indexed n-gram);
        contaminated when its coverage reaches the recipe's min_coverage."""
        if not len(self.hashes):
            return None
        toks = tokens(text)
        hits = []
        for n in self.sizes:
            h = ngram_hashes(toks, n)
            if not len(h):
                continue
            lo = np.searchsorted(self.hashes, h, "left")
            hi = np.searchsorted(self.hashes, h, "right")
            found = hi > lo
            for a, b in zip(lo[found], hi[found]):
                hits.append(self.segments[a:b])
        if not hits:
            return None
        counts = np.bincount(np.concatenate(hits), minlength=len(self.segs))
        cov = np.divide(counts, self.totals, out=np.zeros(len(counts)), where=self.totals > 0)
        best = int(np.argmax(cov))
        seg = self.segs[best]
        return Match(seg["item"], seg["field"], round(float(cov[best]), 4), int(counts[best]))
