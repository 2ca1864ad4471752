"""Per-page layout of text-layer pages (mmedc.extract.layout): page furniture removed on a single page,
columns read one after the other, a table read row by row, margin stamps dropped, the layout record."""
from __future__ import annotations

from mmedc.config import OcrConfig
from mmedc.extract.book_cleanup import page_number_re
from mmedc.extract.layout import Line, analyse, reading_order, Block
from mmedc.extract.pdf import extract_pdf
from mmedc.extract.pymupdf_import import load_pymupdf

LEFT = ("Left column opens the article. Heart failure is a clinical syndrome caused by structural or "
        "functional cardiac abnormalities. It reduces cardiac output and raises intracardiac pressures. "
        "Left column closes here.")
RIGHT = ("Right column opens here. Loop diuretics relieve congestion, while beta blockers and ACE "
         "inhibitors improve survival in patients with a reduced ejection fraction. Right column closes.")
WIDE = "A closing paragraph runs across both columns and is read after both of them have been read."


def _page(doc, title=True, banner=True, number="12"):
    pymupdf = load_pymupdf()
    page = doc.new_page(width=595, height=842)
    if banner:
        page.insert_textbox(pymupdf.Rect(50, 30, 545, 45), "Journal of Clinical Cases | www.jcc-example.org",
                            fontsize=8)
    if title:
        page.insert_textbox(pymupdf.Rect(50, 70, 545, 100), "Management of Chronic Heart Failure", fontsize=16)
    page.insert_textbox(pymupdf.Rect(50, 110, 290, 400), LEFT, fontsize=10)
    page.insert_textbox(pymupdf.Rect(305, 110, 545, 400), RIGHT, fontsize=10)
    page.insert_textbox(pymupdf.Rect(50, 420, 545, 470), WIDE, fontsize=10)
    # a small table: three columns of cells, rows one under the other
    for r, row in enumerate([("Drug", "Dose", "Effect"), ("Furosemide", "40 mg", "Diuresis"),
                             ("Bisoprolol", "5 mg", "Survival")]):
        for c, cell in enumerate(row):
            page.insert_text((80 + 150 * c, 500 + 16 * r), cell, fontsize=10)
    page.insert_text((60, 700), "Downloaded from www.jcc-example.org on 15 September 2023", fontsize=7,
                     rotate=90)  # a stamp printed sideways in the left margin
    if number:
        page.insert_textbox(pymupdf.Rect(50, 795, 545, 825), number, fontsize=9, align=1)
    return page


def test_single_page_furniture_columns_table(tmp_path):
    pymupdf = load_pymupdf()
    doc = pymupdf.open()
    _page(doc)
    doc.save(tmp_path / "a.pdf")
    rec = extract_pdf("a", tmp_path / "a.pdf", "en", OcrConfig())
    text = rec.text
    # one page only: the book's repetition rule cannot see these; the page layout removes them
    assert "jcc-example" not in text and "Journal of Clinical Cases" not in text
    assert not any(p.strip() == "12" for p in text.split("\n\n")) and not text.rstrip().endswith("12")
    assert "Downloaded" not in text
    # reading order: title, left column, right column, the wide paragraph, then the table
    order = [text.index(s) for s in ("Management of Chronic", "Left column opens", "Left column closes",
                                      "Right column opens", "Right column closes", "A closing paragraph",
                                      "Furosemide")]
    assert order == sorted(order)
    # the table comes row by row, cells in order, not column by column
    assert "Drug | Dose | Effect" in text and "Furosemide | 40 mg | Diuresis" in text
    assert text.index("Furosemide") < text.index("Bisoprolol")
    lay = rec.meta["layout"][0]
    assert lay["columns"] == 2 and lay["regions"]["table"] == 1
    assert lay["regions"]["page-header"] == 1 and lay["regions"]["page-number"] == 1
    assert lay["regions"]["margin"] == 1 and lay["furniture"] == 3
    assert any("jcc-example" in r for r in lay["removed"])
    assert rec.meta["header_lines_removed"] == 3


def test_layout_off_keeps_the_stream_order(tmp_path):
    pymupdf = load_pymupdf()
    doc = pymupdf.open()
    _page(doc)
    doc.save(tmp_path / "a.pdf")
    rec = extract_pdf("a", tmp_path / "a.pdf", "en", OcrConfig(layout=False))
    assert "jcc-example" in rec.text and rec.meta["layout"] == [None]


def test_body_text_at_the_page_edges_is_kept(tmp_path):
    # a page whose first and last lines are body text in the body's type: nothing is furniture
    pymupdf = load_pymupdf()
    doc = pymupdf.open()
    page = doc.new_page(width=420, height=595)
    body = ("Acute kidney injury is defined by a rise in serum creatinine or a fall in urine output. " * 12)
    page.insert_textbox(pymupdf.Rect(36, 20, 384, 580), "Kidney injury\n" + body + "\nLast line of the text.",
                        fontsize=10)
    doc.save(tmp_path / "b.pdf")
    rec = extract_pdf("b", tmp_path / "b.pdf", "en", OcrConfig())
    assert rec.text.startswith("Kidney injury") and rec.text.endswith("Last line of the text.")
    assert rec.meta["layout"][0]["furniture"] == 0


def _line(text, x0, y0, x1, size=10.0, block=0):
    return Line(text, x0, y0, x1, y0 + size * 1.2, size, block)


def test_ocr_lines_keep_tesseract_order_and_lose_furniture():
    # OCR boxes in pixels: a running head with its page number, two paragraphs, a centred page number
    pnum = page_number_re([])
    lines = [_line("48 CHAPTER 3 DIABETES", 100, 40, 700, 20, 0),
             _line("The second paragraph comes first in tesseract's order.", 100, 600, 1500, 30, 1),
             _line("The first paragraph.", 100, 500, 1500, 30, 2),
             _line("48", 780, 2150, 830, 30, 3)]
    lay = analyse(lines, 2200.0, pnum, order=False)
    assert lay.paragraphs == [["The second paragraph comes first in tesseract's order."], ["The first paragraph."]]
    assert lay.record["furniture"] == 2


def test_reading_order_right_to_left_and_bands():
    blocks = [Block([_line("right", 300, 100, 500)]), Block([_line("left", 50, 100, 250)]),
              Block([_line("wide", 50, 300, 500)]), Block([_line("left2", 50, 400, 250)]),
              Block([_line("right2", 300, 400, 500)])]
    ltr, cols = reading_order(blocks)
    assert [b.lines[0].text for b in ltr] == ["left", "right", "wide", "left2", "right2"] and cols == 2
    rtl, _ = reading_order(blocks, rtl=True)
    assert [b.lines[0].text for b in rtl] == ["right", "left", "wide", "right2", "left2"]


def test_many_lines_stay_fast():
    # 20,000 one-word lines on one page (a hostile text layer): every step is near-linear
    pnum = page_number_re([])
    lines = [_line(f"w{i}", 50 + (i % 7) * 70, 10 + (i // 7) * 0.3, 90 + (i % 7) * 70, 0.25, i) for i in range(20_000)]
    lay = analyse(lines, 842.0, pnum)
    words = sum(len(ln.replace("|", " ").split()) for p in lay.paragraphs for ln in p)
    assert words >= 19_900  # nothing lost but a few rows at the page's edges, taken as furniture


def test_one_row_of_many_words_stays_fast():
    # 20,000 words side by side on one baseline: no step may compare every word with every other
    pnum = page_number_re([])
    lines = [_line(f"w{i}", i * 3.0, 400, i * 3.0 + 2, 10.0, i) for i in range(20_000)]
    lay = analyse(lines, 842.0, pnum)
    assert sum(len(ln.replace("|", " ").split()) for p in lay.paragraphs for ln in p) == 20_000


def test_list_items_are_paragraphs_of_their_own():
    pnum = page_number_re([])
    lines = [_line("Treatment options:", 50, 300, 300), _line("• loop diuretics for congestion,", 50, 313, 300),
             _line("given in the morning;", 60, 326, 300), _line("• beta blockers;", 50, 339, 300),
             _line("1. follow-up in two weeks.", 50, 352, 300)]
    lay = analyse(lines, 842.0, pnum)
    assert lay.paragraphs == [["Treatment options:"], ["• loop diuretics for congestion,", "given in the morning;"],
                              ["• beta blockers;"], ["1. follow-up in two weeks."]]


def test_a_page_the_layout_cannot_read_falls_back(tmp_path, monkeypatch):
    import mmedc.extract.layout as layout

    def broken(*a, **k):
        raise RuntimeError("unforeseen page")

    monkeypatch.setattr(layout, "pdf_page_layout", broken)
    pymupdf = load_pymupdf()
    doc = pymupdf.open()
    _page(doc)
    doc.save(tmp_path / "a.pdf")
    rec = extract_pdf("a", tmp_path / "a.pdf", "en", OcrConfig())
    assert rec.decision == "kept" and "Left column opens" in rec.text  # read, in stream order
    assert rec.meta["layout"][0]["error"].startswith("layout: ") and "unforeseen page" in rec.meta["layout"][0]["error"]


def test_scanned_page_loses_its_running_head_and_page_number(tmp_path):
    from mmedc.extract.book_samples import PageSpec, write_pdf

    body = ["Insulin therapy starts with a basal dose at bedtime, adjusted every three days to the fasting "
            "glucose measured at home by the patient."]
    p = write_pdf(tmp_path / "s.pdf", [PageSpec(body, kind="scan", size=(420, 300), header="Journal of Diabetes Care | Vol. 12",
                                                footer="48")])
    rec = extract_pdf("s", p, "en", OcrConfig(workers=1, orientation=False))
    assert rec.meta["page_methods"] == ["ocr"] and "Insulin therapy" in rec.text
    assert "Journal" not in rec.text and not rec.text.rstrip().endswith("48")
    assert rec.meta["layout"][0]["furniture"] == 2 and rec.meta["header_lines_removed"] == 2


def test_first_lines_of_two_columns_are_not_a_running_head():
    # the top row holds the first line of each column; "No. 6" or a URL in one of them is body text
    pnum = page_number_re([])
    lines = [_line("pulleys, provided the inner race of the", 72, 44, 300, 10.0, 0),
             _line("the most common ranges in size for No. 6", 321, 44, 540, 10.0, 1)]
    lines += [_line(f"left column line {i} of the running text here", 72, 56 + 12 * i, 300, 10.0, 0) for i in range(30)]
    lines += [_line(f"right column line {i} of the running text here", 321, 56 + 12 * i, 540, 10.0, 1) for i in range(30)]
    lay = analyse(lines, 774.0, pnum)
    assert lay.record["furniture"] == 0
    assert lay.paragraphs[0][0] == "pulleys, provided the inner race of the"
