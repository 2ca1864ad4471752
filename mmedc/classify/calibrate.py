"""`mmedc lang calibrate`: choose a pack's thresholds that maximise F1 on labelled records.

Scores are computed once per record; the thresholds are then searched on those numbers:
- `mmedc` rule: T (min_unique, 1..12) x R (min_density, candidate values from the data),
- `terms`: terms_length_ref (a few sizes) x terms_min_score (candidate values from the data).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from mmedc.classify.keywords import KeywordMatcher
from mmedc.classify.medical import WeightedTerms, _term_matcher
from mmedc.classify.packs import Pack
from mmedc.classify.words import count_words

LENGTH_REFS = (30, 60, 100, 150, 250, 400)


@dataclass
class Calibration:
    classifier: str
    values: dict  # pack keys -> new values
    f1: float
    precision: float
    recall: float
    before_f1: float


def _prf(gold: np.ndarray, pred: np.ndarray) -> tuple[float, float, float]:
    tp = float(np.sum(gold & pred))
    p = tp / max(float(np.sum(pred)), 1.0)
    r = tp / max(float(np.sum(gold)), 1.0)
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def _candidates(x: np.ndarray, n: int = 400) -> np.ndarray:
    u = np.unique(x[x > 0])
    if len(u) > n:
        u = np.quantile(u, np.linspace(0, 1, n))
    return u


def calibrate_rule(texts: list[str], gold: np.ndarray, pack: Pack) -> Calibration:
    m = KeywordMatcher(pack.keywords, cjk=pack.cjk)
    res = [m.match(t) for t in texts]
    u = np.array([r.unique for r in res])
    d = np.array([r.density for r in res])
    before = _prf(gold, (u >= pack.min_unique) & (d >= pack.min_density))[2]
    best = (-1.0, 0, 0.0, 0.0, 0.0)
    for t in range(1, 13):
        ok_u = u >= t
        for r in _candidates(d):
            p, rec, f = _prf(gold, ok_u & (d >= r))
            if f > best[0] + 1e-12:
                best = (f, t, float(r), p, rec)
    f, t, r, p, rec = best
    return Calibration("mmedc", {"min_unique": t, "min_density": round(r, 5)}, f, p, rec, before)


def calibrate_terms(texts: list[str], gold: np.ndarray, pack: Pack) -> Calibration:
    m = _term_matcher(pack)
    ev = np.array([WeightedTerms.evidence(m.match(t)[0], m.weights) for t in texts])
    words = np.array([count_words(t, pack.word_split) for t in texts], dtype=float)
    before = _prf(gold, ev / np.maximum(1.0, words / pack.terms_length_ref) ** pack.terms_length_power >= pack.terms_min_score)[2]
    best = (-1.0, 0, 0.0, 0.0, 0.0)
    for ref in sorted(set(LENGTH_REFS) | {pack.terms_length_ref}):
        ratio = ev / np.maximum(1.0, words / ref) ** pack.terms_length_power
        for th in _candidates(ratio):
            p, rec, f = _prf(gold, ratio >= th)
            if f > best[0] + 1e-12:
                best = (f, ref, float(th), p, rec)
    f, ref, th, p, rec = best
    return Calibration("terms", {"terms_min_score": round(th, 4), "terms_length_ref": int(ref)}, f, p, rec, before)


def calibrate(texts: list[str], labels: list[str], pack: Pack, classifiers=("terms", "mmedc")) -> list[Calibration]:
    gold = np.array([lab == "medical" for lab in labels])
    if gold.all() or not gold.any():
        raise ValueError("calibration needs both `medical` and `non_medical` records for the language "
                         "(add general text, e.g. with --non-medical)")
    out = []
    for name in classifiers:
        out.append(calibrate_rule(texts, gold, pack) if name == "mmedc" else calibrate_terms(texts, gold, pack))
    return out


def apply(pack: Pack, cal: Calibration) -> Pack:
    return replace(pack, **cal.values)


