"""The filter chain a recipe asks for, in order. Stages that can drop or change documents are added
here (each one a Step with its own audit rows)."""
from __future__ import annotations

from mmedc.config import Recipe
from mmedc.engine.step import Step


def filter_steps(recipe: Recipe) -> list[Step]:
    from mmedc.classify.steps import LangIdStep, MedicalStep

    return [LangIdStep(recipe), MedicalStep(recipe)]


def filter_step_names(recipe: Recipe) -> list[str]:
    return [s.name for s in filter_steps(recipe)]
