"""The cleaning steps of the filter chain (after langid and medical): quality → pii → decontam.

Each is a registered `mmedc.core.step.Step`: one audit row per document with its scores (kept documents too).
Rules come from the document's language pack, read once per language.
"""
from __future__ import annotations

import dataclasses
import functools

from mmedc.classify.packs import load_pack
from mmedc.clean import decontam as dc
from mmedc.clean import pii, quality
from mmedc.config import Recipe
from mmedc.core.step import DROPPED, KEPT, Outcome, Step, step


@functools.lru_cache(maxsize=None)
def quality_rules(lang: str) -> tuple[quality.QualityRules, bool]:
    pack = load_pack(lang)
    return quality.rules_for_pack(pack), pack.cjk


@functools.lru_cache(maxsize=None)
def pii_rules(lang: str) -> pii.PiiRules:
    return pii.rules_for_pack(load_pack(lang))


@functools.lru_cache(maxsize=4)
def load_index(path: str) -> dc.DecontamIndex:
    return dc.DecontamIndex(path)


def quality_outcome(text: str, lang: str, rules: quality.QualityRules | None = None) -> Outcome:
    base, cjk = quality_rules(lang)
    rules = rules or base
    s, failed = quality.assess(text, rules, cjk)
    scores = {"lang": lang, **s}
    if not failed:
        return Outcome(KEPT, None, scores)
    rule, v, op, thr = failed[0]
    scores["quality_failed"] = [f[0] for f in failed]
    more = f" (+{len(failed) - 1} more)" if len(failed) > 1 else ""
    return Outcome(DROPPED, f"quality_{rule}: {v} {op} {thr}{more}", scores)


def scrub_doc(doc: dict) -> Outcome:
    """Replaces PII in doc["text"] in place; counts go to the audit (`pii` and `pii_<kind>`)."""
    text, counts = pii.scrub(doc["text"], pii_rules(doc["lang"]))
    doc["text"] = text
    return Outcome(KEPT, None, {"lang": doc["lang"], "pii": sum(counts.values()),
                                **{f"pii_{k}": v for k, v in counts.items()}})


def decontam_outcome(index: dc.DecontamIndex | None, text: str, min_coverage: float) -> Outcome:
    m = index.check(text) if index is not None else None
    if m is None:
        return Outcome(KEPT, None, {"decontam_coverage": 0.0} if index is not None else {})
    scores = {"decontam_item": m.item, "decontam_field": m.field, "decontam_coverage": m.coverage,
              "decontam_ngrams": m.ngrams}
    if m.coverage >= min_coverage:
        return Outcome(DROPPED, f"contaminated: {m.item} {m.field} (coverage {m.coverage:.2f})", scores)
    return Outcome(KEPT, None, scores)


@step("quality")
class QualityStep(Step):
    table = "quality"
    # A source may override the pack's rules: [sources.quality] min_words = 5 (mmedc.engine.chain)
    source_keys = tuple(f.name for f in dataclasses.fields(quality.QualityRules))

    def __init__(self, recipe: Recipe):
        super().__init__(recipe)
        self.enabled = recipe.quality.enabled
        self.overrides: dict = {}

    def process(self, docs):
        if not self.enabled:
            return [Outcome(KEPT, None, {"quality": "disabled"}) for _ in docs]
        rules: dict = {}  # the pack's rules with this source's overrides, once per language
        for d in docs:
            if self.overrides and d["lang"] not in rules:
                rules[d["lang"]] = dataclasses.replace(quality_rules(d["lang"])[0], **self.overrides)
        return [quality_outcome(d["text"], d["lang"], rules.get(d["lang"])) for d in docs]


@step("pii")
class PiiStep(Step):
    table = "pii"

    def __init__(self, recipe: Recipe):
        super().__init__(recipe)
        self.enabled = recipe.pii.enabled

    def process(self, docs):
        if not self.enabled:
            return [Outcome(KEPT, None, {"pii_scrub": "disabled"}) for _ in docs]
        return [scrub_doc(d) for d in docs]


@step("decontam")
class DecontamStep(Step):
    """Without an index in the recipe every document is kept (the audit rows show the step ran)."""

    table = "decontam"

    def __init__(self, recipe: Recipe):
        super().__init__(recipe)
        cfg = recipe.decontam
        self.min_coverage = cfg.min_coverage
        from mmedc.core.storage import path as storage_path  # a local folder (relative to the recipe) or a URI

        self.index = load_index(str(storage_path(cfg.index, recipe.base_dir))) if cfg.index else None

    def process(self, docs):
        return [decontam_outcome(self.index, d["text"], self.min_coverage) for d in docs]
