"""Pipeline steps: language ID, then the medical filter, both per language pack."""
from __future__ import annotations

from collections import defaultdict

from mmedc.classify.langid import identify
from mmedc.classify.medical import get_classifier
from mmedc.classify.packs import Pack, load_pack
from mmedc.config import Recipe
from mmedc.engine.step import DROPPED, KEPT, Outcome, Step


def label_to_pack(packs: list[Pack]) -> dict[str, Pack]:
    return {label: p for p in packs for label in p.lid_labels}


class LangIdStep(Step):
    name = "langid"

    def __init__(self, recipe: Recipe):
        self.model = recipe.langid.model
        self.default_min = recipe.langid.min_score
        self.packs = label_to_pack([load_pack(c) for c in recipe.languages])

    def process(self, docs):
        out = []
        for d, (label, score) in zip(docs, identify([d["text"] for d in docs], self.model)):
            pack = self.packs.get(label)
            d["lang"], d["lang_score"] = (pack.code if pack else label), score
            scores = {"lang": d["lang"], "lang_score": score}
            if pack is None:
                out.append(Outcome(DROPPED, f"lang_not_selected: {label}", scores))
            elif score < pack.lid_min_score:
                out.append(Outcome(DROPPED, f"low_lang_score: {score:.2f} < {pack.lid_min_score}", scores))
            else:
                out.append(Outcome(KEPT, None, scores))
        return out


class MedicalStep(Step):
    name = "medical"

    def __init__(self, recipe: Recipe):
        self.classifier = get_classifier(recipe.medical.classifier)

    def process(self, docs):
        out: list[Outcome | None] = [None] * len(docs)
        by_lang = defaultdict(list)
        for i, d in enumerate(docs):
            by_lang[d["lang"]].append(i)
        for lang, idx in by_lang.items():
            pack = load_pack(lang)
            for i, s in zip(idx, self.classifier.score([docs[i]["text"] for i in idx], pack)):
                d = docs[i]
                d.update(medical=s.medical, medical_score=s.score, medical_hits=s.hits, medical_density=s.density)
                scores = {"lang": lang, "medical": s.medical, "medical_score": s.score,
                          "medical_hits": s.hits, "medical_density": s.density}
                reason = None if s.medical else (
                    f"not_medical: hits {s.hits} (min {pack.min_unique}), density {s.density:.4f} (min {pack.min_density})")
                out[i] = Outcome(KEPT if s.medical else DROPPED, reason, scores)
        return out
