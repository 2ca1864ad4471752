"""The step contract: a step scores a batch of documents and decides, one Outcome per document.

Steps may add fields to the document dicts (e.g. `lang`) or change `text`; the chain writes one
audit row per document per step and passes only kept documents on. Scores go into the audit for kept
documents too, so thresholds can be re-tuned from the audit alone.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from mmedc.audit import AuditLog, DROPPED, FAILED, KEPT
from mmedc.sources.base import short_error


@dataclass
class Outcome:
    decision: str = KEPT
    reason: str | None = None
    scores: dict = field(default_factory=dict)


class Step:
    name = "step"

    def process(self, docs: list[dict]) -> list[Outcome]:  # pragma: no cover - interface
        raise NotImplementedError


def run_chain(steps: list[Step], docs: list[dict], audit: AuditLog) -> list[dict]:
    for step in steps:
        if not docs:
            continue
        try:
            outcomes = step.process(docs)
        except Exception as batch_error:  # noqa: BLE001 - retry one by one so one bad document fails alone
            outcomes = []
            for d in docs:
                try:
                    outcomes.extend(step.process([d]))
                except Exception as e:  # noqa: BLE001
                    outcomes.append(Outcome(FAILED, f"step_error: {short_error(e)}"))
            del batch_error
        if len(outcomes) != len(docs):
            raise RuntimeError(f"step {step.name} returned {len(outcomes)} outcomes for {len(docs)} documents")
        kept = []
        for d, o in zip(docs, outcomes):
            audit.add(step.name, d["id"], d["source"], o.decision, o.reason, chars=len(d["text"]), **o.scores)
            if o.decision == KEPT:
                kept.append(d)
        docs = kept
    return docs


__all__ = ["Step", "Outcome", "run_chain", "KEPT", "DROPPED", "FAILED"]
