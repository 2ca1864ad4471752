"""Fast keyword matching for the MMedC medical rule.

The rule (MMedC paper): a "long" keyword (> 10 characters, or > 5 characters and several words)
matches as a substring; a short one only as a whole token. In CJK packs every keyword matches as a
substring (there are no spaces to make tokens from). One Aho-Corasick pass over the lower-cased text
finds every long keyword at once, and one pass over the tokens finds the short ones, so the cost does
not grow with the number of keywords (no `str.count` per keyword per document).
"""
from __future__ import annotations

from dataclasses import dataclass

import ahocorasick

# Punctuation stripped from the ends of whitespace tokens, so "fever," matches "fever".
_STRIP = "\"'“”‘’«»()[]{}<>.,;:!?¿¡…—–-/\\|*#"


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
        self.substring = [k for k in kws if cjk or is_long(k) or " " in k]
        self.tokens = {k for k in kws if k not in set(self.substring)}
        self._ac = None
        if self.substring:
            self._ac = ahocorasick.Automaton()
            for i, k in enumerate(self.substring):
                self._ac.add_word(k, i)
            self._ac.make_automaton()

    def match(self, text: str) -> Match:
        low = text.lower()
        counts: dict[str, int] = {}
        if self._ac is not None:
            last_end = {}
            for end, i in self._ac.iter(low):
                # Occurrences of one keyword do not overlap (the semantics of str.count).
                start = end - len(self.substring[i]) + 1
                if start > last_end.get(i, -1):
                    last_end[i] = end
                    counts[self.substring[i]] = counts.get(self.substring[i], 0) + 1
        if self.tokens:
            for tok in low.split():
                tok = tok.strip(_STRIP)
                if tok in self.tokens:
                    counts[tok] = counts.get(tok, 0) + 1
        hit_chars = sum(n * len(k) for k, n in counts.items())
        return Match(len(counts), hit_chars / max(len(text), 1), counts)


