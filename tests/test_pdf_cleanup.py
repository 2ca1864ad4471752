"""Book cleanup rules on text: MMedC page range, running headers/footers, page numbers, hyphenation,
paragraph joining (no spaces between CJK characters), and on a generated 120-page text-layer book."""
from __future__ import annotations

from mmedc.config import OcrConfig
from mmedc.extract.book_cleanup import clean_book, join_lines, page_number_re, page_range, strip_headers
from mmedc.extract.book_samples import PageSpec, write_pdf
from mmedc.extract.ocr import despace_cjk
from mmedc.extract.ocr_settings import ocr_settings
from mmedc.extract.pdf import extract_pdf


def test_page_range_rule():
    # keep index i when 0.018·N + 3 < i < N − 5; books under 100 pages are kept whole
    assert page_range(99) == range(99)
    r = page_range(100)  # 0.018·100 + 3 = 4.8 → first kept 5; last kept 94
    assert (r.start, r.stop) == (5, 95)
    r = page_range(500)  # 12 → first kept 13; last kept 494
    assert (r.start, r.stop) == (13, 495)
    assert all(0.018 * 500 + 3 < i < 500 - 5 for i in r)


def test_page_numbers_recognised_per_language():
    en, zh, ru = (page_number_re(ocr_settings(c)["page_words"]) for c in ("en", "zh", "ru"))
    for s in ("12", "- 12 -", "xiv", "Page 12", "page 3 of 40", "[7]"):
        assert en.match(s), s
    for s in ("第12页", "— 34 —"):
        assert zh.match(s), s
    assert ru.match("стр. 12") and ru.match("С. 5")
    for s in ("12 patients", "Mild", "Chapter twelve", "Type 2 diabetes"):
        assert not en.match(s), s


def test_running_headers_and_page_numbers_removed():
    topics = ["insulin therapy", "glucose monitoring", "diet", "exercise", "foot care", "retinal screening"]
    pages = []
    for i, topic in enumerate(topics):
        header = "Clinical Medicine" if i % 2 else f"Chapter 3. Diabetes {20 + i}"
        pages.append([[header], [f"Body paragraph about {topic}, a part of diabetes care."], [str(20 + i)]])
    pages[2].insert(1, [["A single line that appears once"]][0])
    out, removed = strip_headers(pages, ocr_settings("en")["page_words"])
    flat = [ln for p in out for para in p for ln in para]
    assert not any(ln.startswith(("Clinical Medicine", "Chapter 3")) or ln.isdigit() for ln in flat)
    assert sum("Body paragraph" in ln for ln in flat) == 6
    assert "A single line that appears once" in flat and removed == 12


def test_hyphenation_and_line_joining():
    assert join_lines(["The treat-", "ment of diabetes"], True) == "The treatment of diabetes"
    assert join_lines(["Anti-", "Inflammatory drugs"], True) == "Anti- Inflammatory drugs"  # upper case: kept
    assert join_lines(["лече-", "ние диабета"], True) == "лечение диабета"
    assert join_lines(["soft\u00ad", "hyphen"], False) == "softhyphen"
    assert join_lines(["糖尿病是一种", "慢性疾病。"], False) == "糖尿病是一种慢性疾病。"
    assert join_lines(["使用", "Metformin 治疗"], False) == "使用Metformin 治疗"
    assert join_lines(["one", "two"], True) == "one two"
    assert despace_cjk("糖 尿 病 是 一 种 HbA1c 检 测 。") == "糖尿病是一种 HbA1c 检测。"
    assert despace_cjk("당뇨병 환자") == "당뇨병 환자"  # Hangul keeps its word spaces


def test_paragraph_rejoined_across_pages():
    pages = [[["First paragraph ends here."], ["The second paragraph goes on to the"]],
             [["next page and ends."], ["Third."]],
             [["糖尿病是一种以高血糖为特征的"]], [["慢性代谢性疾病。"]]]
    text, info = clean_book(pages, [], True)
    assert text.split("\n\n") == ["First paragraph ends here.", "The second paragraph goes on to the next page and ends.",
                                  "Third.", "糖尿病是一种以高血糖为特征的慢性代谢性疾病。"]
    assert info["paragraphs_rejoined"] == 2


def test_long_text_book_range_headers_and_hyphens(tmp_path):
    import random

    vocab = ("blood pressure stroke kidney heart failure diuretic dose patient follow-up sodium diet "
             "exercise risk renal function potassium therapy adherence target clinic visit").split()
    n = 120
    pages = []
    for i in range(n):
        rng = random.Random(i)
        body = f"Section {i}. " + " ".join(rng.choice(vocab) for _ in range(45))
        # odd pages end mid-word; the next page carries on: "antihyper-" + "tensive"
        body += " and antihyper-" if i % 2 else " end."
        if i % 2 == 0 and i:
            body = "tensive drugs, " + body
        pages.append(PageSpec([body], header="Internal Medicine" if i % 2 else "Chapter 7  Cardiovascular disease",
                              footer=str(i + 1)))
    p = write_pdf(tmp_path / "long.pdf", pages, title="Internal Medicine")
    rec = extract_pdf("long", p, "en", OcrConfig())
    m = rec.meta
    kept = [i for i, meth in enumerate(m["page_methods"]) if meth == "text"]
    assert kept == list(range(6, 115))  # 0.018·120 + 3 = 5.16 < i < 115
    assert set(m["page_methods"][:6] + m["page_methods"][115:]) == {"skipped"}
    assert m["ocr_pages"] == 0 and m["pages"] == n and m["page_chars"][0] == 0 and m["page_chars"][6] > 200
    assert "Section 6." in rec.text and "Section 5." not in rec.text and "Section 115." not in rec.text
    assert "Internal Medicine" not in rec.text and "Cardiovascular disease" not in rec.text
    assert m["header_lines_removed"] == 2 * len(kept)  # a header and a page number on every page
    # 109 pages: 54 odd pages continue onto the next page, with the hyphenated word rejoined
    assert rec.text.count("antihypertensive drugs") == 54 and m["paragraphs_rejoined"] == 54
    assert rec.text.count("\n\n") == len(kept) - 1 - 54


def test_cleanup_is_linear_in_lines():
    # A text layer of 300,000 short lines in one paragraph, and a paragraph running over 20,000
    # pages: joining used to re-copy the text so far at every line (hours); now it is one pass.
    lines = [f"word{i} treat-" if i % 2 else "ment of" for i in range(300_000)]
    text = join_lines(lines, True)
    assert text.count("treatment of") == 149_999 and len(text) < 4_000_000
    # longer than a running header (60 characters), so the cleanup keeps every one
    body = "and the paragraph goes on from one page to the next one without an end"
    text, info = clean_book([[[body]] for _ in range(20_000)], [], True)
    assert info["paragraphs_rejoined"] == 19_999 and text.count("end and the") == 19_999
