"""Word splitting per pack: `whitespace` (tokens with surrounding punctuation stripped, the MMedC
rule's notion of a token) or `cjk` (each Han / kana / Hangul character is a token, runs of other letters
and digits are words), used for whole-token matches and for document length in words."""
from __future__ import annotations

import re

from mmedc.classify.scripts import SCRIPT_RANGES

# Punctuation stripped from the ends of whitespace tokens, so "fever," matches "fever".
STRIP = "\"'“”‘’«»()[]{}<>.,;:!?¿¡…—–-/\\|*#、。，：；！？（）「」『』【】"
_CJK = "".join(SCRIPT_RANGES[s] for s in ("han", "hiragana", "katakana", "hangul"))
_CJK_TOKEN = re.compile(f"[{_CJK}]|[^\\s\\W{_CJK}]+|\\d+")
# For counting: the CJK characters (in runs) and the runs of other letters and digits, without one
# string per character (findall made one: twice as slow on Chinese pages).
_CJK_RUN = re.compile(f"[{_CJK}]+")
_OTHER_RUN = re.compile(f"[^\\s\\W{_CJK}]+")


def split_words(text: str, word_split: str = "whitespace") -> list[str]:
    """Lower-cased tokens of `text` for a pack's word splitting."""
    low = text.lower()
    if word_split == "cjk":
        return _CJK_TOKEN.findall(low)
    return [t for t in (tok.strip(STRIP) for tok in low.split()) if t]


def count_words(text: str, word_split: str = "whitespace") -> int:
    if word_split == "cjk":  # = len(_CJK_TOKEN.findall(text)): its `\d+` branch is never reached
        return len(text) - len(_CJK_RUN.sub("", text)) + len(_OTHER_RUN.findall(text))
    return len(text.split())
