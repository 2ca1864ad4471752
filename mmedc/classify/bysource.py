"""`mmedc eval --by-source`: leave-one-source-out figures next to the dev figures.

Dev figures use the packs as shipped. Leave-one-source-out (LOSO): for each source of a language, the
classifier's thresholds are fitted (as `mmedc lang calibrate` does) on that language's other sources
only, then the held-out source is scored with them; the pooled decisions give P / R / F1. A figure
therefore never comes from thresholds that saw the text being scored. When the other sources lack one
of the labels (nothing to fit on), the pack's shipped thresholds are used for that fold, and counted.

A source is a dataset (`set`) split by subject file or sub-corpus folder, train/dev/test splits joined:
all of MMLU's `anatomy_*.csv` files are one source, MedQuAD's `1_CancerGov_QA/` another. (Term lists
are written by hand and are not refitted per fold: a term added after reading a source's misses still
flatters that source, which is why term-list changes are judged on sources not read.)
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath

import numpy as np

from mmedc.classify.calibrate import decide, features, fit
from mmedc.classify.evaluate import LABELS, PRF
from mmedc.classify.packs import load_pack

_SPLIT = re.compile(r"^(train|dev|test|val|valid|validation|private|public|v?\d+)$", re.I)


def _name(part: str) -> str:
    tokens = [t for t in re.split(r"[_\-.]", part) if t and not _SPLIT.match(t)]
    return "_".join(tokens)


def source_group(rec: dict) -> str:
    """The unit left out: `set` plus the subject (file stem without split words) or, when the file
    name is only a split or a record number, its folder."""
    s = rec.get("set") or ""
    path = PurePosixPath(str(rec.get("source") or "").split("#")[0])
    for part in (path.stem, path.parent.name):
        name = _name(part)
        if name and s and name != s:
            return f"{s}:{name}"
    return s or str(path) or "all"


@dataclass
class SourceRow:
    group: str
    labels: dict  # label -> count
    dev: dict  # classifier -> (medical called medical, non_medical called medical), shipped thresholds
    loso: dict  # classifier -> the same with thresholds fitted without this source


@dataclass
class ByLang:
    lang: str
    dev: dict = field(default_factory=dict)  # classifier -> PRF
    loso: dict = field(default_factory=dict)  # classifier -> PRF
    fallback: dict = field(default_factory=dict)  # classifier -> folds that kept the shipped thresholds
    sources: list = field(default_factory=list)  # SourceRow per source


def evaluate_by_source(records: list[dict], languages: list[str], classifiers: list[str],
                       group=source_group, features=features) -> dict[str, ByLang]:
    """Per language with both labels: dev and leave-one-source-out P / R / F1 per classifier.
    `features(name, texts, pack)` gives the scores the thresholds apply to (a variant matcher can be
    judged the same way: mmedc.bench.segment)."""
    out = {}
    by_lang = defaultdict(list)
    for r in records:
        if r.get("lang") in languages and r.get("label") in LABELS:
            by_lang[r["lang"]].append(r)
    for lang in languages:
        recs = by_lang.get(lang, [])
        if not recs:
            continue
        pack = load_pack(lang)
        texts = [r["text"] for r in recs]
        gold = np.array([r["label"] == "medical" for r in recs])
        groups = np.array([group(r) for r in recs])
        names = sorted(set(groups))
        res = ByLang(lang)
        per_group = {g: groups == g for g in names}
        dev_pred, loso_pred = {}, {}
        for name in classifiers:
            feats = features(name, texts, pack)
            dev_pred[name] = decide(name, feats, pack)
            pred = np.zeros(len(recs), dtype=bool)
            res.fallback[name] = 0
            for g in names:
                test = per_group[g]
                train = ~test
                if gold[train].all() or not gold[train].any():
                    fitted = pack
                    res.fallback[name] += 1
                else:
                    values, *_ = fit(name, (feats[0][train], feats[1][train]), gold[train], pack)
                    fitted = replace(pack, **values)
                pred[test] = decide(name, (feats[0][test], feats[1][test]), fitted)
            loso_pred[name] = pred
            res.dev[name], res.loso[name] = _prf(gold, dev_pred[name]), _prf(gold, pred)
        for g in names:
            m = per_group[g]
            res.sources.append(SourceRow(g, {lab: int(np.sum(m & (gold == (lab == "medical")))) for lab in LABELS},
                                         {n: _called(gold[m], dev_pred[n][m]) for n in classifiers},
                                         {n: _called(gold[m], loso_pred[n][m]) for n in classifiers}))
        out[lang] = res
    return out


def _called(gold: np.ndarray, pred: np.ndarray) -> tuple[int, int]:
    return int(np.sum(gold & pred)), int(np.sum(~gold & pred))


def _prf(gold: np.ndarray, pred: np.ndarray) -> PRF:
    return PRF(tp=int(np.sum(gold & pred)), fp=int(np.sum(~gold & pred)), fn=int(np.sum(gold & ~pred)),
               tn=int(np.sum(~gold & ~pred)))


def macro_f1(reports: dict[str, ByLang], name: str, which: str) -> float | None:
    f1s = [getattr(r, which)[name].f1 for r in reports.values() if getattr(r, which)[name].f1 is not None]
    return sum(f1s) / len(f1s) if f1s else None


def set_rows(rep: ByLang, classifiers: list[str]) -> list[tuple]:
    """Sources summed per dataset (`set`), for a short table: (set, sources, medical, non_medical,
    {classifier: ((dev tp, dev fp), (LOSO tp, LOSO fp))})."""
    acc: dict = {}
    for row in rep.sources:
        s = row.group.split(":")[0]
        a = acc.setdefault(s, [0, 0, 0, {n: [[0, 0], [0, 0]] for n in classifiers}])
        a[0] += 1
        a[1] += row.labels["medical"]
        a[2] += row.labels["non_medical"]
        for n in classifiers:
            for k, (tp, fp) in enumerate((row.dev[n], row.loso[n])):
                a[3][n][k][0] += tp
                a[3][n][k][1] += fp
    return [(s, *v) for s, v in acc.items()]
