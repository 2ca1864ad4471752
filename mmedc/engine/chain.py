"""The filter chain: the recipe's steps (from the registry, in the recipe's order) run batch by batch,
one audit row per document per step, only kept documents passed on; and the schema of what is written,
built from the fields the steps declare.

Per-source settings: a source may override a step's table (`[sources.quality] min_words = 5` under
its `[[sources]]`, or `enabled = false` to let its documents pass the step untouched). Keys are the
step's recipe table fields, `enabled`, and what the step lists in `source_keys` (quality: its rules,
which otherwise come from the language pack); its documents go to an instance of the step built with
them, and the audit detail of each of its rows records them (`source_settings`).
"""
from __future__ import annotations

import dataclasses
from collections import defaultdict

import pyarrow as pa

from mmedc.audit import AuditLog
from mmedc.config import Recipe, _config_fields
from mmedc.core.errors import short_error
from mmedc.core.step import FAILED, KEPT, STEPS, Outcome, Step

DOC_FIELDS = [("id", pa.string()), ("source", pa.string()), ("text", pa.string()), ("url", pa.string()),
              ("lang_hint", pa.string()), ("meta", pa.string())]


def filter_steps(recipe: Recipe) -> list[Step]:
    STEPS.load(recipe.pipeline.plugins)  # in a Ray worker too: the recipe's plug-in steps register there
    steps = []
    for name in recipe.pipeline.steps:
        cls = STEPS.get(name)
        base = cls(recipe)
        per_source = {s.name: s.settings[cls.table] for s in recipe.sources
                      if cls.table and s.settings.get(cls.table)}
        steps.append(SourceSettings(base, {src: _for_source(cls, recipe, st) for src, st in per_source.items()},
                                    per_source) if per_source else base)
    return steps


def _for_source(cls, recipe: Recipe, st: dict) -> Step | None:
    """The step built with one source's settings; None when the source turns it off."""
    if st.get("enabled") is False:
        return None
    fields = _config_fields(recipe, cls.table)
    table = {k: v for k, v in st.items() if k in fields and k != "enabled"}
    if table:
        cfg = dataclasses.replace(recipe.table(cls.table), **table)
        recipe = (dataclasses.replace(recipe, tables={**recipe.tables, cls.table: cfg}) if cls.table in recipe.tables
                  else dataclasses.replace(recipe, **{cls.table: cfg}))
    inst = cls(recipe)
    inst.overrides = {k: v for k, v in st.items() if k not in fields and k != "enabled"}
    return inst


class SourceSettings(Step):
    """A step whose settings differ for some sources: each source's documents go to its own instance."""

    def __init__(self, base: Step, per_source: dict[str, Step | None], settings: dict[str, dict]):
        super().__init__(base.recipe)
        self.name, self.table, self.columns = base.name, base.table, base.columns
        self.base, self.per_source, self.source_settings = base, per_source, settings

    def process(self, docs: list[dict]) -> list[Outcome]:
        groups: dict[str, list[int]] = defaultdict(list)
        for i, d in enumerate(docs):
            groups[d["source"]].append(i)
        out: list = [None] * len(docs)
        for src, idx in groups.items():
            if src not in self.per_source:
                res = self.base.process([docs[i] for i in idx])
            else:
                st, inst = self.source_settings[src], self.per_source[src]
                res = ([Outcome(KEPT) for _ in idx] if inst is None else inst.process([docs[i] for i in idx]))
                res = [Outcome(o.decision, o.reason, {**o.scores, "source_settings": st}) for o in res]
            if len(res) != len(idx):
                raise RuntimeError(f"step {self.name} returned {len(res)} outcomes for {len(idx)} documents")
            for i, o in zip(idx, res):
                out[i] = o
        return out


def filtered_schema(steps: list[Step]) -> pa.Schema:
    """The documents' fields plus every field a step of the chain adds (first declaration wins)."""
    fields = dict(DOC_FIELDS)
    for s in steps:
        for name, typ in s.columns.items():
            fields.setdefault(name, typ)
    return pa.schema(list(fields.items()))


def _outcomes(step: Step, docs: list[dict]) -> list[Outcome]:
    try:
        return step.process(docs)
    except Exception:  # noqa: BLE001 - retry one by one so that one bad document fails alone
        outcomes = []
        for d in docs:
            try:
                outcomes.extend(step.process([d]))
            except Exception as e:  # noqa: BLE001
                outcomes.append(Outcome(FAILED, f"step_error: {short_error(e)}"))
        return outcomes


def run_chain(steps: list[Step], docs: list[dict], audit: AuditLog) -> list[dict]:
    """Runs one batch through the steps; returns the documents every step kept."""
    for step in steps:
        if not docs:
            break
        outcomes = _outcomes(step, docs)
        if len(outcomes) != len(docs):
            raise RuntimeError(f"step {step.name} returned {len(outcomes)} outcomes for {len(docs)} documents")
        kept = []
        for d, o in zip(docs, outcomes):
            audit.add(step.name, d["id"], d["source"], o.decision, o.reason, chars=len(d["text"]), **o.scores)
            if o.decision == KEPT:
                kept.append(d)
        docs = kept
    return docs
