"""The filter chain a recipe asks for, in order. Stages that can drop or change documents are added
here (each one a Step with its own audit rows)."""
from __future__ import annotations

from mmedc.config import Recipe
from mmedc.engine.step import Step


def filter_steps(recipe: Recipe) -> list[Step]:
    from mmedc.classify.steps import LangIdStep, MedicalStep
    from mmedc.clean.steps import DecontamStep, PiiStep, QualityStep

    # Cleaning after the medical filter: it runs on far fewer documents there.
    return [LangIdStep(recipe), MedicalStep(recipe), QualityStep(recipe), PiiStep(recipe), DecontamStep(recipe)]

