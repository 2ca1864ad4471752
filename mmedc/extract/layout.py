"""Page layout of a PDF page, read the way a person reads it: page furniture (running heads, footers,
page numbers, margin stamps) removed per page, tables kept as rows, columns read one after another.

Why not pymupdf's own layout model (`pymupdf.layout`, an ONNX graph network): measured here it costs
0.14–0.47 s per page (2 cores), 10–30× the whole budget of the textbook route (≥ 50 text pages/s per
core), and reads the benchmark's pages no better. This module works on the text layer's geometry
(PyMuPDF `get_text("dict")`, or tesseract's boxes for OCR pages) in a few ms per page, with no model
to load; `python -m mmedc.bench pdf_layout` compares both against docling's ground truth and checks
written for the development PDFs (docs/books.md, "Page layout").

Steps, per page (coordinates in points, y down):
1. lines: PyMuPDF lines, split where two spans are far apart (table cells, running head + number);
   lines not written left to right in the page margins are margin stamps (arXiv ids, "Downloaded
   from …" printed sideways) and go.
2. furniture: up to `EDGE_ROWS` rows of lines at the top (within the top 15% of the page) and at the
   bottom are peeled while they are a page number, a running head with its page number, a line that
   looks like a journal banner, URL, DOI, copyright, download stamp or date, anything in the outer
   3.5% of the page, small print (top; bottom only at the very edge), or a short line alone above
   the body. The book-level rule (a line repeated at the page edges of ≥ 3 pages, `book_cleanup`)
   stays as a second signal.
3. tables: ≥ 3 rows of ≥ 3 short cells side by side, in columns that line up, form a table; it is
   read row by row, cells joined by " | ", and placed as one block in the reading order.
4. blocks: lines are grouped into blocks here (PyMuPDF's blocks mix columns in some PDFs); a list
   item opens its own block.
5. reading order: recursive cuts. A region with a vertical gap that no block crosses is split there
   (columns, left to right); otherwise it is cut into bands at its horizontal gaps, and consecutive
   bands are read as one region while a vertical gap runs through all of them. Right-to-left pages
   keep the written order.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from statistics import median

EDGE_ROWS = 4  # rows peeled from the top and from the bottom at most
TOP_BAND = 0.15  # furniture lies within this share of the page height from its edge
OUTER_EDGE = 0.035  # text this close to the top or bottom edge is outside any body text block
BOTTOM_EDGE = 0.06  # small print this close to the bottom is a footer (higher up it may be a footnote)
SMALL_TYPE = 0.92  # a top line in a type this much smaller than the body is a running head
CELL_GAP = 1.5  # spans further apart than this many times the font size are separate cells
TABLE_CELL_CHARS = 40  # cells of a table row are short
TABLE_MIN_ROWS = 3  # rows of cells lined up in 3 or more columns, close together
MAX_ORDER_DEPTH = 40  # recursion guard; deeper regions are read top to bottom
MAX_OPEN_BLOCKS = 64  # blocks a new line may join (the most recent ones)
MAX_ORDER_BLOCKS = 2000  # a region with more blocks than this is read top to bottom
RECORD_REMOVED = 8  # removed lines kept (cut to 80 characters) in the page's layout record

_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
FURNITURE = re.compile("|".join([
    r"https?://", r"\bwww\.", r"\w\.(?:com|org|net|edu|gov|int)\b",
    r"\bdoi\b", r"\bissn\b", r"\bisbn\b", r"\barxiv:\s*\d",
    r"©", r"\(c\)\s*\d{4}", r"\bcopyright\b", r"all rights reserved", r"\blicen[cs]ed? under\b",
    r"\bdownload(?:ed)?\s+(?:from|date|on|by)\b", r"\baccessed\s+(?:on\s+)?\d", r"\bprinted\s+(?:on|from|in)\b",
    r"\bvol(?:ume)?\.?\s*\d", r"\bpage\s+\d+",
    rf"\b\d{{1,2}}\s+{_MONTH}\s+\d{{4}}\b", rf"\b{_MONTH}\s+\d{{1,2}},?\s+\d{{4}}\b", r"\b\d{4}-\d{2}-\d{2}\b",
    r"\s[|•·]\s", r"\bet al\.?\s*$", r"\b(?:journal|proceedings|transactions)\s+(?:of|on)\b",
    r"\bpreprint\b", r"\bconfidential\b", r"\bpublished\s+(?:online|by)\b", r"\bsupplement\b",
]), re.IGNORECASE)
_NUM_EDGE = re.compile(r"^\s*\d{1,5}\s+\S|\S\s+\d{1,5}\s*$")  # "12  Chapter 3" / "Chapter 3  13"
_ITEM = re.compile(r"^(?:[•●▪◦‣∙■□➢►✓\uf0a7\uf0b7\uf076\uf0d8\uf0fc]|[-–*]\s|\(?(?:\d{1,2}|[a-z])[.)]\s)")
_NUMERIC = re.compile(r"^[\W_]*[-+−±]?[\d.,]+\s*[%‰]?[\W_]*$")
_RTL = re.compile(r"[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]")


class Line:
    """One line (or table cell) of text with its box; `size` is the font size in points, or the line
    height for OCR."""
    __slots__ = ("text", "x0", "y0", "x1", "y1", "size", "block", "yc")

    def __init__(self, text: str, x0: float, y0: float, x1: float, y1: float, size: float, block: int):
        self.text, self.x0, self.y0, self.x1, self.y1, self.size, self.block = text, x0, y0, x1, y1, size, block
        self.yc = (y0 + y1) / 2  # read often: kept, not recomputed

    def __repr__(self) -> str:
        return f"Line({self.text!r}, {self.x0:.0f}, {self.y0:.0f}, {self.x1:.0f}, {self.y1:.0f}, {self.size:.1f})"


@dataclass
class Block:
    lines: list[Line]
    kind: str = "text"  # text | title | table
    rows: list[str] = field(default_factory=list)  # table rows, already joined

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        ls = self.lines
        return (min(l.x0 for l in ls), min(l.y0 for l in ls), max(l.x1 for l in ls), max(l.y1 for l in ls))

    def paragraph(self) -> list[str]:
        return self.rows if self.kind == "table" else [l.text for l in self.lines]


@dataclass
class PageLayout:
    paragraphs: list[list[str]]  # what is read, in reading order
    record: dict  # what was found and removed: the page's entry in the record's meta["layout"]
    text: str = ""  # all of the page's text, furniture included (to decide whether it needs OCR)


# ---------------------------------------------------------------- lines from the text layer

def pdf_lines(page) -> tuple[list[Line], list[str]]:
    """The page's text lines (cells split apart) and the text of lines removed as margin stamps."""
    from mmedc.extract.pymupdf_import import load_pymupdf
    pymupdf = load_pymupdf()

    flags = pymupdf.TEXT_PRESERVE_WHITESPACE | pymupdf.TEXT_MEDIABOX_CLIP  # ligatures expanded
    d = page.get_text("dict", flags=flags)
    w = page.rect.width
    lines: list[Line] = []
    margin: list[str] = []
    for bi, b in enumerate(d["blocks"]):
        if b.get("type") != 0:
            continue
        for ln in b["lines"]:
            spans = [s for s in ln["spans"] if s["text"]]
            if not spans:
                continue
            dx, dy = ln["dir"]
            if abs(dy) > 0.2 or dx < 0:  # written sideways or upside down
                x0, _, x1, _ = ln["bbox"]
                text = "".join(s["text"] for s in spans).strip()
                if text and (x1 < 0.12 * w or x0 > 0.88 * w):
                    margin.append(text)
                    continue
            lines += _cells(spans, bi)
    return lines, margin


def _cells(spans: list[dict], block: int) -> list[Line]:
    """One PyMuPDF line → one Line per group of spans that sit close together."""
    out: list[Line] = []
    cur: list[dict] = []
    for s in spans:
        if cur and s["bbox"][0] - cur[-1]["bbox"][2] > CELL_GAP * max(s["size"], 1.0) and cur[-1]["text"].strip():
            out.append(_line(cur, block))
            cur = []
        cur.append(s)
    out.append(_line(cur, block))
    return [l for l in out if l.text]


def _line(spans: list[dict], block: int) -> Line:
    x0, y0, x1, y1 = spans[0]["bbox"]
    size = spans[0]["size"]
    for s in spans[1:]:
        b = s["bbox"]
        x0, y0, x1, y1 = min(x0, b[0]), min(y0, b[1]), max(x1, b[2]), max(y1, b[3])
        size = max(size, s["size"])
    text = "".join(s["text"] for s in spans)
    return Line(" ".join(text.split()), x0, y0, x1, y1, size, block)


# ---------------------------------------------------------------- rows and furniture

def _rows(lines: list[Line]) -> list[list[Line]]:
    """Lines grouped into rows that share a height on the page, top to bottom, cells left to right."""
    rows: list[list[Line]] = []
    bottom = -1e9
    for l in sorted(lines, key=lambda l: (l.yc, l.x0)):
        if rows and l.yc <= bottom:
            rows[-1].append(l)
            bottom = max(bottom, min(l.y1, l.yc + 0.5 * (l.y1 - l.y0)))
        else:
            rows.append([l])
            bottom = l.y1 - 0.25 * (l.y1 - l.y0)
    return [sorted(r, key=lambda l: l.x0) for r in rows]


def body_size(lines: list[Line]) -> float:
    """The body's type size: the size most characters are set in."""
    weight: dict[float, int] = {}
    for l in lines:
        k = round(l.size, 1)
        weight[k] = weight.get(k, 0) + len(l.text)
    return max(weight, key=weight.get) if weight else 10.0


def _furniture(row: list[Line], top: bool, body: float, pnum: re.Pattern, at_edge: bool = False,
               outer: bool = False, gap_after: float = 0.0) -> str | None:
    """Why a row at a page edge is furniture (its kind), or None when it is text. `at_edge`: in the
    bottom 6%; `outer`: in the outer 3.5% (top or bottom); `gap_after`: blank space between this row
    and the body, in line heights."""
    text = " ".join(l.text for l in row)
    if len(text) > 200:
        return None
    if outer and len(text) <= 100:
        return "page-header" if top else "page-footer"
    if sum(len(l.text) >= 30 and l.size >= 0.95 * body for l in row) >= 2:
        return None  # the first (or last) lines of two columns of body text side by side
    if pnum.match(text) or all(pnum.match(l.text) for l in row):
        return "page-number"
    kind = "page-header" if top else "page-footer"
    if len(text) <= 150 and FURNITURE.search(text):
        return kind
    if len(text) <= 120 and (any(pnum.match(l.text) for l in row) or _NUM_EDGE.search(text)) and len(row) <= 4:
        return kind  # a running head with its page number
    size = max(l.size for l in row)
    small = body > 0 and size <= SMALL_TYPE * body
    if top and len(text) <= 80 and size <= 1.02 * body and gap_after >= 3.0:
        return kind  # a short line alone above the body, in the body's type or smaller: a running head
    if small and (len(text) <= 100 if top else len(text) <= 40 and at_edge):
        return kind  # small print at the very edge: not a footnote, which is longer and higher up
    return None


def strip_furniture(lines: list[Line], height: float, pnum: re.Pattern, type_sizes: bool = True
                    ) -> tuple[list[Line], list[tuple[str, str]]]:
    """Remove page numbers, running heads and footers from the page edges; returns the lines kept and
    (kind, text) of each removed row."""
    rows = _rows(lines)
    if len(rows) < 2:
        return lines, []
    body = body_size(lines) if type_sizes else 0.0
    drop: set[int] = set()
    removed: list[tuple[str, str]] = []
    for top in (True, False):
        order = range(len(rows)) if top else range(len(rows) - 1, -1, -1)
        for k in list(order)[:EDGE_ROWS]:
            row = rows[k]
            inside = (max(l.y1 for l in row) <= TOP_BAND * height) if top else \
                (min(l.y0 for l in row) >= (1 - TOP_BAND) * height)
            y0, y1 = min(l.y0 for l in row), max(l.y1 for l in row)
            at_edge = y0 >= (1 - BOTTOM_EDGE) * height
            outer = y1 <= OUTER_EDGE * height if top else y0 >= (1 - OUTER_EDGE) * height
            gap = 0.0
            if top and k + 1 < len(rows):
                gap = (min(l.y0 for l in rows[k + 1]) - y1) / max(y1 - y0, 1e-3)
            kind = _furniture(row, top, body, pnum, at_edge, outer, gap) if inside and k not in drop else None
            if not kind:
                break
            drop.add(k)
            removed.append((kind, " ".join(l.text for l in row)))
        if len(drop) >= len(rows) - 1:  # never peel a page down to nothing
            break
    if len(drop) >= len(rows):
        return lines, []
    gone = {id(l) for k in drop for l in rows[k]}
    return [l for l in lines if id(l) not in gone], removed


# ---------------------------------------------------------------- tables

def find_tables(lines: list[Line]) -> tuple[list[Block], list[Line]]:
    """Tables as blocks of rows, and the lines that are not in a table."""
    short = [l for l in lines if len(l.text) <= TABLE_CELL_CHARS]
    rows = _rows(short)

    def tabular(row: list[Line]) -> bool:
        """Three or more columns of cells, clear of each other, holding numbers or a few words each
        (lines of narrow text columns hold more words)."""
        if len(row) < 3 or len(_gaps([(l.x0, l.x1) for l in row], 0.5 * median(l.size for l in row))) < 2:
            return False
        numeric = sum(bool(_NUMERIC.match(l.text)) for l in row)
        return numeric >= 0.3 * len(row) or median(len(l.text.split()) for l in row) <= 3

    groups: list[list[list[Line]]] = []
    run: list[list[Line]] = []
    for row in rows:
        if tabular(row):
            h = max(l.y1 - l.y0 for l in row)
            if run and min(l.y0 for l in row) - max(l.y1 for l in run[-1]) > 2.5 * h:
                groups.append(run)
                run = []
            run.append(row)
    groups.append(run)
    tables: list[Block] = []
    taken: set[int] = set()
    for g in groups:
        cells = _table_cells(g)
        if not cells:
            continue
        x0, y0 = min(l.x0 for l in cells), min(l.y0 for l in cells)
        x1, y1 = max(l.x1 for l in cells), max(l.y1 for l in cells)
        inside = [l for l in lines if id(l) not in taken and x0 - 2 <= (l.x0 + l.x1) / 2 <= x1 + 2 and y0 - 2 <= l.yc <= y1 + 2]
        taken.update(id(l) for l in inside)
        rows_text = [" | ".join(l.text for l in r) for r in _rows(inside)]
        tables.append(Block(inside, "table", rows_text))
    return tables, [l for l in lines if id(l) not in taken]


def _table_cells(run: list[list[Line]]) -> list[Line]:
    """The cells of a run of table-like rows that line up in columns; [] when fewer than
    `TABLE_MIN_ROWS` rows or 3 columns do. A text line of a neighbouring column that happens to sit on
    a table row lines up with too few rows and is left out."""
    if len(run) < TABLE_MIN_ROWS:
        return []
    cells = sorted((l for r in run for l in r), key=lambda l: l.x0)
    cols: list[list[Line]] = []
    reach = -1e9
    for l in cells:  # columns: cells whose horizontal extents overlap, chained
        if cols and l.x0 <= reach:
            cols[-1].append(l)
            reach = max(reach, l.x1)
        else:
            cols.append([l])
            reach = l.x1
    row_of = {id(l): k for k, r in enumerate(run) for l in r}
    need = max(2, 0.4 * len(run))
    kept = [c for c in cols if len({row_of[id(l)] for l in c}) >= need]
    if len(kept) < 3:
        return []
    rows_with = {row_of[id(l)] for c in kept for l in c}
    if len(rows_with) < TABLE_MIN_ROWS:
        return []
    return [l for c in kept for l in c]


# ---------------------------------------------------------------- reading order

def _gaps(spans: list[tuple[float, float]], min_gap: float) -> list[tuple[float, float]]:
    """Gaps between the union of intervals, widest first."""
    out = []
    spans = sorted(spans)
    if not spans:
        return out
    reach = spans[0][1]
    for a, b in spans[1:]:
        if a - reach >= min_gap:
            out.append((reach, a))
        reach = max(reach, b)
    return sorted(out, key=lambda g: g[0] - g[1])


def reading_order(blocks: list[Block], rtl: bool = False, gap: float = 6.0) -> tuple[list[Block], int]:
    """Blocks in reading order, and the most columns met side by side.

    A region that a vertical gap crosses from top to bottom is read column by column. Otherwise it is
    cut into bands at every horizontal gap; consecutive bands are read as one region as long as a
    vertical gap still runs through all of them (the columns of a two-column stretch), so that a
    title, a wide figure or a table that crosses the gutter ends one stretch of columns and starts
    the next."""
    boxes = {id(b): b.bbox for b in blocks}
    cols = [1]

    def top_down(bs: list[Block]) -> list[Block]:
        return sorted(bs, key=lambda b: (boxes[id(b)][1], boxes[id(b)][0]))

    def xcuts(bs: list[Block]) -> list[float]:
        return sorted(g[0] for g in _gaps([(boxes[id(b)][0], boxes[id(b)][2]) for b in bs], gap))

    def order(bs: list[Block], depth: int) -> list[Block]:
        if len(bs) <= 1:
            return bs
        if depth > MAX_ORDER_DEPTH or len(bs) > MAX_ORDER_BLOCKS:
            return top_down(bs)
        cuts = xcuts(bs)
        if cuts:  # columns: nothing crosses these gaps
            parts: list[list[Block]] = [[] for _ in range(len(cuts) + 1)]
            for b in bs:
                parts[sum(boxes[id(b)][0] >= c for c in cuts)].append(b)
            cols[0] = max(cols[0], len(parts))
            if rtl:
                parts.reverse()
            return [x for p in parts for x in order(p, depth + 1)]
        ys = _gaps([(boxes[id(b)][1], boxes[id(b)][3]) for b in bs], 0.5)
        if not ys:
            return top_down(bs)
        edges = sorted(g[0] for g in ys)
        bands: list[list[Block]] = [[] for _ in range(len(edges) + 1)]
        for b in bs:
            bands[sum(boxes[id(b)][1] >= e for e in edges)].append(b)
        groups: list[list[Block]] = []
        for band in bands:
            if groups and xcuts(groups[-1] + band):
                groups[-1] = groups[-1] + band
            else:
                groups.append(band)
        return [x for g in groups for x in order(g, depth + 1)]

    return order(blocks, 0), cols[0]


# ---------------------------------------------------------------- the page

def make_blocks(lines: list[Line], body: float) -> list[Block]:
    """Lines → blocks (paragraphs, cells), built here rather than taken from PyMuPDF: some PDFs write
    text row by row across columns, and PyMuPDF's blocks then mix the columns.

    A line goes on the block whose last line is just above it (a gap under 0.8 line heights), overlaps
    it horizontally and is set in about the same size; otherwise, or when it starts a list item
    (a bullet, "1.", "a)"), it starts a block."""
    blocks: list[Block] = []
    open_: list[Block] = []
    for l in sorted(lines, key=lambda l: (l.y0, l.x0)):
        h = l.y1 - l.y0
        open_ = [b for b in open_ if l.y0 - b.lines[-1].y1 <= 2 * max(h, b.lines[-1].y1 - b.lines[-1].y0)]
        home = None
        for b in ([] if _ITEM.match(l.text) else reversed(open_)):  # a list item opens its own block
            last = b.lines[-1]
            lh = last.y1 - last.y0
            if l.y0 - last.y1 > 0.8 * max(h, lh) or l.yc < last.y1 - 0.25 * lh:
                continue  # too far below, or on the same row
            overlap = min(l.x1, last.x1) - max(l.x0, last.x0)
            if overlap > 0.3 * min(l.x1 - l.x0, last.x1 - last.x0) and abs(l.size - last.size) <= 0.2 * max(l.size, last.size):
                home = b
                break
        if home is None:
            home = Block([])
            blocks.append(home)
            open_.append(home)
            del open_[:-MAX_OPEN_BLOCKS]  # a row of thousands of words: bounded work per line
        home.lines.append(l)
    for b in blocks:
        if max(l.size for l in b.lines) >= 1.2 * body and len(b.lines) <= 3:
            b.kind = "title"
    return blocks


def group_blocks(lines: list[Line], body: float) -> list[Block]:
    """Lines → blocks by the block number they came with (OCR: tesseract's paragraphs)."""
    by: dict[int, list[Line]] = {}
    for l in lines:
        by.setdefault(l.block, []).append(l)
    out = []
    for ls in by.values():
        out.append(Block(ls, "title" if max(l.size for l in ls) >= 1.2 * body and len(ls) <= 3 else "text"))
    return out


def analyse(lines: list[Line], height: float, pnum: re.Pattern, margin: list[str] | None = None,
            order: bool = True) -> PageLayout:
    """Furniture removal, tables and reading order for one page's lines → paragraphs + layout record.

    `order=False` keeps the blocks in the order given (OCR: tesseract's own order)."""
    margin = margin or []
    n_lines = len(lines)
    # OCR boxes give line heights, not type sizes: a line without ascenders or descenders looks
    # "smaller", so the rules on type size are left to text-layer pages.
    kept, removed = strip_furniture(lines, height, pnum, type_sizes=order)
    removed = [("margin", t) for t in margin] + removed
    body = body_size(kept)
    sample = "".join(l.text for l in kept[:200])
    if order and len(_RTL.findall(sample)) > 0.3 * max(len(sample), 1):
        # Arabic, Hebrew, Persian: measured on docling's pages, the cuts below read them worse than
        # the order they are written in (forms, mixed-direction lines); keep that order.
        order = False
    tables, rest = find_tables(kept) if order else ([], kept)
    blocks = (make_blocks(rest, body) if order else group_blocks(rest, body)) + tables
    cols = 1
    if order:
        blocks, cols = reading_order(blocks)
    kinds: dict[str, int] = {}
    for b in blocks:
        kinds[b.kind] = kinds.get(b.kind, 0) + 1
    for k, _ in removed:
        kinds[k] = kinds.get(k, 0) + 1
    record = {"lines": n_lines, "regions": kinds, "columns": cols, "furniture": len(removed),
              "removed": [f"{k}: {t[:80]}" for k, t in removed[:RECORD_REMOVED]]}
    return PageLayout([p for p in (b.paragraph() for b in blocks) if p], record)


def pdf_page_layout(page, pnum: re.Pattern) -> PageLayout:
    lines, margin = pdf_lines(page)
    lay = analyse(lines, page.rect.height, pnum, margin)
    lay.text = "\n".join([l.text for l in lines] + margin)
    return lay
