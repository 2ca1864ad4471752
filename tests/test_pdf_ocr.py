"""PDF books the project generates: method chosen per page, OCR quality (CER against the text that was
rendered) in English, Chinese (with English) and Russian, rotated scans, page ranges on Ray, failures."""
from __future__ import annotations

import re

import pytest
from rapidfuzz.distance import Levenshtein

from mmedc.config import OcrConfig, SourceConfig
from mmedc.extract.book_samples import PageSpec, write_pdf
from mmedc.extract.pdf import extract_pdf, is_scanned, needs_ocr
from mmedc.sources.books import book_lang, read_pdf

EN = ["Hypertension is diagnosed when repeated office measurements exceed 140/90 mmHg.",
      "First-line drugs include thiazide diuretics, ACE inhibitors and calcium channel blockers."]
EN2 = ["Asthma is a chronic inflammatory disease of the airways with reversible bronchial obstruction.",
       "Inhaled corticosteroids are the mainstay of long-term control."]
ZH = ["高血压的诊断依据是多次诊室测量血压超过140/90毫米汞柱。一线药物包括噻嗪类利尿剂和钙通道阻滞剂。",
      "Metformin is the first-line drug for type 2 diabetes."]
RU = ["Артериальная гипертензия диагностируется при повторном повышении давления выше 140/90 мм рт. ст.",
      "Препараты первой линии: диуретики, ингибиторы АПФ и блокаторы кальциевых каналов."]
SMALL = (420, 260)  # small pages keep tesseract quick


def cer(ref: str, got: str, cjk: bool = False) -> float:
    """Character error rate after collapsing whitespace (all of it for CJK, where spaces mean nothing)."""
    def norm(s: str) -> str:
        return re.sub(r"\s+", "" if cjk else " ", s).strip()

    return Levenshtein.distance(norm(ref), norm(got)) / len(norm(ref))


def test_method_per_page_rotation_and_english_cer(tmp_path):
    p = write_pdf(tmp_path / "en.pdf", [
        PageSpec(EN2 * 3),                           # text layer
        PageSpec(EN, kind="scan", size=SMALL),       # image only
        PageSpec([], kind="blank"),                  # nothing to read: no OCR spent on it
        PageSpec(EN2, kind="scan", size=SMALL, rotate=180),  # scanned upside down
    ])
    (rec,) = read_pdf(SourceConfig("b", "pdf", [], lang="en"), p, OcrConfig(dpi=200, workers=1))
    m = rec.meta
    assert rec.decision == "kept"
    assert m["page_methods"] == ["text", "ocr", "blank", "ocr"] and m["ocr_pages"] == 2 and m["pages"] == 4
    assert m["page_confidence"][0] is None and m["page_confidence"][1] > 85 and m["page_confidence"][3] > 85
    assert m["page_chars"][2] == 0 and all(c > 100 for i, c in enumerate(m["page_chars"]) if i != 2)
    assert m["rotated_pages"] == {3: 180} and m["mean_ocr_confidence"] > 85
    # the text layer, the scan and the rotated scan read upright, in page order
    assert cer(" ".join(EN2 * 3 + EN + EN2), rec.text) < 0.02
    assert rec.text.index("Hypertension") < rec.text.rindex("Asthma")


def test_two_languages_chinese_without_spaces(tmp_path):
    p = write_pdf(tmp_path / "zh.pdf", [PageSpec(ZH, kind="scan", size=SMALL)], scan_dpi=300)
    rec = extract_pdf("zh", p, "zh+en", OcrConfig(dpi=300, workers=1))  # CJK strokes need the resolution
    assert rec.meta["page_methods"] == ["ocr"] and rec.meta["ocr_lang"] == "chi_sim+eng"
    zh, en = rec.text.split("\n\n")
    assert cer(ZH[0], zh, cjk=True) < 0.08
    assert not re.search(r"[\u4e00-\u9fff] +[\u4e00-\u9fff]", zh)  # tesseract's spaces between CJK removed
    assert cer(ZH[1], en) < 0.03 and "first-line drug" in en  # English keeps its spaces


def test_russian_cer(tmp_path):
    p = write_pdf(tmp_path / "ru.pdf", [PageSpec(RU, kind="scan", size=SMALL)])
    rec = extract_pdf("ru", p, "ru", OcrConfig(dpi=200, workers=1))
    assert rec.meta["page_methods"] == ["ocr"] and rec.meta["mean_ocr_confidence"] > 85
    assert cer(" ".join(RU), rec.text) < 0.03


def test_broken_text_layer_goes_to_ocr(tmp_path):
    # Enough letters for MMedC's rule, but a fifth of the glyphs map to nothing readable (fonts
    # without a Unicode map give U+FFFD or private-use code points).
    garbage = "Hypertension diagnosis \ue001\ue002\ufffd treatment \ufffd\ue005 " * 20
    good = " ".join(EN2 * 3)
    p = write_pdf(tmp_path / "g.pdf", [PageSpec(EN, kind="scan", size=SMALL), PageSpec(["Heading only"]),
                                       PageSpec(EN2 * 3)])
    from mmedc.extract.pymupdf_import import load_pymupdf

    with load_pymupdf().open(p) as doc:
        scan, heading, text = doc
        assert is_scanned(garbage) is False and needs_ocr(scan, garbage) == "ocr"
        assert needs_ocr(scan, good) == "text" and needs_ocr(scan, "") == "ocr"
        assert needs_ocr(heading, heading.get_text()) == "text"  # short, but nothing else drawn: no OCR
        assert needs_ocr(text, text.get_text()) == "text"


def test_page_ranges_on_ray_reassembled_in_order(tmp_path, ray_local):
    lines = ["Page one: anemia.", "Page two: sepsis.", "Page three: gout.", "Page four: malaria."]
    p = write_pdf(tmp_path / "r.pdf", [PageSpec([t], kind="scan", size=(300, 150)) for t in lines])
    ray_rec = extract_pdf("r", p, "en", OcrConfig(dpi=150, pages_per_task=1, orientation=False))
    assert ray_local.is_initialized()
    got = ray_rec.text.split("\n\n")
    assert [cer(a, b) < 0.1 for a, b in zip(lines, got)] == [True] * 4 and len(got) == 4
    assert ray_rec.meta["page_methods"] == ["ocr"] * 4


def test_failures_are_recorded_not_raised(tmp_path, monkeypatch):
    # A page whose OCR fails (a language pack tesseract lacks) fails alone; the text page is kept.
    (tmp_path / "ocr").mkdir()
    (tmp_path / "ocr" / "xx-missing.toml").write_text('tesseract = "nosuchlang"\n')
    monkeypatch.setenv("MMEDC_OCR", str(tmp_path / "ocr"))
    p = write_pdf(tmp_path / "b.pdf", [PageSpec(EN2 * 3), PageSpec(["Scan"], kind="scan", size=(300, 150))])
    rec = extract_pdf("b", p, "xx-missing", OcrConfig(dpi=100))
    assert rec.decision == "kept" and rec.meta["page_methods"] == ["text", "failed"]
    assert rec.meta["page_errors"][0]["page"] == 1 and "ocr:" in rec.meta["page_errors"][0]["error"]
    # Only blank pages: nothing to read, a failed row with the reason.
    blank = write_pdf(tmp_path / "blank.pdf", [PageSpec([], kind="blank")] * 2)
    rec = extract_pdf("blank", blank, "en", OcrConfig())
    assert rec.decision == "failed" and rec.reason.startswith("no_content")
    # A PDF whose page tree is empty.
    zero = tmp_path / "zero.pdf"
    zero.write_bytes(b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
                     b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
    rec = extract_pdf("zero", zero, "en", OcrConfig())
    assert rec.decision == "failed" and rec.reason.split(":")[0] in ("empty_pdf", "corrupt_pdf")


@pytest.mark.parametrize("path,lang", [("/data/books/zh/a.pdf", "zh"), ("/data/books/ru/x/y.pdf", "ru+en"),
                                       ("/data/books/atlas.pdf", "ja"), ("/data/books/other.pdf", "en")])
def test_language_per_folder_or_file(path, lang):
    from pathlib import Path

    src = SourceConfig("b", "pdf", [], lang="en", lang_by_path={"zh/*": "zh", "ru/**/*.pdf": "ru+en",
                                                                 "atlas.pdf": "ja"})
    assert book_lang(src, Path(path)) == lang


def test_settings_per_language_and_installed_packs():
    import subprocess

    from mmedc.extract.ocr_settings import ocr_settings
    from mmedc.paths import ocr_dir

    zh_en = ocr_settings("zh+en")
    assert zh_en["tesseract"] == "chi_sim+eng" and zh_en["hyphenation"] is False
    assert ocr_settings("ru")["tesseract"] == "rus+eng" and ocr_settings("ru")["hyphenation"] is True
    assert ocr_settings("xx")["tesseract"] == "eng" and ocr_settings(None)["tesseract"] == "eng"
    installed = set(subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True).stdout.split())
    codes = {c for f in ocr_dir().glob("*.toml") for c in ocr_settings(f.stem)["tesseract"].split("+")}
    assert {"eng", "chi_sim", "chi_tra", "jpn", "fra", "rus", "spa", "deu", "ara"} <= codes
    assert codes | {"osd"} <= installed, f"missing tesseract packs: {codes | {'osd'} - installed} (make setup)"


def test_recipe_language_per_folder(tmp_path):
    from mmedc.config import load_recipe

    (tmp_path / "books" / "zh").mkdir(parents=True)
    (tmp_path / "r.toml").write_text('[pipeline]\nlanguages = ["en", "zh"]\n[[sources]]\nname = "books"\n'
                                     'kind = "pdf"\npaths = ["books"]\nlang = "en"\n'
                                     '[sources.lang_by_path]\n"zh/*" = "zh+en"\n')
    src = load_recipe(tmp_path / "r.toml").sources[0]
    assert book_lang(src, tmp_path / "books" / "zh" / "a.pdf") == "zh+en"
    assert book_lang(src, tmp_path / "books" / "b.pdf") == "en"
