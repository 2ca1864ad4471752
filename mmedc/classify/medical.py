"""Medical classifiers behind one interface: `score(texts, pack)` → one MedicalScore per text, where
`score >= 1.0` means medical for every classifier.

- `mmedc`: the MMedC paper's rule — medical when unique keywords U >= T and density D >= R
  (pack: `keywords`, `min_unique`, `min_density`).
- `terms` (default): weighted terms. Each term found adds its tier's weight (strong 3, medium 1.5,
  weak 0.5, negative -2 by default) times (1 + ln occurrences); the evidence must reach
  `terms_min_score` for a document of `terms_length_ref` words, and (words / ref)^`terms_length_power`
  (0.8) times that for a longer one. One strong term decides a short question; a long article needs
  evidence throughout, so a news story that mentions a hospital once stays out. (With a power of 0.5,
  16% of general English web pages passed; 0.8 halves that at the same dev-set F1.) Negative terms (law, finance...) stop texts that
  merely mention health.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

from mmedc.classify.keywords import KeywordMatcher
from mmedc.classify.packs import Pack
from mmedc.classify.terms import TermMatcher
from mmedc.classify.words import count_words

DEFAULT_CLASSIFIER = "terms"


@dataclass
class MedicalScore:
    medical: bool
    score: float  # >= 1.0 means medical, for every classifier
    hits: int  # unique keywords / positive terms found
    density: float  # sum(occurrences x length) / len(text) of those
    detail: dict = field(default_factory=dict)  # classifier-specific scores for the audit


@functools.cache
def _keyword_matcher(pack: Pack) -> KeywordMatcher:
    return KeywordMatcher(pack.keywords, cjk=pack.cjk)


@functools.cache
def _term_matcher(pack: Pack) -> TermMatcher:
    return TermMatcher(list(pack.terms), pack.term_match, pack.word_prefixes, pack.word_suffixes)


class MMedCRule:
    name = "mmedc"

    def score(self, texts: list[str], pack: Pack) -> list[MedicalScore]:
        m = _keyword_matcher(pack)
        out = []
        for t in texts:
            r = m.match(t)
            score = min(r.unique / max(pack.min_unique, 1), r.density / max(pack.min_density, 1e-9))
            out.append(MedicalScore(r.unique >= pack.min_unique and r.density >= pack.min_density,
                                    score, r.unique, r.density))
        return out

    @staticmethod
    def reason(s: MedicalScore, pack: Pack) -> str:
        return f"not_medical: hits {s.hits} (min {pack.min_unique}), density {s.density:.4f} (min {pack.min_density})"


class WeightedTerms:
    name = "terms"

    @staticmethod
    def evidence(counts: dict[int, int], weights: list[float]) -> float:
        return sum(weights[i] * (1.0 + math.log(n)) for i, n in counts.items())

    @staticmethod
    def needed(words: int, pack: Pack) -> float:
        return pack.terms_min_score * max(1.0, words / pack.terms_length_ref) ** pack.terms_length_power

    def score(self, texts: list[str], pack: Pack) -> list[MedicalScore]:
        m = _term_matcher(pack)
        return [self.from_counts(m.match(t)[0], m, t, pack, count_words(t, pack.word_split)) for t in texts]

    def from_counts(self, counts: dict[int, int], m: TermMatcher, t: str, pack: Pack, words: int) -> MedicalScore:
        """The score of one text from its term counts (shared with the all-packs scan)."""
        ev = self.evidence(counts, m.weights)
        need = self.needed(words, pack)
        pos = {i: n for i, n in counts.items() if m.weights[i] > 0}
        density = sum(n * len(m.terms[i].strip("*")) for i, n in pos.items()) / max(len(t), 1)
        score = ev / need
        return MedicalScore(score >= 1.0, score, len(pos), density,
                            {"evidence": round(ev, 3), "needed": round(need, 3), "words": words,
                             "negative_hits": len(counts) - len(pos)})

    @staticmethod
    def reason(s: MedicalScore, pack: Pack) -> str:
        return (f"not_medical: evidence {s.detail.get('evidence', 0):.2f} < {s.detail.get('needed', 0):.2f} "
                f"needed for {s.detail.get('words', 0)} words ({s.hits} terms)")


CLASSIFIERS = {"terms": WeightedTerms, "mmedc": MMedCRule}


def get_classifier(name: str = DEFAULT_CLASSIFIER):
    if name not in CLASSIFIERS:
        raise ValueError(f"unknown medical classifier {name!r}; choose from {sorted(CLASSIFIERS)}")
    return CLASSIFIERS[name]()
