"""The medical scan for documents of unknown language: the terms of every pack the text's script allows
(script_candidates) in ONE Aho-Corasick automaton, so a text is scanned once however many languages
the recipe has (six scans would cost about as much as
language ID, which the cascade exists to avoid). Each hit is checked against the word boundaries of
the pack(s) whose term it is; each pack's counts then give exactly the score that pack's own matcher
would (tests/test_classify.py compares them)."""
from __future__ import annotations

import functools

import ahocorasick_rs

from mmedc.classify.medical import MedicalScore, WeightedTerms, _term_matcher, get_classifier
from mmedc.classify.packs import Pack
from mmedc.classify.terms import DFA, TermMatcher, merged_keys, scan
from mmedc.classify.words import count_words


class AllPacksScan:
    def __init__(self, packs: list[Pack]):
        self.packs = packs
        self.matchers = [_term_matcher(p) for p in packs]
        self.scorer = WeightedTerms()
        keys, self._per_key = merged_keys(self.matchers)
        self._ac = ahocorasick_rs.AhoCorasick(keys, implementation=DFA) if keys else None

    def counts(self, text: str) -> tuple[list[dict[int, int]], str]:
        """Per pack: {term index: occurrences}, as that pack's TermMatcher.match gives them."""
        low = text.lower()
        if self._ac is None:
            return [{} for _ in self.packs], low
        hits = scan(self._ac.find_matches_as_indexes(low, overlapping=True), self._per_key, self.matchers, low)
        return [TermMatcher.resolve(h) if h else {} for h in hits], low

    def score(self, texts: list[str]) -> list[tuple[MedicalScore, Pack]]:
        """The best pack's score for each text: medical first, then the higher score."""
        out = []
        for t in texts:
            per_pack, _ = self.counts(t)
            words: dict[str, int] = {}
            best = None
            for k, counts in enumerate(per_pack):
                pack = self.packs[k]
                if not counts and best is not None and (best[0].medical, best[0].score) >= (False, 0.0):
                    continue  # no term of this pack: score 0, which cannot beat the best so far
                if pack.word_split not in words:
                    words[pack.word_split] = count_words(t, pack.word_split)
                s = self.scorer.from_counts(counts, self.matchers[k], t, pack, words[pack.word_split])
                if best is None or (s.medical, s.score) > (best[0].medical, best[0].score):
                    best = (s, pack)
            out.append(best)
        return out


@functools.cache
def all_packs_scan(packs: tuple[Pack, ...]) -> AllPacksScan:
    return AllPacksScan(list(packs))


def script_candidates(text: str, packs: list[Pack]) -> tuple[Pack, ...]:
    """The packs whose script check the text passes (letters in the pack's scripts >= its
    script_min_share): language ID could accept no other pack for it, so the scan skips the rest
    (a French page is scanned with the Latin-script packs only). All packs when none passes."""
    from mmedc.classify.scripts import ScriptProfile

    prof = ScriptProfile(text)
    ok = tuple(p for p in packs if not p.scripts or prof.share(p.scripts) >= p.script_min_share)
    return ok or tuple(packs)


def best_pack_scores(classifier_name: str, texts: list[str], packs: list[Pack]) -> list[tuple[MedicalScore, Pack]]:
    """Best pack per text, among the packs its script allows (script_candidates): one automaton per
    group of packs for `terms`, one pass per pack otherwise."""
    groups: dict[tuple, list[int]] = {}
    for i, t in enumerate(texts):
        groups.setdefault(script_candidates(t, packs), []).append(i)
    out: list = [None] * len(texts)
    for cand, idx in groups.items():
        for i, r in zip(idx, _best(classifier_name, [texts[i] for i in idx], list(cand))):
            out[i] = r
    return out


def _best(classifier_name: str, texts: list[str], packs: list[Pack]) -> list[tuple[MedicalScore, Pack]]:
    if classifier_name == "terms":
        return all_packs_scan(tuple(packs)).score(texts)
    clf = get_classifier(classifier_name)
    best: list = [None] * len(texts)
    for pack in packs:
        for k, s in enumerate(clf.score(texts, pack)):
            if best[k] is None or (s.medical, s.score) > (best[k][0].medical, best[k][0].score):
                best[k] = (s, pack)
    return best
