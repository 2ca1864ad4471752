"""The step contract and its registry: a step scores a batch of documents and decides, one Outcome per
document (datatrove's filter, NeMo Curator's stage, data-juicer's compute_stats + process).

A step may add fields to the document dicts (e.g. `lang`) or change `text`; the fields it adds are
declared in `columns` (name → Arrow type), so the written schema is built from the chain's steps and a
new step's fields always reach the shard. `table` names the recipe table the step reads (its settings
dataclass is `config`); the engine writes one audit row per document per step and passes only kept
documents on. Scores go into the audit for kept documents too, so thresholds can be re-tuned from it.

Adding a filter: one file with

    @step("my_filter")
    class MyFilter(Step):
        table, config = "my_filter", MyFilterConfig     # optional: a recipe table [my_filter]
        columns = {"my_score": pa.float32()}             # optional: fields it adds to the documents
        def process(self, docs): return [Outcome(KEPT, scores={"my_score": ...}) for d in docs]

and `plugins = ["my_module"]` plus `"my_filter"` in the recipe's `[pipeline] steps`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from mmedc.core.decisions import DROPPED, FAILED, KEPT
from mmedc.core.registry import Registry

STEPS = Registry("step", ("mmedc.classify.steps", "mmedc.clean.steps"))


@dataclass
class Outcome:
    decision: str = KEPT
    reason: str | None = None
    scores: dict = field(default_factory=dict)


class Step:
    name = "step"
    table: str | None = None  # the recipe table with this step's settings
    config: type | None = None  # dataclass of that table (defaults when the recipe has none)
    columns: dict = {}  # document fields this step adds: name -> pyarrow type

    def __init__(self, recipe):
        self.recipe = recipe

    def settings(self):
        """This step's recipe table as its dataclass (defaults when absent)."""
        return self.recipe.table(self.table) if self.table else None

    def process(self, docs: list[dict]) -> list[Outcome]:  # pragma: no cover - interface
        raise NotImplementedError


def step(name: str):
    """Class decorator: register a Step under `name` (the name used in recipes and the audit)."""
    def deco(cls):
        cls.name = name
        return STEPS.add(name, cls)
    return deco


__all__ = ["Step", "Outcome", "step", "STEPS", "KEPT", "DROPPED", "FAILED"]
