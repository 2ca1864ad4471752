"""Book cleanup: pages (paragraphs of lines) → clean running text.

- MMedC's page-range rule for long books: keep page i (0-based) when 0.018·N + 3 < i < N − 5
  (drops front matter, index and back matter), for books of ≥ 100 pages.
- Running headers/footers: from the top and the bottom of a page, up to `EDGE_LINES` lines are
  peeled while they are page numbers ("12", "- 12 -", "xiv", "Page 12", "第12页", "стр. 12") or short
  one-line paragraphs whose shape (digits masked) is at a page edge on ≥ `HEADER_MIN_PAGES` pages.
  (Text-layer and OCR pages have had their furniture removed page by page already, by
  `mmedc.extract.layout`; this rule catches running heads that look like text on a single page.)
- Lines → paragraphs: a hyphenated line break is joined ("treat-" + "ment"), other breaks become one
  space, except next to a CJK character (no space); a paragraph cut by a page break is rejoined.
"""
from __future__ import annotations

import re
from collections import Counter

from mmedc.extract.ocr import CJK

MIN_PAGES_FOR_RANGE = 100
EDGE_LINES = 2
HEADER_MIN_PAGES = 3
HEADER_MAX_CHARS = 60  # running headers are short; longer repeated lines are text

Page = list[list[str]]  # paragraphs, each a list of lines

_ROMAN = r"(?=[ivxlcdm])m{0,3}(?:cm|cd|d?c{0,3})(?:xc|xl|l?x{0,3})(?:ix|iv|v?i{0,3})"
_CJK_CHAR = re.compile(f"[{CJK}]")
_SENTENCE_END = re.compile(rf"[.!?…:;»\"”’)\]。！？；：」』）]$")


def page_range(n: int) -> range:
    """Pages MMedC keeps of an n-page book (all of them below 100 pages)."""
    if n < MIN_PAGES_FOR_RANGE:
        return range(n)
    lo = int(0.018 * n + 3) + 1  # first index strictly greater than 0.018·n + 3
    return range(lo, n - 5)


def page_number_re(words: list[str]) -> re.Pattern:
    w = "|".join(re.escape(x.lower()) for x in sorted(words, key=len, reverse=True))
    pre = rf"(?:(?:{w})\s*)?" if w else ""
    num = rf"(?:\d{{1,5}}|{_ROMAN})"  # journals number pages on through a volume: "47698"
    post = rf"(?:\s*(?:{w}|(?:/|of|из|de|von|sur)\s*\d{{1,4}}))?" if w else r"(?:\s*(?:/|of)\s*\d{1,4})?"
    return re.compile(rf"^[\W_]*{pre}{num}{post}[\W_]*$", re.IGNORECASE)


def _shape(line: str) -> str:
    """A header line's identity across pages: lower case, digits masked, no punctuation or spaces."""
    return re.sub(r"[\W_]+", "", re.sub(r"\d+", "#", line.lower()))


def _positions(page: Page) -> list[tuple[int, int]]:
    return [(i, j) for i, para in enumerate(page) for j in range(len(para))]


def _edges(page: Page) -> list[tuple[int, int]]:
    """(paragraph, line) positions of the first and last EDGE_LINES lines of a page."""
    pos = _positions(page)
    return list(dict.fromkeys(pos[:EDGE_LINES] + pos[-EDGE_LINES:]))


def strip_headers(pages: list[Page], page_words: list[str]) -> tuple[list[Page], int]:
    """Remove running headers/footers and page numbers; returns the pages and how many lines went.

    From each edge of a page, lines are peeled while they are page numbers or repeated header shapes
    (at most EDGE_LINES): the first body line stops the peeling.
    """
    pnum = page_number_re(page_words)
    counts: Counter = Counter()
    # A running head is a paragraph of its own: a short line that ends a paragraph of text ("end.")
    # may repeat too, and stays.
    for page in pages:
        counts.update({_shape(page[i][j]) for i, j in _edges(page)
                       if len(page[i]) == 1 and len(page[i][j]) <= HEADER_MAX_CHARS and _shape(page[i][j])})

    def furniture(para: list[str], line: str) -> bool:
        line = line.strip()
        shape = _shape(line)
        return (not line or bool(pnum.match(line))
                or (len(pages) >= HEADER_MIN_PAGES and len(para) == 1 and bool(shape)
                    and counts[shape] >= HEADER_MIN_PAGES and len(line) <= HEADER_MAX_CHARS))

    removed = 0
    out = []
    for page in pages:
        pos = _positions(page)
        drop = set()
        for order in (pos, pos[::-1]):
            for i, j in order[:EDGE_LINES]:
                if not furniture(page[i], page[i][j]):
                    break
                drop.add((i, j))
        removed += len(drop)
        paras = [[ln for j, ln in enumerate(para) if (i, j) not in drop] for i, para in enumerate(page)]
        out.append([p for p in paras if p])
    return out, removed


def _cjk(ch: str) -> bool:
    return bool(ch) and bool(_CJK_CHAR.match(ch))


def _glue(tail: str, b: str, hyphenation: bool) -> tuple[int, str]:
    """How to put line `b` after text ending in `tail` (its last two characters, no trailing space):
    (characters to drop from the text's end, separator)."""
    if tail.endswith("\u00ad"):  # soft hyphen: always a word break
        return 1, ""
    if hyphenation and len(tail) > 1 and tail[-1] in "-‐" and tail[-2].isalpha() and b[0].islower():
        return 1, ""
    if _cjk(tail[-1]) or _cjk(b[0]):
        return 0, ""
    return 0, " "


def join_two(a: str, b: str, hyphenation: bool) -> str:
    """Join two lines of one paragraph."""
    a, b = a.rstrip(), b.lstrip()
    if not a or not b:
        return a + b
    drop, sep = _glue(a[-2:], b, hyphenation)
    return a[:len(a) - drop] + sep + b


class Joiner:
    """Lines appended one by one into one paragraph, in time linear in the text (no re-copying of
    what was joined so far: a paragraph can run over hundreds of pages of a badly tagged book)."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.tail = ""  # the last two characters so far

    def add(self, line: str, hyphenation: bool) -> None:
        b = line.strip()
        if not b:
            return
        if self.parts:
            drop, sep = _glue(self.tail, b, hyphenation)
            if drop:
                self.parts[-1] = self.parts[-1][:-drop]  # the last piece is one line: short
            self.tail = (self.tail[:len(self.tail) - drop] + sep + b)[-2:]
            if sep:
                self.parts.append(sep)
        else:
            self.tail = b[-2:]
        self.parts.append(b)

    def text(self) -> str:
        return re.sub(r"[ \t]{2,}", " ", "".join(self.parts))


def join_lines(lines: list[str], hyphenation: bool) -> str:
    j = Joiner()
    for ln in lines:
        j.add(ln, hyphenation)
    return j.text()


def _continues(prev: str, nxt: str) -> bool:
    """Does the paragraph ending a page go on at the top of the next one?"""
    if not prev or not nxt or _SENTENCE_END.search(prev):
        return False
    return nxt[0].islower() or (_cjk(prev[-1]) and _cjk(nxt[0])) or prev.endswith(("-", "\u00ad", ","))


def clean_book(pages: list[Page], page_words: list[str], hyphenation: bool = True) -> tuple[str, dict]:
    """Pages in reading order → text with paragraphs separated by a blank line, and what was done."""
    pages, removed = strip_headers(pages, page_words)
    paras: list[Joiner] = []
    rejoined = 0
    for page in pages:
        for k, para in enumerate(page):
            j = Joiner()
            for ln in para:
                j.add(ln, hyphenation)
            if not j.parts:
                continue
            first = j.text()
            if k == 0 and paras and _continues(paras[-1].tail, first):
                paras[-1].add(first, hyphenation)  # a paragraph cut by the page break
                rejoined += 1
            else:
                paras.append(j)
    return "\n\n".join(p.text() for p in paras), {"header_lines_removed": removed, "paragraphs_rejoined": rejoined}
