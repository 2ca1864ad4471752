"""Pipeline steps: language ID and the medical filter, both per language pack. `mmedc classify`
uses the same functions, so the CLI and the pipeline write the same fields.

Either order works. Medical first (the default, the cheap step first) scores a document in the
language its source declares (`lang` of the source), or, when none is declared, in every pack of the
recipe (kept when one of them finds it medical); language ID then checks only those candidates, and
when it finds another language than the one the medical decision used, the document is scored again
in the detected language and kept only if it is medical there too (docs/engine.md).
"""
from __future__ import annotations

from collections import defaultdict

import pyarrow as pa

from mmedc.classify.langid import LangResult, LanguageIdentifier
from mmedc.classify.medical import MedicalScore, get_classifier
from mmedc.classify.packs import Pack, load_pack
from mmedc.config import Recipe
from mmedc.core.step import DROPPED, KEPT, Outcome, Step, step


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


MEDICAL_COLUMNS = {"lang": pa.string(), "medical": pa.bool_(), "medical_score": pa.float32(),
                   "medical_hits": pa.int32(), "medical_density": pa.float32()}


def _medical_outcome(classifier, s: MedicalScore, pack: Pack, **extra) -> Outcome:
    scores = {"lang": pack.code, "medical": s.medical, "medical_score": s.score, "medical_hits": s.hits,
              "medical_density": s.density, "classifier": classifier.name, **s.detail, **extra}
    return Outcome(KEPT if s.medical else DROPPED, None if s.medical else classifier.reason(s, pack), scores)


def _set_medical(doc: dict, s: MedicalScore):
    doc.update(medical=s.medical, medical_score=s.score, medical_hits=s.hits, medical_density=s.density)


@step("langid")
class LangIdStep(Step):
    table, config = "langid", None
    columns = {"lang": pa.string(), "lang_score": pa.float32()}

    def __init__(self, recipe: Recipe):
        super().__init__(recipe)
        self.lid = LanguageIdentifier([load_pack(c) for c in recipe.languages], recipe.langid.model,
                                      recipe.langid.min_score)
        self._classifier = None

    def process(self, docs):
        out = []
        for d, r in zip(docs, self.lid.identify([d["text"] for d in docs])):
            r: LangResult
            d["lang"], d["lang_score"] = r.lang, r.score
            o = Outcome(KEPT if r.accepted else DROPPED, r.reason, r.audit())
            used = d.get("medical_pack")
            if r.accepted and used and used != r.lang:
                o = self._recheck(d, r, used)
            out.append(o)
        return out

    def _recheck(self, d: dict, r: LangResult, used: str) -> Outcome:
        """Medical ran first in another language than the detected one: decide again in the detected one."""
        if self._classifier is None:
            self._classifier = get_classifier(self.recipe.medical.classifier)
        pack = load_pack(r.lang)
        s = self._classifier.score([d["text"]], pack)[0]
        _set_medical(d, s)
        scores = {**r.audit(), "medical_pack": used, "medical_rescored": True, "medical": s.medical,
                  "medical_score": s.score}
        if s.medical:
            return Outcome(KEPT, None, scores)
        return Outcome(DROPPED, f"not_medical_in_detected_language: {r.lang} (scored as {used} before): "
                       f"{self._classifier.reason(s, pack)}", scores)


@step("medical")
class MedicalStep(Step):
    table, config = "medical", None
    columns = MEDICAL_COLUMNS

    def __init__(self, recipe: Recipe):
        super().__init__(recipe)
        self.classifier = get_classifier(recipe.medical.classifier)
        self.languages = list(recipe.languages)

    def _pack_of(self, d: dict) -> str | None:
        """The language to judge in: language ID's when it ran, else the source's declared one."""
        if "lang_score" in d:
            return d["lang"]
        hint = d.get("lang_hint")
        return hint if hint in self.languages else None

    def process(self, docs):
        out: list = [None] * len(docs)
        by_lang, unknown = defaultdict(list), []
        for i, d in enumerate(docs):
            code = self._pack_of(d)
            (by_lang[code] if code else unknown).append(i)
        for code, idx in by_lang.items():
            pack = load_pack(code)
            for i, s in zip(idx, self.classifier.score([docs[i]["text"] for i in idx], pack)):
                d = docs[i]
                _set_medical(d, s)
                if "lang_score" not in d:
                    d["medical_pack"] = code
                    d.setdefault("lang", code)
                out[i] = _medical_outcome(self.classifier, s, pack)
        if unknown:
            self._score_all_packs(docs, unknown, out)
        return out

    def _score_all_packs(self, docs, idx, out):
        """No language known yet: the document is a candidate when any pack finds it medical (the best
        scoring pack is recorded; one automaton scans all packs at once); language ID decides the
        language afterwards."""
        from mmedc.classify.allpacks import best_pack_scores

        packs = [load_pack(c) for c in self.languages]
        for i, (s, pack) in zip(idx, best_pack_scores(self.classifier.name, [docs[i]["text"] for i in idx], packs)):
            _set_medical(docs[i], s)
            docs[i]["medical_pack"] = pack.code
            docs[i].setdefault("lang", pack.code)
            out[i] = _medical_outcome(self.classifier, s, pack, medical_all_packs=True)
