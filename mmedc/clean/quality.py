"""Quality heuristics (Gopher quality + repetition, FineWeb, C4) that work in every pack language.

datatrove's filters return only the first failing rule and count English-style words (spaCy). Here
every rule is *scored* (dolma's way: the audit keeps all scores, so thresholds can be re-tuned without
recomputing) and the unit of length is script-aware: whitespace words for alphabetic languages, single
characters (plus embedded Latin words) for CJK packs, where the n-gram sizes of the repetition rules
are scaled up by `cjk_ngram_scale` because a CJK character carries less than a word. The repetition
measures are datatrove's (n-gram ones re-implemented faster, tested equal); thresholds are datatrove's defaults (the papers'),
overridden per language in the pack's `[quality]` table.
"""
from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass, field
from itertools import accumulate, filterfalse
from operator import methodcaller

import numpy as np
import regex
from datatrove.pipeline.filters.c4_filters import POLICY_SUBSTRINGS
from datatrove.pipeline.filters.gopher_repetition_filter import find_duplicates
from datatrove.utils.text import PUNCTUATION_SET, TERMINAL_PUNCTUATION

CJK = r"\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}ー"
# CJK packs: one token per CJK character, Latin/digit runs as one token each.
CJK_TOKEN = regex.compile(rf"[{CJK}]|[^\s\p{{P}}\p{{S}}{CJK}]+")
# Unlike datatrove, blank lines holding only spaces separate paragraphs and are not lines: extractors
# leave " \n \n" between paragraphs, and Gopher's split counted every such " " as a duplicated line.
PARAGRAPH_SPLIT = re.compile(r"\n[ \t\r\f\v]*\n\s*")
LINE_SPLIT = re.compile(r"\s*\n\s*")
STRIP_PUNCT = "".join(sorted(PUNCTUATION_SET)) + "\"'()[]"
SENTENCE_END = re.compile(r"[.!?][\"')»”]?\s|[。！？]")
TERMINAL = tuple(TERMINAL_PUNCTUATION) + ('"', "'", "”", "»", "」", "）", ")")
# C4 drops lines naming javascript or site policies; pages made of them are boilerplate.
BOILERPLATE_EN = tuple(POLICY_SUBSTRINGS) + ("javascript", "all rights reserved", "cookie")


class QualityConfigError(ValueError):
    pass


@dataclass
class QualityRules:
    """Thresholds (None switches a rule off). Defaults: Gopher / FineWeb / C4 as in datatrove."""

    min_words: int | None = 50  # Gopher; for CJK packs counted in characters
    max_words: int | None = 100_000
    min_mean_word_len: float | None = 3  # whitespace packs only
    max_mean_word_len: float | None = 10
    max_hash_ratio: float | None = 0.1  # '#' per word
    max_ellipsis_ratio: float | None = 0.1
    max_bullet_lines: float | None = 0.9
    max_ellipsis_lines: float | None = 0.3
    min_alpha_words: float | None = 0.8  # words with a letter (CJK characters are letters)
    min_stop_words: int | None = 2  # distinct stop words present (substrings in CJK packs)
    stop_words: list[str] = field(default_factory=list)  # the pack's; empty = rule off (en: Gopher's list)
    max_dup_para_frac: float | None = 0.3  # Gopher repetition
    max_dup_para_chars: float | None = 0.2
    max_dup_line_frac: float | None = 0.3
    max_dup_line_chars: float | None = 0.2
    top_ngrams: list[list[float]] = field(default_factory=lambda: [[2, 0.2], [3, 0.18], [4, 0.16]])
    dup_ngrams: list[list[float]] = field(default_factory=lambda: [[5, 0.15], [6, 0.14], [7, 0.13], [8, 0.12],
                                                                   [9, 0.11], [10, 0.10]])
    cjk_ngram_scale: int = 2  # n-gram sizes above are words; CJK packs multiply them by this
    min_line_punct: float | None = 0.12  # FineWeb: lines ending in terminal punctuation
    max_short_lines: float | None = 0.67  # FineWeb: lines of at most short_line_chars
    short_line_chars: int = 30
    max_line_char_dup: float | None = 0.01  # FineWeb: chars in duplicated lines / chars
    max_list_ratio: float | None = 0.3  # FineWeb: newlines per word
    max_boilerplate_lines: float | None = 0.3  # C4 policy/javascript lines + the pack's phrases
    boilerplate: list[str] = field(default_factory=list)  # extra lower-case phrases for the pack language
    boilerplate_line_chars: int = 200  # only lines this short count (prose that mentions "cookies" is not a banner)
    lorem_ipsum: bool = True  # C4: drop pages with "lorem ipsum"
    max_curly_brackets: int | None = None  # C4 drops any '{'; off by default (formulas, extracted tables)

    @classmethod
    def from_table(cls, table: dict, cjk: bool, where: str = "[quality]") -> "QualityRules":
        base = cls(**CJK_DEFAULTS) if cjk else cls()
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(table) - names
        if unknown:
            raise QualityConfigError(f"{where}: unknown key(s) {sorted(unknown)}; known: {sorted(names)}")
        return dataclasses.replace(base, **table)


# CJK packs: no spaces, one character ~ half a word, lines are short; stop words are particles.
CJK_DEFAULTS = dict(min_words=80, min_mean_word_len=None, max_mean_word_len=None, short_line_chars=10,
                    max_list_ratio=0.15, boilerplate_line_chars=80)


def rules_for_pack(pack) -> QualityRules:
    """A pack's rules: CJK or whitespace defaults, overridden by the pack's `[quality]` table."""
    table = dict(pack.extra.get("quality", {}))
    return QualityRules.from_table(table, pack.cjk, f"{pack.path or pack.code} [quality]")


class NGrams:
    """datatrove's `find_top_duplicate(get_n_grams(words, n))` and `find_all_duplicate(words, n)` with the
    same results (tests/test_clean.py compares them), computed on 64-bit rolling hashes of word ids
    with prefix sums of word lengths instead of joined strings: the joins were 3/4 of the step's time."""

    def __init__(self, words: list[str]):
        ids: dict[str, int] = {}
        # Random-looking odd 64-bit values per distinct word keep the rolling hash well mixed.
        self.ids = np.fromiter(map(ids.setdefault, words, range(len(words))), dtype=np.uint64, count=len(words))
        self.ids = (self.ids + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15) | np.uint64(1)
        self.prefix = list(accumulate(map(len, words), initial=0))  # ints: indexed one at a time below
        self._n, self._acc = 0, None
        self._unique_from: int | None = None  # smallest n seen with no repeated n-gram

    def keys(self, n: int) -> np.ndarray:
        """Hashes of all n-grams; built up from the (n-1)-grams, so asking n = 2..20 costs 20 steps."""
        m = len(self.ids) - n + 1
        if m <= 0:
            return np.empty(0, dtype=np.uint64)
        if self._n > n:
            self._n, self._acc = 0, None
        with np.errstate(over="ignore"):
            while self._n < n:
                k = self._n
                size = len(self.ids) - k
                prev = self._acc[:size] if self._acc is not None else np.zeros(size, dtype=np.uint64)
                self._acc, self._n = prev * np.uint64(0x100000001B3) + self.ids[k:], k + 1
        return self._acc[:m]

    def top_duplicate_chars(self, n: int) -> int:
        keys = self.keys(n)
        if not len(keys):
            return 0
        _, first, counts = np.unique(keys, return_index=True, return_counts=True)
        best = counts.max()
        if best == 1:
            self._unique_from = n if self._unique_from is None else min(self._unique_from, n)
        i = int(first[counts == best].min())  # Counter.most_common: the first inserted among ties
        return (self.prefix[i + n] - self.prefix[i] + n - 1) * int(best)  # words joined with spaces

    def all_duplicate_chars(self, n: int) -> int:
        if self._unique_from is not None and n >= self._unique_from:
            return 0  # no repeated shorter n-gram, so no repeated n-gram either (a repeat's prefix repeats)
        keys = self.keys(n)
        _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
        if len(counts) == len(keys):
            self._unique_from = n if self._unique_from is None else min(self._unique_from, n)
            return 0  # no repeated n-gram (most clean documents)
        # datatrove's scan (left to right; an n-gram seen before counts and is skipped over) visits
        # only the n-grams that occur more than once: the others can never be "seen before".
        where = np.flatnonzero(counts[inverse] > 1)
        p = self.prefix
        seen, repeated, skip_to = set(), 0, 0
        for idx, key in zip(where.tolist(), keys[where].tolist()):
            if idx < skip_to:
                continue
            if key in seen:
                repeated += p[idx + n] - p[idx]
                skip_to = idx + n
            else:
                seen.add(key)
        return repeated


def units(text: str, cjk: bool) -> list[str]:
    return CJK_TOKEN.findall(text) if cjk else text.split()


def _stripped_words(text: str) -> set[str]:
    """The distinct lower-cased words with punctuation stripped from their ends. Most words are all
    letters and digits and need no strip (a strip with the ~290 characters of STRIP_PUNCT was 15% of
    the step); '１' is the one such character in it, so a text holding it takes the strip for all."""
    words = set(text.lower().split())
    if "１" in text:
        return set(map(methodcaller("strip", STRIP_PUNCT), words))
    plain = set(filter(str.isalnum, words))
    return plain.union(map(methodcaller("strip", STRIP_PUNCT), words - plain))


@functools.lru_cache(maxsize=64)
def _phrase_search(extra: tuple[str, ...]):
    """One regex search for any boilerplate phrase (C4's and the pack's) in a lower-cased line: one
    pass per line instead of one `in` test per phrase."""
    phrases = BOILERPLATE_EN + tuple(p.lower() for p in extra)
    return re.compile("|".join(map(re.escape, phrases))).search


def score(text: str, r: QualityRules, cjk: bool) -> dict:
    """Every rule's measure, as `q_<name>` (floats rounded for the audit)."""
    s: dict = {}
    words = units(text, cjk)
    n = max(len(words), 1)
    # map / filterfalse over C methods: these per-word passes were half of the step's time.
    content = list(filterfalse(PUNCTUATION_SET.issuperset, words))
    s["q_words"] = len(content)
    if not cjk:
        s["q_mean_word_len"] = sum(map(len, content)) / max(len(content), 1)
    s["q_hash_ratio"] = text.count("#") / n
    s["q_ellipsis_ratio"] = (text.count("...") + text.count("…")) / n
    lines = text.splitlines() or [""]
    s["q_bullet_lines"] = sum(ln.lstrip().startswith(("•", "-", "*", "·", "●")) for ln in lines) / len(lines)
    s["q_ellipsis_lines"] = sum(ln.rstrip().endswith(("...", "…")) for ln in lines) / len(lines)
    mixed = filterfalse(str.isalpha, words)  # the few words not all letters: any letter in them?
    s["q_alpha_words"] = (sum(map(str.isalpha, words)) + sum(1 for w in mixed if any(map(str.isalpha, w)))) / n
    if r.stop_words:
        if cjk:
            s["q_stop_words"] = sum(1 for w in r.stop_words if w in text)
        else:
            s["q_stop_words"] = len(_stripped_words(text).intersection(w.lower() for w in r.stop_words))
    # Gopher repetition (datatrove's measures).
    size = max(len(text), 1)
    paras = PARAGRAPH_SPLIT.split(text.strip())
    dup, chars = find_duplicates(paras)
    s["q_dup_para_frac"], s["q_dup_para_chars"] = dup / len(paras), chars / size
    glines = LINE_SPLIT.split(text.strip())
    dup, chars = find_duplicates(glines)
    s["q_dup_line_frac"], s["q_dup_line_chars"] = dup / len(glines), chars / size
    scale = r.cjk_ngram_scale if cjk else 1
    grams = NGrams(words)
    for k, _ in r.top_ngrams:
        s[f"q_top_{int(k)}gram"] = grams.top_duplicate_chars(int(k) * scale) / size
    for k, _ in r.dup_ngrams:
        s[f"q_dup_{int(k)}gram"] = grams.all_duplicate_chars(int(k) * scale) / size
    # FineWeb.
    nonempty = [ln.strip() for ln in lines if ln.strip()] or [""]
    # A long line with sentence ends inside counts as punctuated: a paragraph that closes with an
    # attribution ("... NIH: National Heart, Lung, and Blood Institute") is prose, not a menu.
    long_line = r.short_line_chars * 3
    s["q_line_punct"] = sum(ln.endswith(TERMINAL) or (len(ln) >= long_line and SENTENCE_END.search(ln) is not None)
                            for ln in nonempty) / len(nonempty)
    s["q_short_lines"] = sum(len(ln) <= r.short_line_chars for ln in nonempty) / len(nonempty)
    s["q_line_char_dup"] = find_duplicates(nonempty)[1] / max(len(text.replace("\n", "")), 1)
    s["q_list_ratio"] = text.count("\n") / n
    # C4.
    low = [ln.lower() for ln in nonempty]
    has_phrase = _phrase_search(tuple(r.boilerplate))
    s["q_boilerplate_lines"] = sum(len(ln) <= r.boilerplate_line_chars and has_phrase(ln) is not None
                                   for ln in low) / len(low)
    s["q_lorem_ipsum"] = "lorem ipsum" in text.lower()
    s["q_curly_brackets"] = text.count("{")
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in s.items()}


def failed_rules(s: dict, r: QualityRules) -> list[tuple[str, object, str, object]]:
    """The rules a document breaks, in the order above: (rule, score, op, threshold)."""
    out = []

    def check(rule, key, op, thr):
        if thr is None or key not in s:
            return
        v = s[key]
        if (op == "<" and v < thr) or (op == ">" and v > thr):
            out.append((rule, v, op, thr))

    check("min_words", "q_words", "<", r.min_words)
    check("max_words", "q_words", ">", r.max_words)
    check("min_mean_word_len", "q_mean_word_len", "<", r.min_mean_word_len)
    check("max_mean_word_len", "q_mean_word_len", ">", r.max_mean_word_len)
    check("max_hash_ratio", "q_hash_ratio", ">", r.max_hash_ratio)
    check("max_ellipsis_ratio", "q_ellipsis_ratio", ">", r.max_ellipsis_ratio)
    check("max_bullet_lines", "q_bullet_lines", ">", r.max_bullet_lines)
    check("max_ellipsis_lines", "q_ellipsis_lines", ">", r.max_ellipsis_lines)
    check("min_alpha_words", "q_alpha_words", "<", r.min_alpha_words)
    check("min_stop_words", "q_stop_words", "<", r.min_stop_words)
    check("max_dup_para_frac", "q_dup_para_frac", ">", r.max_dup_para_frac)
    check("max_dup_para_chars", "q_dup_para_chars", ">", r.max_dup_para_chars)
    check("max_dup_line_frac", "q_dup_line_frac", ">", r.max_dup_line_frac)
    check("max_dup_line_chars", "q_dup_line_chars", ">", r.max_dup_line_chars)
    for k, thr in r.top_ngrams:
        check(f"top_{int(k)}gram", f"q_top_{int(k)}gram", ">", thr)
    for k, thr in r.dup_ngrams:
        check(f"dup_{int(k)}gram", f"q_dup_{int(k)}gram", ">", thr)
    check("min_line_punct", "q_line_punct", "<", r.min_line_punct)
    check("max_short_lines", "q_short_lines", ">", r.max_short_lines)
    check("max_line_char_dup", "q_line_char_dup", ">", r.max_line_char_dup)
    check("max_list_ratio", "q_list_ratio", ">", r.max_list_ratio)
    check("max_boilerplate_lines", "q_boilerplate_lines", ">", r.max_boilerplate_lines)
    if r.lorem_ipsum and s.get("q_lorem_ipsum"):
        out.append(("lorem_ipsum", True, "=", True))
    check("max_curly_brackets", "q_curly_brackets", ">", r.max_curly_brackets)
    return out


def assess(text: str, r: QualityRules, cjk: bool) -> tuple[dict, list]:
    s = score(text, r, cjk)
    return s, failed_rules(s, r)
