"""Weighted term matching for the `terms` medical classifier: one Aho-Corasick pass over the
lower-cased text finds every term at once; word boundaries are then checked only at the hits.

Term syntax (per pack): `word` matches a whole word (or words); `cardiolog*` a word start (prefix);
`*krankheit` a word end (suffix, German compounds); `*xyz*` anywhere. Packs with
`term_match = "substring"` (CJK, Arabic with its attached articles) match every term anywhere.
"""
from __future__ import annotations

import ahocorasick


def _is_word_char(c: str) -> bool:
    return c.isalnum() or c == "_"


class TermMatcher:
    def __init__(self, terms: list[tuple[str, float]], match: str = "word"):
        self.terms: list[str] = []
        self.weights: list[float] = []
        self._flags: list[tuple[bool, bool]] = []  # (needs a boundary before, needs a boundary after)
        self._ac = ahocorasick.Automaton()
        keys: dict[str, list[int]] = {}
        for term, weight in terms:
            core = term.strip("*").lower()
            if not core:
                continue
            word = match == "word"
            self._flags.append((word and not term.startswith("*"), word and not term.endswith("*")))
            self.terms.append(term)
            self.weights.append(float(weight))
            keys.setdefault(core, []).append(len(self.terms) - 1)
        for core, idx in keys.items():
            self._ac.add_word(core, (len(core), tuple(idx)))
        self._empty = not keys
        if not self._empty:
            self._ac.make_automaton()

    def match(self, text: str) -> tuple[dict[int, int], str]:
        """({term index: occurrences}, lower-cased text)."""
        low = text.lower()
        counts: dict[int, int] = {}
        if self._empty:
            return counts, low
        n = len(low)
        for end, (length, idx) in self._ac.iter(low):
            start = end - length + 1
            before = start == 0 or not _is_word_char(low[start - 1])
            after = end + 1 == n or not _is_word_char(low[end + 1])
            for i in idx:
                need_before, need_after = self._flags[i]
                if (before or not need_before) and (after or not need_after):
                    counts[i] = counts.get(i, 0) + 1
        return counts, low
