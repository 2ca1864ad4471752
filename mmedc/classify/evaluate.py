"""`mmedc eval`: per language, LID accuracy (among the given packs) and medical precision / recall / F1
of each classifier side by side. The medical figures use the gold language's pack, so they do not
depend on LID errors; `borderline` records count for LID only."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from mmedc.classify.langid import LanguageIdentifier
from mmedc.classify.medical import get_classifier
from mmedc.classify.packs import load_pack

LABELS = ("medical", "non_medical")


@dataclass
class PRF:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, gold: bool, pred: bool):
        if gold and pred:
            self.tp += 1
        elif gold:
            self.fn += 1
        elif pred:
            self.fp += 1
        else:
            self.tn += 1

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if p is None or r is None:
            return None
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class LangReport:
    lang: str
    n: int = 0
    labels: dict = field(default_factory=lambda: defaultdict(int))
    lid_correct: int = 0
    lid_wrong: dict = field(default_factory=lambda: defaultdict(int))  # what it was taken for
    medical: dict = field(default_factory=dict)  # classifier -> PRF

    @property
    def lid_accuracy(self) -> float:
        return self.lid_correct / self.n if self.n else 0.0

    @property
    def both_labels(self) -> bool:
        return all(self.labels.get(x) for x in LABELS)


def evaluate(records: list[dict], languages: list[str], classifiers: list[str], model_path: str = "",
             progress=None, lid: bool = True) -> dict[str, LangReport]:
    packs = {c: load_pack(c) for c in languages}
    recs = [r for r in records if r.get("lang") in packs]
    reports = {c: LangReport(c, medical={name: PRF() for name in classifiers}) for c in languages}
    step = 2000
    identifier = LanguageIdentifier(list(packs.values()), model_path) if lid else None
    clfs = [get_classifier(n) for n in classifiers]
    for start in range(0, len(recs), step):
        batch = recs[start:start + step]
        if identifier:
            for r, res in zip(batch, identifier.identify([r["text"] for r in batch])):
                rep = reports[r["lang"]]
                if res.accepted and res.lang == r["lang"]:
                    rep.lid_correct += 1
                else:
                    rep.lid_wrong[res.lang if res.accepted else (res.reason or "?").split(":")[0]] += 1
        by_lang = defaultdict(list)
        for r in batch:
            rep = reports[r["lang"]]
            rep.n += 1
            rep.labels[r.get("label", "none")] += 1
            if r.get("label") in LABELS:
                by_lang[r["lang"]].append(r)
        for lang, rs in by_lang.items():
            for clf in clfs:
                for r, s in zip(rs, clf.score([r["text"] for r in rs], packs[lang])):
                    reports[lang].medical[clf.name].add(r["label"] == "medical", s.medical)
        if progress:
            progress(len(batch))
    return {c: r for c, r in reports.items() if r.n}


def fmt(x: float | None) -> str:
    return "—" if x is None else f"{x:.3f}"
