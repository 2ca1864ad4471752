"""`mmedc lang calibrate` and the fits of `mmedc eval --by-source`: choose a pack's thresholds that
maximise F1 on labelled records.

Scores are computed once per record (`features`); the thresholds are then searched on those numbers:
- `mmedc` rule: T (min_unique, 1..12) x R (min_density),
- `terms`: terms_length_ref (a few sizes) x terms_min_score.
For one score the best threshold is found exactly: sort once, count true positives cumulatively,
every distinct value is a candidate. The threshold written lies strictly between the last value kept
and the first value dropped, rounded as short as that allows, so the pack reproduces the F1 printed
(a threshold rounded onto or past a record's value would change its decision).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from mmedc.classify.keywords import KeywordMatcher
from mmedc.classify.medical import WeightedTerms, _term_matcher
from mmedc.classify.packs import Pack
from mmedc.classify.words import count_words

LENGTH_REFS = (30, 60, 100, 150, 250, 400)
MIN_PER_CLASS = 200  # fewer labelled records of a class than this: the fit is noisy, say so
TOL = 0.005  # F1 differences smaller than this are noise on a few thousand records: prefer the pack's values


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


def _between(lo: float, hi: float) -> float:
    """The shortest decimal strictly between lo and hi (hi when they are too close to separate)."""
    for digits in range(0, 7):  # pack files keep 6 decimals
        r = round((lo + hi) / 2, digits)
        if lo < r < hi:
            return r
    return hi


def best_threshold(x: np.ndarray, gold: np.ndarray, prior: float | None = None, tol: float = 0.0
                   ) -> tuple[float, float, float, float]:
    """(F1, threshold, precision, recall) of the best rule `x >= threshold`, exactly, in O(n log n).
    With `prior`, among the thresholds within `tol` of the best F1 the one nearest the prior wins: on
    a small or easy labelled set many thresholds tie, and the shipped one generalises better than the
    edge of the gap between the classes."""
    x = np.asarray(x, dtype=float)
    n_pos = int(gold.sum())
    if not len(x) or not n_pos:
        return 0.0, float("inf"), 0.0, 0.0
    order = np.argsort(-x, kind="stable")
    xs, gs = x[order], gold[order]
    tp = np.cumsum(gs)
    kept = np.arange(1, len(xs) + 1)
    last = np.r_[xs[1:] != xs[:-1], True]  # the end of each run of equal values
    last &= xs > 0  # a document with no evidence is never medical
    if not last.any():
        return 0.0, float("inf"), 0.0, 0.0
    f1 = np.where(last, 2 * tp / (kept + n_pos), -1.0)
    i = int(np.argmax(f1))
    if prior is not None and prior > 0:
        near = np.flatnonzero(f1 >= f1[i] - tol)
        i = int(near[np.argmin(np.abs(np.log(xs[near]) - np.log(prior)))])
    nxt = float(xs[i + 1]) if i + 1 < len(xs) else 0.0
    th = _between(max(nxt, 0.0), float(xs[i]))
    return float(f1[i]), th, float(tp[i] / kept[i]), float(tp[i] / n_pos)


def rule_features(texts: list[str], pack: Pack) -> tuple[np.ndarray, np.ndarray]:
    m = KeywordMatcher(pack.keywords, cjk=pack.cjk)
    res = [m.match(t) for t in texts]
    return np.array([r.unique for r in res]), np.array([r.density for r in res], dtype=float)


def terms_features(texts: list[str], pack: Pack) -> tuple[np.ndarray, np.ndarray]:
    m = _term_matcher(pack)
    ev = np.array([WeightedTerms.evidence(m.match(t)[0], m.weights) for t in texts], dtype=float)
    words = np.array([count_words(t, pack.word_split) for t in texts], dtype=float)
    return ev, words


def features(name: str, texts: list[str], pack: Pack) -> tuple[np.ndarray, np.ndarray]:
    return rule_features(texts, pack) if name == "mmedc" else terms_features(texts, pack)


def decide(name: str, feats, pack: Pack) -> np.ndarray:
    """The classifier's decisions from its features, with the pack's thresholds."""
    a, b = feats
    if name == "mmedc":
        return (a >= pack.min_unique) & (b >= pack.min_density)
    need = pack.terms_min_score * np.maximum(1.0, b / pack.terms_length_ref) ** pack.terms_length_power
    return a / need >= 1.0


def fit(name: str, feats, gold: np.ndarray, pack: Pack, tol: float = TOL) -> tuple[dict, float, float, float]:
    """(pack values, F1, precision, recall) of the best thresholds for `gold`; among those within `tol`
    of the best F1, the ones nearest the pack's current values."""
    a, b = feats
    cands = []  # (F1, distance from the pack's values, values, P, R)
    if name == "mmedc":
        for t in range(1, 13):
            f, th, p, r = best_threshold(np.where(a >= t, b, 0.0), gold, pack.min_density, tol)
            cands.append((f, abs(np.log(t / max(pack.min_unique, 1))), {"min_unique": t, "min_density": th}, p, r))
    else:
        for ref in sorted(set(LENGTH_REFS) | {pack.terms_length_ref}):
            f, th, p, r = best_threshold(a / np.maximum(1.0, b / ref) ** pack.terms_length_power, gold,
                                         pack.terms_min_score, tol)
            cands.append((f, abs(np.log(ref / pack.terms_length_ref)),
                          {"terms_min_score": th, "terms_length_ref": int(ref)}, p, r))
    top = max(c[0] for c in cands)
    f, _, values, p, r = min((c for c in cands if c[0] >= top - tol), key=lambda c: c[1])
    return values, f, p, r


def calibrate(texts: list[str], labels: list[str], pack: Pack, classifiers=("terms", "mmedc")) -> list[Calibration]:
    gold = np.array([lab == "medical" for lab in labels])
    if gold.all() or not gold.any():
        raise ValueError("calibration needs both `medical` and `non_medical` records for the language "
                         "(add general text, e.g. with --non-medical)")
    out = []
    for name in classifiers:
        feats = features(name, texts, pack)
        before = _prf(gold, decide(name, feats, pack))[2]
        values, f, p, r = fit(name, feats, gold, pack)
        # What the pack will do with the written values, recomputed: the figure printed is the pack's.
        p, r, f = _prf(gold, decide(name, feats, replace(pack, **values)))
        out.append(Calibration(name, values, f, p, r, before))
    return out


def apply(pack: Pack, cal: Calibration) -> Pack:
    return replace(pack, **cal.values)
