"""Weighted term matching for the `terms` medical classifier: one Aho-Corasick pass over the
lower-cased text finds every term at once; word boundaries are then checked only at the hits.

Term syntax (per pack): `word` matches a whole word (or words); `cardiolog*` a word start (prefix);
`*krankheit` a word end (suffix, German compounds); `*xyz*` anywhere. Packs with
`term_match = "substring"` (CJK) match every term anywhere. `prefixes` / `suffixes` are particles a
language attaches to words (Arabic و ب ل ال before, ة ات ي after): a whole-word term still matches
with them attached, and nothing else attached ("طبي" matches "والطبي", not "طبيعي").
"""
from __future__ import annotations

import ahocorasick_rs

# ahocorasick_rs (Rust) over pyahocorasick: one call returns every hit as (key, start, end), 1.5x
# faster on 2 KB web pages and no Python object per automaton step (python -m mmedc.bench classify).
# Built as a DFA: 1.8x faster searches than its default NFA on these pages (26 -> 15 us per 2 KB page)
# for ~12 MB with the terms of all six packs in one automaton.
DFA = ahocorasick_rs.Implementation.DFA


def _is_word_char(c: str) -> bool:
    return c.isalnum() or c == "_"


ANY_BOUNDARY = object()  # marks a key whose winning term depends on the word boundaries around it


class TermMatcher:
    def __init__(self, terms: list[tuple[str, float]], match: str = "word", prefixes=(), suffixes=()):
        self.prefixes = frozenset(prefixes)
        self.suffixes = frozenset(suffixes)
        self._max_affix = max((len(a) for a in self.prefixes | self.suffixes), default=0)
        self.has_affixes = self._max_affix > 0
        self.terms: list[str] = []
        self.weights: list[float] = []
        self._flags: list[tuple[bool, bool]] = []  # (needs a boundary before, needs a boundary after)
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
        self.keys = list(keys)
        # The candidates of a key, strongest first: the first whose boundary needs are met wins.
        self.cands = [tuple((i, *self._flags[i]) for i in sorted(idx, key=lambda i: -abs(self.weights[i])))
                      for idx in keys.values()]
        # The winner for each (boundary before, boundary after), indexed 2*before + after.
        self.tables = [tuple(self._winner(c, b, a) for b in (False, True) for a in (False, True)) for c in self.cands]
        self.fixed = [t[0] if len(set(t)) == 1 else ANY_BOUNDARY for t in self.tables]
        self._ac = ahocorasick_rs.AhoCorasick(self.keys, implementation=DFA) if self.keys else None
        self._per_key = merged_keys([self])[1]

    @staticmethod
    def _winner(cands: tuple, before: bool, after: bool) -> int | None:
        for i, need_before, need_after in cands:
            if (before or not need_before) and (after or not need_after):
                return i
        return None

    def raw_hits(self, low: str) -> list[tuple[int, int, int]]:
        """Every occurrence of a term core in the lower-cased text, overlaps included: (key, start, end)."""
        return self._ac.find_matches_as_indexes(low, overlapping=True) if self._ac is not None else []

    def match(self, text: str) -> tuple[dict[int, int], str]:
        """({term index: occurrences}, lower-cased text). Where hits overlap ("hepatitis" and "*itis",
        "治疗" and "疗"), only the longest counts, so one stretch of text is one piece of evidence."""
        low = text.lower()
        return self.resolve(scan(self.raw_hits(low), self._per_key, [self], low)[0]), low

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
        return self._winner(cands, before, after)

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


def merged_keys(matchers: list[TermMatcher]) -> tuple[list[str], list[tuple]]:
    """The term cores of several matchers (packs) for one automaton, and per core the matchers it is a
    key of: (matcher index, fixed winner, boundary table, candidates when the matcher has affixes)."""
    keys: dict[str, list] = {}
    for k, m in enumerate(matchers):
        for j, core in enumerate(m.keys):
            keys.setdefault(core, []).append((k, m.fixed[j], m.tables[j], m.cands[j] if m.has_affixes else None))
    return list(keys), [tuple(v) for v in keys.values()]


def scan(raw, per_key: list[tuple], matchers: list[TermMatcher], low: str) -> list[list]:
    """Per matcher, the automaton's hits (key, start, end) that count given the word boundaries around
    them, as (start, -length, end, term) for TermMatcher.resolve. The boundaries are tested once per
    hit, whichever matchers share the key."""
    hits: list[list] = [[] for _ in matchers]
    n = len(low)
    for key, s, e in raw:
        side = -1
        for k, i, table, cands in per_key[key]:
            if i is ANY_BOUNDARY:
                if cands is not None:
                    i = matchers[k].check_hit(low, e - 1, e - s, cands)
                else:
                    if side < 0:
                        side = 2 * (s == 0 or not ((c := low[s - 1]).isalnum() or c == "_")) + (
                            e == n or not ((c := low[e]).isalnum() or c == "_"))
                    i = table[side]
            if i is not None:
                hits[k].append((s, s - e, e - 1, i))
    return hits
