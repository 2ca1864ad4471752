"""Pipeline steps: language ID, then the medical filter, both per language pack. `mmedc classify`
uses the same two functions, so the CLI and the pipeline write the same fields."""
from __future__ import annotations

from collections import defaultdict

from mmedc.classify.langid import LangResult, LanguageIdentifier
from mmedc.classify.medical import MedicalScore, get_classifier
from mmedc.classify.packs import Pack, load_pack
from mmedc.config import Recipe
from mmedc.engine.step import DROPPED, KEPT, Outcome, Step


def label_to_pack(packs: list[Pack]) -> dict[str, Pack]:
    return {label: p for p in packs for label in p.lid_labels}


def medical_scores(classifier, docs: list[dict]) -> list[tuple[MedicalScore, Pack]]:
    """Score documents that carry `lang` (a pack code), grouped by language; fields are added to each doc."""
    out: list = [None] * len(docs)
    by_lang = defaultdict(list)
    for i, d in enumerate(docs):
        by_lang[d["lang"]].append(i)
    for lang, idx in by_lang.items():
        pack = load_pack(lang)
        for i, s in zip(idx, classifier.score([docs[i]["text"] for i in idx], pack)):
            docs[i].update(medical=s.medical, medical_score=s.score, medical_hits=s.hits, medical_density=s.density)
            out[i] = (s, pack)
    return out


class LangIdStep(Step):
    name = "langid"

    def __init__(self, recipe: Recipe):
        self.lid = LanguageIdentifier([load_pack(c) for c in recipe.languages], recipe.langid.model,
                                      recipe.langid.min_score)

    def process(self, docs):
        out = []
        for d, r in zip(docs, self.lid.identify([d["text"] for d in docs])):
            r: LangResult
            d["lang"], d["lang_score"] = r.lang, r.score
            out.append(Outcome(KEPT if r.accepted else DROPPED, r.reason, r.audit()))
        return out


class MedicalStep(Step):
    name = "medical"

    def __init__(self, recipe: Recipe):
        self.classifier = get_classifier(recipe.medical.classifier)

    def process(self, docs):
        out = []
        for s, pack in medical_scores(self.classifier, docs):
            scores = {"lang": pack.code, "medical": s.medical, "medical_score": s.score,
                      "medical_hits": s.hits, "medical_density": s.density, "classifier": self.classifier.name,
                      **s.detail}
            out.append(Outcome(KEPT if s.medical else DROPPED, None if s.medical else self.classifier.reason(s, pack),
                               scores))
        return out
