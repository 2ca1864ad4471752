"""Fast keyword matching for the MMedC medical rule.

The rule (MMedC paper): a "long" keyword (> 10 characters, or > 5 characters and several words)
matches as a substring; a short one only as a whole token. In CJK packs every keyword matches as a
substring (every CJK character is a token: see words.py). A short keyword of several words ("x ray")
matches a run of whole tokens. One Aho-Corasick pass over the lower-cased text
finds every long keyword at once, and one pass over the tokens finds the short ones, so the cost does
not grow with the number of keywords (no `str.count` per keyword per document).
"""
from __future__ import annotations

from dataclasses import dataclass

import ahocorasick_rs

from mmedc.classify.terms import DFA
from mmedc.classify.words import STRIP as _STRIP


def is_long(keyword: str) -> bool:
    return len(keyword) > 10 or (len(keyword) > 5 and len(keyword.split()) > 1)


@dataclass
class Match:
    unique: int  # U: distinct keywords found
    density: float  # D: sum(occurrences x keyword length) / len(text)
    counts: dict[str, int]


class KeywordMatcher:
    def __init__(self, keywords, cjk: bool = False):
        kws = list(dict.fromkeys(k.lower() for k in keywords if k.strip()))
        self.keywords = kws
        self.substring = [k for k in kws if cjk or is_long(k)]
        short = [k for k in kws if k not in set(self.substring)]
        self.tokens = {k for k in short if len(k.split()) == 1}
        # Short keywords of several words: matched as " kw " in the space-joined token string.
        self.token_runs = [" ".join(k.split()) for k in short if len(k.split()) > 1]
        self._ac = _automaton(self.substring)
        self._runs_ac = _automaton([f" {k} " for k in self.token_runs])

    def match(self, text: str) -> Match:
        low = text.lower()
        counts: dict[str, int] = {}
        if self._ac is not None:
            last_end = {}
            for i, start, end in self._ac.find_matches_as_indexes(low, overlapping=True):
                # Occurrences of one keyword do not overlap (the semantics of str.count).
                if start >= last_end.get(i, 0):
                    last_end[i] = end
                    counts[self.substring[i]] = counts.get(self.substring[i], 0) + 1
        if self.tokens or self._runs_ac is not None:
            toks = [tok.strip(_STRIP) for tok in low.split()]
            for tok in toks:
                if tok in self.tokens:
                    counts[tok] = counts.get(tok, 0) + 1
            if self._runs_ac is not None:
                for i, _, _ in self._runs_ac.find_matches_as_indexes(" " + " ".join(toks) + " ", overlapping=True):
                    counts[self.token_runs[i]] = counts.get(self.token_runs[i], 0) + 1
        hit_chars = sum(n * len(k) for k, n in counts.items())
        return Match(len(counts), hit_chars / max(len(text), 1), counts)




def _automaton(words: list[str]):
    if not words:
        return None
    return ahocorasick_rs.AhoCorasick(words, implementation=DFA)
