"""Weighted term matching for the `terms` medical classifier: one Aho-Corasick pass over the
lower-cased text finds every term at once; word boundaries are then checked only at the hits.

Term syntax (per pack): `word` matches a whole word (or words); `cardiolog*` a word start (prefix);
`*krankheit` a word end (suffix, German compounds); `*xyz*` anywhere. Packs with
`term_match = "substring"` (CJK) match every term anywhere. `prefixes` / `suffixes` are particles a
language attaches to words (Arabic و ب ل ال before, ة ات ي after): a whole-word term still matches
with them attached, and nothing else attached ("طبي" matches "والطبي", not "طبيعي").
"""
from __future__ import annotations

import ahocorasick


def _is_word_char(c: str) -> bool:
    return c.isalnum() or c == "_"


class TermMatcher:
    def __init__(self, terms: list[tuple[str, float]], match: str = "word", prefixes=(), suffixes=()):
        self.prefixes = frozenset(prefixes)
        self.suffixes = frozenset(suffixes)
        self._max_affix = max((len(a) for a in self.prefixes | self.suffixes), default=0)
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
        self._entries: list[tuple[str, tuple]] = []
        for core, idx in keys.items():
            # The candidates of a key, strongest first: the first whose boundary needs are met wins.
            ranked = sorted(idx, key=lambda i: -abs(self.weights[i]))
            value = (len(core), tuple((i, *self._flags[i]) for i in ranked))
            self._entries.append((core, value))
            self._ac.add_word(core, value)
        self._empty = not keys
        if not self._empty:
            self._ac.make_automaton()

    def entries(self) -> list[tuple[str, tuple]]:
        """(lower-cased term core, automaton value) pairs: for a scan that merges several packs."""
        return self._entries

    def match(self, text: str) -> tuple[dict[int, int], str]:
        """({term index: occurrences}, lower-cased text). Where hits overlap ("hepatitis" and "*itis",
        "治疗" and "疗"), only the longest counts, so one stretch of text is one piece of evidence."""
        low = text.lower()
        if self._empty:
            return {}, low
        hits = []
        for end, (length, cands) in self._ac.iter(low):
            i = self.check_hit(low, end, length, cands)
            if i is not None:
                hits.append((end - length + 1, -length, end, i))
        return self.resolve(hits), low

    def check_hit(self, low: str, end: int, length: int, cands: tuple) -> int | None:
        """The term a hit ending at `end` counts for, given the word boundaries around it (None: none)."""
        start = end - length + 1
        affix = self._max_affix > 0
        if start == 0:
            before = True
        else:
            c = low[start - 1]
            before = not (c.isalnum() or c == "_") or (affix and self._affix(low, start, -1))
        if end + 1 == len(low):
            after = True
        else:
            c = low[end + 1]
            after = not (c.isalnum() or c == "_") or (affix and self._affix(low, end + 1, 1))
        for i, need_before, need_after in cands:
            if (before or not need_before) and (after or not need_after):
                return i
        return None

    @staticmethod
    def resolve(hits: list) -> dict[int, int]:
        """Leftmost-longest, non-overlapping hits → {term index: occurrences}."""
        if len(hits) > 1:
            hits.sort()
        counts: dict[int, int] = {}
        last_end = -1
        for start, _, end, i in hits:
            if start > last_end:
                counts[i] = counts.get(i, 0) + 1
                last_end = end
        return counts

    def _affix(self, low: str, pos: int, direction: int) -> bool:
        """Is the rest of the word before `pos` (direction -1) or from `pos` (+1) an allowed particle?"""
        if not self._max_affix:
            return False
        if direction < 0:
            i = pos
            while i > 0 and _is_word_char(low[i - 1]) and pos - i <= self._max_affix:
                i -= 1
            return (i == 0 or not _is_word_char(low[i - 1])) and low[i:pos] in self.prefixes
        i = pos
        while i < len(low) and _is_word_char(low[i]) and i - pos <= self._max_affix:
            i += 1
        return (i == len(low) or not _is_word_char(low[i])) and low[pos:i] in self.suffixes
