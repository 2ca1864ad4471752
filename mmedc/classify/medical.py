"""Medical classifiers behind one interface: score a batch of texts in one language pack.

`mmedc` is the MMedC paper's rule: keep when unique keywords U >= T and density D >= R.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

from mmedc.classify.keywords import KeywordMatcher
from mmedc.classify.packs import Pack


@dataclass
class MedicalScore:
    medical: bool
    score: float  # >= 1.0 means medical, for every classifier
    hits: int
    density: float


@functools.cache
def _matcher(pack: Pack) -> KeywordMatcher:
    return KeywordMatcher(pack.keywords, cjk=pack.cjk)


class MMedCRule:
    name = "mmedc"

    def score(self, texts: list[str], pack: Pack) -> list[MedicalScore]:
        m = _matcher(pack)
        out = []
        for t in texts:
            r = m.match(t)
            score = min(r.unique / max(pack.min_unique, 1), r.density / max(pack.min_density, 1e-9))
            out.append(MedicalScore(r.unique >= pack.min_unique and r.density >= pack.min_density,
                                    score, r.unique, r.density))
        return out


CLASSIFIERS = {"mmedc": MMedCRule}


def get_classifier(name: str):
    if name not in CLASSIFIERS:
        raise ValueError(f"unknown medical classifier {name!r}; choose from {sorted(CLASSIFIERS)}")
    return CLASSIFIERS[name]()
