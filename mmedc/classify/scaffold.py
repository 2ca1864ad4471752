"""`mmedc lang add`: write a new language pack with everything a pack needs and empty term lists."""
from __future__ import annotations

from pathlib import Path

from mmedc.classify.scripts import SCRIPTS

TEMPLATE = '''# Language pack: {name}. Written by `mmedc lang add {code}`; fill the term lists, then run
# `mmedc lang calibrate {code} LABELLED.jsonl` to choose the thresholds (see docs/languages.md).
code = "{code}"
name = "{name}"
lid_labels = [{labels}]          # labels of the LID model (lid.176: "{code}"; GlotLID: e.g. "ita_Latn")
lid_min_score = 0.5
word_split = "{word_split}"       # whitespace | cjk (every Han / kana / Hangul character is a token)
# --- language ID checks (see docs/languages.md) --------------------------------------------------
lid_min_score_short = 0.3       # documents with fewer than lid_short_letters letters: fastText is less sure
lid_short_letters = {short}
lid_min_share = 0.5            # long documents: share of chunks in this language, else "mixed_language"
scripts = [{scripts}]                   # letters in these scripts must be >= script_min_share of all letters
script_min_share = 0.5
tesseract = "{tesseract}"               # OCR language(s) for scanned pages
# --- end of language ID checks ---------------------------------------------------------------

[medical]
# MMedC rule (classifier "mmedc"): medical when unique keywords >= min_unique and density >= min_density.
min_unique = 4
min_density = 0.04
keywords = [
]

# --- classifier "terms" (the default): tiered weighted terms -----------------------------------
# Weights: strong 3, medium 1.5, weak 0.5, negative -2. "stem*" matches a word start, "*end" a word end.
# A document of terms_length_ref words needs evidence >= terms_min_score; longer ones (words/ref)^0.8 times more.
term_match = "{term_match}"
terms_min_score = 3.0
terms_length_ref = {ref}
strong = [
]
medium = [
]
weak = [
]
negative = [
]
# --- end of classifier "terms" ---------------------------------------------------------------
'''


def scaffold(code: str, directory: Path, name: str = "", scripts: list[str] | None = None,
             word_split: str = "whitespace", tesseract: str = "", lid_labels: list[str] | None = None,
             force: bool = False) -> Path:
    if not code or not code.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"language code must be letters/digits (e.g. 'it'), got {code!r}")
    bad = set(scripts or []) - set(SCRIPTS)
    if bad:
        raise ValueError(f"unknown script(s) {sorted(bad)}; known: {', '.join(SCRIPTS)}")
    if word_split not in ("whitespace", "cjk"):
        raise ValueError("word_split must be whitespace or cjk")
    path = Path(directory) / f"{code}.toml"
    if path.exists() and not force:
        raise FileExistsError(f"{path} exists (use --force to overwrite)")
    cjk = word_split == "cjk"
    text = TEMPLATE.format(
        code=code, name=name or code, labels=", ".join(f'"{x}"' for x in (lid_labels or [code])),
        word_split=word_split, short=15 if cjk else 40, scripts=", ".join(f'"{s}"' for s in (scripts or [])),
        tesseract=tesseract, term_match="substring" if cjk else "word", ref=100 if cjk else 60)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
