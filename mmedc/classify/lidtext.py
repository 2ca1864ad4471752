"""What language ID looks at: a bounded prefix of the document, with the parts that carry no language
taken out, so that options, numbering and abbreviations do not decide the language.

- A bounded sample: a text of up to `PREFIX_CHARS` characters is read whole; a longer one as its first
  600 characters plus 200 from its middle and 200 from its end (cut at spaces). fastText averages its
  features over the text, and a thousand characters decide as well as the whole document, at a cost
  that does not grow with it; the middle and end windows make a document whose later part is in
  another language come out unsure, so the mixed-language check (chunks of the whole text) still runs.
- Exam questions: when the text ends in two or more option lines ("A. IgM", "b) ...", "3- ..."), the
  stem alone is identified if it has at least `STEM_LETTERS` letters: "A. IgM B. IgA C. IgG D. IgE"
  or Latin species names as options were read as Cebuano, Swedish or German.
- Noise: LaTeX (`$...$`, `\\frac`), Latin-letter runs holding a digit ("HClO2", "T12", "10"),
  words of at most five letters with two or more capitals ("DNA", "IgM", "mRNA"; longer words in
  capitals are words), and option markers at line starts.
If nothing with letters is left, the prefix is used as it is.
All of it is a few regex passes in C over the prefix: no Python loop per character.
"""
from __future__ import annotations

import re
from itertools import islice

PREFIX_CHARS = 1000
STEM_LETTERS = 10

# Separate passes: a pattern that starts with a literal is scanned for at C speed; one alternation of
# everything would try each branch at every character.
_LATEX = re.compile(r"\$\$?[^$]{0,300}?\$\$?|\\[A-Za-z]+")  # math, commands
_TOKENS = re.compile(  # at a Latin token's start: letters and digits mixed, or a short word of >= 2 capitals
    r"(?<![A-Za-z\d])(?:[A-Za-z]*\d[A-Za-z\d]*|(?=[A-Za-z]{2,5}(?![A-Za-z\d]))[a-z]*[A-Z][a-z]*[A-Z][A-Za-z]*)")
_MARKERS = re.compile(r"(?m)^[ \t]*[(\[（]?(?:[A-Ea-e]|[А-Да-д])[.)\]）．](?=\s|$)")  # "A.", "(b)", "в)"
# An option line: a marker ("A.", "b)", "(C)", "3-", "4)") then text.
_OPTION = re.compile(r"[ \t]*[(\[（]?(?:[A-Ha-h]|[А-Да-д]|\d{1,2})[.)\]）．:：、-](?:[ \t]|$)")
_LETTER = re.compile(r"[^\W\d_]")
HEAD, WINDOW = 600, 200


def _window(text: str, start: int, size: int) -> str:
    """`size` characters from `start`, moved to the next space when one is near (no cut words)."""
    sp = text.find(" ", start, start + 30)
    start = sp + 1 if sp >= 0 else start
    end = text.rfind(" ", start + size - 30, start + size)
    return text[start:end if end > start else start + size]


def bounded(text: str) -> str:
    """The text itself when short, else head + middle + end windows (see the module's note)."""
    n = len(text)
    if n <= PREFIX_CHARS:
        return text
    head = text[:HEAD]
    sp = head.rfind(" ", HEAD - 30)
    head = head[:sp] if sp > 0 else head
    return "\n".join((head, _window(text, n // 2 - WINDOW // 2, WINDOW), _window(text, n - WINDOW - 1, WINDOW)))


def question_stem(text: str) -> str | None:
    """The stem of a text that ends in >= 2 option lines, when the stem has enough letters; else None."""
    lines = text.rstrip().split("\n")
    if len(lines) < 3:
        return None
    k = 0
    while k < len(lines) - 1 and _OPTION.match(lines[-1 - k]):
        k += 1
    if k < 2:
        return None
    stem = "\n".join(lines[:-k])
    return stem if len(list(islice(_LETTER.finditer(stem), STEM_LETTERS))) >= STEM_LETTERS else None


def strip_noise(text: str) -> str:
    if "$" in text or "\\" in text:
        text = _LATEX.sub(" ", text)
    return _MARKERS.sub(" ", _TOKENS.sub(" ", text))


def lid_sample(text: str) -> str:
    """The text fastText and the script checks see (case kept; `langid` lower-cases for fastText)."""
    prefix = bounded(text)
    sample = strip_noise(prefix)
    return sample if _LETTER.search(sample) else prefix
