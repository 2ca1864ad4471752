"""The filter chain: the recipe's steps (from the registry, in the recipe's order) run batch by batch,
one audit row per document per step, only kept documents passed on; and the schema of what is written,
built from the fields the steps declare."""
from __future__ import annotations

import pyarrow as pa

from mmedc.audit import AuditLog
from mmedc.config import Recipe
from mmedc.core.errors import short_error
from mmedc.core.step import FAILED, KEPT, STEPS, Outcome, Step

DOC_FIELDS = [("id", pa.string()), ("source", pa.string()), ("text", pa.string()), ("url", pa.string()),
              ("lang_hint", pa.string()), ("meta", pa.string())]
DOC_SCHEMA = pa.schema(DOC_FIELDS)


def filter_steps(recipe: Recipe) -> list[Step]:
    STEPS.load(recipe.pipeline.plugins)  # in a Ray worker too: the recipe's plug-in steps register there
    return [STEPS.get(name)(recipe) for name in recipe.pipeline.steps]


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
